// File: tools/node/node_process.h
//
// NodeProcess: a snow-node started as a child process (tools/child_process/), for tests,
// benchmarks and the demo. Start waits for the node's "up <name>" line, so name() is the real
// address even with port 0; the destructor kills (SIGKILL) and reaps a node still running.
//
//   NodeProcess::Options o{.binary = SNOW_NODE_PATH, .name = "a@127.0.0.1:0", .cookie = "c"};
//   absl::StatusOr<NodeProcess> a = NodeProcess::Start(o);
//   ... a->name() ...
//   a->Signal(SIGKILL);
//
// These calls block the calling thread (fork, exec, reading a pipe): call them from a test's
// thread or an actor that may block its shard briefly.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "snow/tools/child_process/child_process.h"

namespace snow::node_services {

class NodeProcess {
 public:
  struct Options {
    std::string binary;  // path of snow-node
    std::string name;    // name@host:port; port 0 picks a free one
    std::string cookie;
    std::vector<std::string> connect = {};
    int tick_ms = 0;  // 0: the default (60 s)
    bool tls = true;
    bool mesh = true;
    int shards = 1;
    // Confines the node to this CPU (its shards pin within it); -1: the parent's CPU set. A
    // one-shard node pins to the first CPU it may use, so two nodes started without this share
    // CPU 0.
    int cpu = -1;
    std::vector<std::string> extra_args = {};
    // Whether ReadLine and WaitForLine also see the node's log lines (its stderr).
    bool read_logs = false;
    absl::Duration start_timeout = absl::Seconds(10);
  };

  static absl::StatusOr<NodeProcess> Start(const Options& options);
  NodeProcess(NodeProcess&& other) noexcept = default;
  NodeProcess& operator=(NodeProcess&& other) noexcept = default;
  NodeProcess(const NodeProcess&) = delete;
  NodeProcess& operator=(const NodeProcess&) = delete;
  ~NodeProcess() = default;

  const std::string& name() const { return name_; }
  pid_t pid() const { return process_.pid(); }
  bool running() const { return process_.running(); }

  void Signal(int signal) const { process_.Signal(signal); }
  // The next line the node printed, without its newline; kDeadlineExceeded after `timeout`,
  // kUnavailable at end of output.
  absl::StatusOr<std::string> ReadLine(absl::Duration timeout) {
    return process_.ReadLine(timeout);
  }
  // Reads lines until one starts with `prefix`; returns it.
  absl::StatusOr<std::string> WaitForLine(std::string_view prefix, absl::Duration timeout);
  // Waits for the process to end; returns its wait status (as from waitpid).
  absl::StatusOr<int> Wait(absl::Duration timeout) { return process_.Wait(timeout); }

 private:
  explicit NodeProcess(tools::ChildProcess process) : process_(std::move(process)) {}

  tools::ChildProcess process_;
  std::string name_;
};

}  // namespace snow::node_services
