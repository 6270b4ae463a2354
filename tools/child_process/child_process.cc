#include "snow/tools/child_process/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace snow::tools {

absl::StatusOr<ChildProcess> ChildProcess::Start(Options options) {
  if (options.argv.empty()) return absl::InvalidArgumentError("no program to run");
  std::vector<char*> argv;
  for (std::string& a : options.argv) argv.push_back(a.data());
  argv.push_back(nullptr);

  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return absl::ErrnoToStatus(errno, "pipe2");
  // Carries errno back if exec fails; a successful exec closes it (O_CLOEXEC).
  int exec_error[2];
  if (pipe2(exec_error, O_CLOEXEC) != 0) {
    int error = errno;
    close(out[0]);
    close(out[1]);
    return absl::ErrnoToStatus(error, "pipe2");
  }
  // fork rather than posix_spawn: only the child can set its own CPU set without touching the
  // calling thread's (which may be a pinned shard).
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    int error = errno;
    for (int fd : {out[0], out[1], exec_error[0], exec_error[1]}) close(fd);
    return absl::ErrnoToStatus(error, "fork");
  }
  if (pid == 0) {
    // Async-signal-safe calls only until exec: the parent may have other threads.
    // A child never outlives a parent that crashed: it would hold the parent's stderr (a test
    // runner's pipe) open, and the runner would wait for it until its timeout.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the parent died before the line above
    dup2(out[1], STDOUT_FILENO);
    if (options.read_stderr) dup2(out[1], STDERR_FILENO);
    // The parent may block SIGINT/SIGTERM (snow::Run does); the child must get them.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (options.cpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(options.cpu, &set);
      sched_setaffinity(0, sizeof(set), &set);
    }
    execv(argv[0], argv.data());
    int error = errno;
    while (write(exec_error[1], &error, sizeof(error)) < 0 && errno == EINTR) {
    }
    _exit(127);
  }
  close(out[1]);
  close(exec_error[1]);
  int exec_errno = 0;
  ssize_t got;
  do {
    got = read(exec_error[0], &exec_errno, sizeof(exec_errno));
  } while (got < 0 && errno == EINTR);
  close(exec_error[0]);
  if (got == sizeof(exec_errno)) {
    waitpid(pid, nullptr, 0);
    close(out[0]);
    return absl::ErrnoToStatus(exec_errno, absl::StrCat("cannot run ", options.argv[0]));
  }
  ChildProcess child;
  child.pid_ = pid;
  child.out_fd_ = out[0];
  child.kill_signal_ = options.kill_signal;
  return child;
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      out_fd_(std::exchange(other.out_fd_, -1)),
      kill_signal_(other.kill_signal_),
      buffered_(std::move(other.buffered_)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    Release();
    pid_ = std::exchange(other.pid_, -1);
    out_fd_ = std::exchange(other.out_fd_, -1);
    kill_signal_ = other.kill_signal_;
    buffered_ = std::move(other.buffered_);
  }
  return *this;
}

ChildProcess::~ChildProcess() { Release(); }

void ChildProcess::Release() {
  // The pipe first: a child blocked writing to it gets EPIPE instead of never ending.
  if (out_fd_ >= 0) {
    close(out_fd_);
    out_fd_ = -1;
  }
  if (pid_ > 0) {
    kill(pid_, kill_signal_);
    kill(pid_, SIGCONT);  // a stopped child takes any signal but SIGKILL only once continued
    while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
}

void ChildProcess::Signal(int signal) const {
  if (pid_ > 0) kill(pid_, signal);
}

absl::Status ChildProcess::ReadMore(absl::Time deadline) {
  for (;;) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return absl::DeadlineExceededError("no output in time");
    pollfd p{out_fd_, POLLIN, 0};
    // An hour at a time, so that an infinite timeout fits poll's int; +1: never a busy 0 ms.
    int ms = static_cast<int>(absl::ToInt64Milliseconds(std::min(left, absl::Hours(1)))) + 1;
    int n = poll(&p, 1, ms);
    if (n < 0 && errno != EINTR) return absl::ErrnoToStatus(errno, "poll");
    if (n <= 0) continue;
    char buffer[4096];
    ssize_t got = read(out_fd_, buffer, sizeof(buffer));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      close(out_fd_);
      out_fd_ = -1;
    } else {
      buffered_.append(buffer, static_cast<size_t>(got));
    }
    return absl::OkStatus();
  }
}

absl::StatusOr<std::string> ChildProcess::ReadLine(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    size_t newline = buffered_.find('\n');
    if (newline != std::string::npos) {
      std::string line = buffered_.substr(0, newline);
      buffered_.erase(0, newline + 1);
      return line;
    }
    if (out_fd_ < 0) return absl::UnavailableError("no more output");
    absl::Status more = ReadMore(deadline);
    if (!more.ok()) return more;
  }
}

absl::StatusOr<std::string> ChildProcess::ReadAll(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (out_fd_ >= 0) {
    absl::Status more = ReadMore(deadline);
    if (!more.ok()) return more;
  }
  return std::exchange(buffered_, {});
}

absl::StatusOr<int> ChildProcess::Wait(absl::Duration timeout) {
  if (pid_ <= 0) return absl::FailedPreconditionError("not running");
  absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return status;
    }
    if (r < 0 && errno != EINTR) return absl::ErrnoToStatus(errno, "waitpid");
    if (absl::Now() >= deadline) return absl::DeadlineExceededError("still running");
    usleep(2000);
  }
}

}  // namespace snow::tools
