// File: test/dist/dist_testing.h
//
// Helpers for the dist/ tests: snow-node children (tools/node/node_process.h) and the test
// process itself as a node on a real one-shard runtime.
//
//   NodeProcess a = StartChild({.name = "a@127.0.0.1:0"});  // from the test's thread
//   Task<absl::Status> Body(Self self, std::reference_wrapper<NodeProcess> a) {  // as node "t"
//     SNOW_CO_RETURN_IF_ERROR(dist::Start(self, TestNodeOptions()));
//     ...
//   }
//   EXPECT_THAT(RunAsNode(Body, std::ref(a)), IsOk());  // `a` outlives the runtime
#pragma once

#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "snow/core/snow.h"
#include "snow/dist/node.h"
#include "snow/net/socket_address.h"
#include "snow/test/testing/co_test.h"
#include "snow/tools/node/node_process.h"
#include "snow/tools/node/services.h"

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
  int shards = 1;
  bool read_logs = false;  // NodeProcess::ReadLine also returns the node's log lines
  std::vector<std::string> extra_args = {};  // more snow-node flags
};

// Starts a snow-node child; aborts the test binary if the node does not come up (every test
// needs its nodes).
inline NodeProcess StartChild(const ChildOptions& child) {
  NodeProcess::Options options{.binary = SNOW_NODE_PATH,
                               .name = child.name,
                               .cookie = child.cookie,
                               .connect = child.connect,
                               .tick_ms = child.tick_ms,
                               .tls = child.tls,
                               .shards = child.shards,
                               .read_logs = child.read_logs};
  options.extra_args = child.extra_args;
  options.extra_args.push_back("--snow-no-pin");
  absl::StatusOr<NodeProcess> node = NodeProcess::Start(options);
  SNOW_CHECK(node.ok(), node.status().ToString());
  return std::move(*node);
}

// Waits until `host_port` ("127.0.0.1:4370") can be bound again, up to `timeout`. A killed
// node's listener outlives the process by a moment: its pending io_uring accept holds the socket
// until the kernel tears the ring down, after the process has been reaped. A test that restarts
// a node on the same port waits for that first.
inline bool WaitUntilBindable(std::string_view host_port, absl::Duration timeout) {
  absl::StatusOr<net::SocketAddress> address = net::SocketAddress::Parse(host_port);
  if (!address.ok()) return false;
  absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    int fd = socket(address->family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    bool bound = fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
                 bind(fd, address->sockaddr_ptr(), address->length()) == 0;
    if (fd >= 0) close(fd);
    if (bound) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
}

// Starts `child` again under the name (and so the port) of a node that was just killed.
inline NodeProcess RestartChild(const ChildOptions& child) {
  std::string_view name = child.name;
  SNOW_CHECK(WaitUntilBindable(name.substr(name.find('@') + 1), absl::Seconds(10)),
             "the killed node's port stayed in use");
  return StartChild(child);
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

// Runs `work` (blocking calls: raw sockets, a child's output) on a helper thread and resumes
// when it is done, so that the calling actor's shard (and the node it runs) keeps serving.
Task<absl::Status> OffShard(absl::AnyInvocable<void()> work);
// NodeProcess::WaitForLine on a helper thread, so that the calling actor's shard (and the
// node it runs) keeps serving while the child gets to the line.
Task<absl::StatusOr<std::string>> WaitForLineOffShard(NodeProcess& node, std::string prefix,
                                                      absl::Duration timeout);

}  // namespace snow::dist_testing
