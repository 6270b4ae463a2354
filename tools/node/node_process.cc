#include "tools/node/node_process.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status.h"

namespace snow::node_services {

absl::StatusOr<NodeProcess> NodeProcess::Start(const Options& options) {
  std::vector<std::string> args = {options.binary, absl::StrCat("--name=", options.name),
                                   absl::StrCat("--cookie=", options.cookie),
                                   absl::StrCat("--snow-shards=", options.shards)};
  for (const std::string& c : options.connect) args.push_back(absl::StrCat("--connect=", c));
  if (options.tick_ms > 0) args.push_back(absl::StrCat("--tick-ms=", options.tick_ms));
  if (!options.tls) args.push_back("--no-tls");
  if (!options.mesh) args.push_back("--no-mesh");
  for (const std::string& a : options.extra_args) args.push_back(a);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return ErrnoToStatus(errno, "pipe2");
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return ErrnoToStatus(errno, "fork");
  }
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    // The parent may block SIGINT/SIGTERM (snow::Run does); the node must get them.
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
    _exit(127);
  }
  close(fds[1]);
  NodeProcess node;
  node.pid_ = pid;
  node.out_fd_ = fds[0];
  absl::StatusOr<std::string> up = node.WaitForLine("up ", options.start_timeout);
  if (!up.ok()) {
    return absl::UnavailableError(
        absl::StrCat("snow-node ", options.name, " did not start: ", up.status().ToString()));
  }
  node.name_ = up->substr(3);
  return node;
}

NodeProcess::NodeProcess(NodeProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      out_fd_(std::exchange(other.out_fd_, -1)),
      name_(std::move(other.name_)),
      buffered_(std::move(other.buffered_)) {}

NodeProcess& NodeProcess::operator=(NodeProcess&& other) noexcept {
  if (this != &other) {
    Release();
    pid_ = std::exchange(other.pid_, -1);
    out_fd_ = std::exchange(other.out_fd_, -1);
    name_ = std::move(other.name_);
    buffered_ = std::move(other.buffered_);
  }
  return *this;
}

NodeProcess::~NodeProcess() { Release(); }

void NodeProcess::Release() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    kill(pid_, SIGCONT);
    int status;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  if (out_fd_ >= 0) {
    close(out_fd_);
    out_fd_ = -1;
  }
}

void NodeProcess::Signal(int signal) const {
  if (pid_ > 0) kill(pid_, signal);
}

absl::StatusOr<std::string> NodeProcess::ReadLine(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    size_t nl = buffered_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffered_.substr(0, nl);
      buffered_.erase(0, nl + 1);
      return line;
    }
    if (out_fd_ < 0) return absl::UnavailableError("no more output");
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return absl::DeadlineExceededError("no line in time");
    pollfd p{out_fd_, POLLIN, 0};
    int n = poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    if (n < 0 && errno != EINTR) return ErrnoToStatus(errno, "poll");
    if (n <= 0) continue;
    char buf[4096];
    ssize_t got = read(out_fd_, buf, sizeof(buf));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      close(out_fd_);
      out_fd_ = -1;
      continue;
    }
    buffered_.append(buf, static_cast<size_t>(got));
  }
}

absl::StatusOr<std::string> NodeProcess::WaitForLine(std::string_view prefix,
                                                     absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    SNOW_ASSIGN_OR_RETURN(std::string line, ReadLine(deadline - absl::Now()));
    if (line.starts_with(prefix)) return line;
  }
}

absl::StatusOr<int> NodeProcess::Wait(absl::Duration timeout) {
  if (pid_ <= 0) return absl::FailedPreconditionError("not running");
  absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return status;
    }
    if (r < 0 && errno != EINTR) return ErrnoToStatus(errno, "waitpid");
    if (absl::Now() >= deadline) return absl::DeadlineExceededError("still running");
    usleep(2000);
  }
}

}  // namespace snow::node_services
