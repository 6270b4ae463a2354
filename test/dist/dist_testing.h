// File: test/dist/dist_testing.h
//
// Helpers for the dist/ tests: snow-node children (tools/node/node_process.h) and the test
// process itself as a node on a real one-shard runtime.
//
//   NodeProcess a = StartChild({.name = "a@127.0.0.1:0"});  // from the test's thread
//   Task<absl::Status> Body(Self self, NodeProcess* a) {           // the test as node "t"
//     SNOW_CO_RETURN_IF_ERROR(dist::Start(self, TestNodeOptions()));
//     ...
//   }
//   EXPECT_THAT(RunAsNode(Body, &a), IsOk());
#pragma once

#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/snow.h"
#include "dist/node.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/testing/co_test.h"
#include "tools/node/node_process.h"
#include "tools/node/services.h"

namespace snow::dist_testing {

using node_services::Echo;
using node_services::NodeProcess;

inline constexpr std::string_view kCookie = "dist-test-cookie";
// Generous: two slow cores are shared with other builds and tests.
inline constexpr absl::Duration kReplyTimeout = absl::Seconds(15);

// What the tests vary about a snow-node child (every field defaulted, so that designated
// initializers may leave any out).
struct ChildOptions {
  std::string name = "n@127.0.0.1:0";
  std::string cookie = std::string(kCookie);
  std::vector<std::string> connect = {};
  int tick_ms = 0;  // 0: the default (60 s)
  bool tls = true;
};

// Starts a snow-node child; aborts the test binary if the node does not come up (every test
// needs its nodes).
inline NodeProcess StartChild(const ChildOptions& child) {
  NodeProcess::Options options{.binary = SNOW_NODE_PATH,
                               .name = child.name,
                               .cookie = child.cookie,
                               .connect = child.connect,
                               .tick_ms = child.tick_ms,
                               .tls = child.tls};
  options.extra_args.push_back("--snow-no-pin");
  absl::StatusOr<NodeProcess> node = NodeProcess::Start(options);
  SNOW_CHECK(node.ok(), node.status().ToString());
  return std::move(*node);
}

// The test process as node "t" on a free port.
inline dist::NodeOptions TestNodeOptions(std::string_view cookie = kCookie) {
  dist::NodeOptions options;
  options.name = "t@127.0.0.1:0";
  options.cookie = std::string(cookie);
  return options;
}

// Runs `fn(Self, args...)` (a function, not a capturing lambda: the coroutine outlives the
// call) as the main actor of a fresh real one-shard runtime, after registering the service
// messages.
template <typename Fn, typename... Args>
absl::Status RunAsNode(Fn fn, Args&&... args) {
  node_services::RegisterServiceMessages();
  return testing::RunOnTestRuntime(testing::RealRuntimeOptions(1), fn, std::forward<Args>(args)...);
}

// True while the child process exists and has not ended (it may be stopped).
inline bool Alive(const NodeProcess& node) {
  if (!node.running()) return false;
  // WNOWAIT leaves an ended child to NodeProcess to reap.
  siginfo_t info{};
  if (waitid(P_PID, node.pid(), &info, WEXITED | WNOHANG | WNOWAIT) != 0) return false;
  return info.si_pid == 0;
}

// Sends Echo{self, n} to "echo" on `node` and waits for it to come back; returns the echo
// actor's PID (the reply's `from`).
Task<absl::StatusOr<Pid>> EchoNamed(Self self, std::string node, int64_t n);

// NodeProcess::WaitForLine on a helper thread, so that the calling actor's shard (and the
// node it runs) keeps serving while the child gets to the line.
Task<absl::StatusOr<std::string>> WaitForLineOffShard(NodeProcess& node, std::string prefix,
                                                      absl::Duration timeout);

}  // namespace snow::dist_testing
