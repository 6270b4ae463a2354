// File: tools/child_process/child_process.h
//
// ChildProcess: a program started as a child process with its stdout on a pipe, for the tests,
// benchmarks and demo that run Snow's own binaries (snow-echo, snow-load, snow-node). The child
// starts with no signals blocked, optionally confined to one CPU; the destructor sends a child
// still running `kill_signal` and reaps it, so a failed test or benchmark leaves none behind.
// A parent that crashes takes its children with it (PR_SET_PDEATHSIG): the kernel kills a
// child when the thread that started it ends, so start children from a thread that lives as
// long as they should (a test's thread, main, a shard).
//
//   absl::StatusOr<ChildProcess> echo = ChildProcess::Start(
//       {.argv = {SNOW_ECHO_PATH, "--listen=127.0.0.1:0"}, .cpu = 1, .kill_signal = SIGTERM});
//   absl::StatusOr<std::string> line = echo->ReadLine(absl::Seconds(10));
//   echo->Signal(SIGTERM);
//   absl::StatusOr<int> status = echo->Wait();  // as from waitpid
//
// These calls block the calling thread (fork, exec, reading a pipe, waiting): call them from a
// test's thread, main, or an actor that may block its shard briefly. Libc and Abseil only.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace snow::tools {

class ChildProcess {
 public:
  struct Options {
    std::vector<std::string> argv;  // argv[0] is the program's path (no PATH search)
    // Confines the child to this CPU (its affinity mask holds only it, so a Snow runtime there
    // has one shard, pinned to it); -1: the parent's CPU set.
    int cpu = -1;
    // What the destructor sends a child still running.
    int kill_signal = SIGKILL;
    // Whether ReadLine also reads the child's stderr (its logs), interleaved with stdout.
    bool read_stderr = false;
  };

  // Fails if the program cannot be run (kNotFound for a missing one).
  static absl::StatusOr<ChildProcess> Start(Options options);
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  // True until Wait has reaped the child (it may have ended without being reaped yet).
  bool running() const { return pid_ > 0; }

  void Signal(int signal) const;
  // The next line the child printed, without its newline; kDeadlineExceeded after `timeout`,
  // kUnavailable at end of output.
  absl::StatusOr<std::string> ReadLine(absl::Duration timeout = absl::InfiniteDuration());
  // Everything the child prints from here until it closes its stdout (usually: until it exits).
  absl::StatusOr<std::string> ReadAll(absl::Duration timeout = absl::InfiniteDuration());
  // Waits for the child to end and reaps it; returns its wait status (as from waitpid).
  absl::StatusOr<int> Wait(absl::Duration timeout = absl::InfiniteDuration());

 private:
  ChildProcess() = default;
  // Appends the child's next output to buffered_, or closes the pipe at end of output.
  absl::Status ReadMore(absl::Time deadline);
  void Release();

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int kill_signal_ = SIGKILL;
  std::string buffered_;
};

}  // namespace snow::tools
