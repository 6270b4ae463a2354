#include "snow/test/dist/dist_testing.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <thread>

// The coroutines are defined here, not inline in the header: clang 14 with -fsanitize=function
// (part of SNOW_SANITIZE's undefined) fails on inline coroutines ("Cannot represent a difference
// across sections").
namespace snow::dist_testing {

// Sends Echo{self, n} to "echo" on `node` and waits for it to come back; returns the echo
// actor's PID (the reply's `from`).
Task<absl::StatusOr<Pid>> EchoNamed(Self self, std::string node, int64_t n) {
  Echo ping{self.pid(), n, {}};
  SNOW_CO_RETURN_IF_ERROR(dist::SendNamed(self, "echo", node, ping));
  auto is_mine = [n](const Echo& e) { return e.n == n; };
  absl::StatusOr<Echo> reply = co_await self.ReceiveFor<Echo>(kReplyTimeout, is_mine);
  if (!reply.ok()) co_return reply.status();
  co_return reply->from;
}

Task<absl::Status> OffShard(absl::AnyInvocable<void()> work) {
  // The thread says it is done through an eventfd, which this coroutine reads with io_uring.
  const int done = eventfd(0, EFD_CLOEXEC);
  if (done < 0) co_return ErrnoToStatus(-errno, "eventfd");
  std::thread worker([&work, done] {
    work();
    uint64_t one = 1;
    [[maybe_unused]] ssize_t written = write(done, &one, sizeof(one));
  });
  uint64_t count = 0;
  int n = co_await Io({.op = IoOp::kRead, .fd = done, .buffer = &count, .length = sizeof(count)});
  worker.join();  // at once: the thread wrote its last word
  close(done);
  co_return n < 0 ? ErrnoToStatus(n, "eventfd read") : absl::OkStatus();
}

Task<absl::StatusOr<std::string>> WaitForLineOffShard(NodeProcess& node, std::string prefix,
                                                      absl::Duration timeout) {
  std::optional<absl::StatusOr<std::string>> result;
  absl::AnyInvocable<void()> wait = [&node, &prefix, timeout, &result] {
    result = node.WaitForLine(prefix, timeout);
  };
  SNOW_CO_RETURN_IF_ERROR(co_await OffShard(std::move(wait)));  // a named local: pitfalls.md
  co_return std::move(*result);
}

}  // namespace snow::dist_testing
