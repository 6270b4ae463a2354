#include "snow/test/dist/dist_testing.h"

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

// NodeProcess::WaitForLine on a helper thread, so that the calling actor's shard (and the
// node it runs) keeps serving while the child gets to the line.
Task<absl::StatusOr<std::string>> WaitForLineOffShard(NodeProcess& node, std::string prefix,
                                                      absl::Duration timeout) {
  auto result = std::make_shared<std::optional<absl::StatusOr<std::string>>>();
  auto done = std::make_shared<std::atomic<bool>>(false);
  std::thread waiter([&node, prefix, timeout, result, done] {
    *result = node.WaitForLine(prefix, timeout);
    done->store(true, std::memory_order_release);
  });
  while (!done->load(std::memory_order_acquire)) co_await Sleep(absl::Milliseconds(10));
  waiter.join();
  co_return std::move(**result);
}

}  // namespace snow::dist_testing
