#include "snow/net/server.h"

#include "snow/core/time.h"

namespace snow::net_internal {

Task<absl::Status> AcceptLoop(Self self, std::shared_ptr<ServerState> state, size_t index,
                              net::Distribution distribution,
                              std::shared_ptr<const ConnectionSpawner> spawner) {
  net::TcpListener& listener = state->listeners[index];  // kept alive by `state`
  SpawnOptions where;
  if (distribution == net::Distribution::kHandOff) where.placement = Placement::kRoundRobin;
  while (!state->stopping.load(std::memory_order_relaxed)) {
    absl::StatusOr<net::TcpStream> stream = co_await listener.Accept();
    if (!stream.ok()) {
      if (state->stopping.load(std::memory_order_relaxed)) break;
      if (stream.status().code() == absl::StatusCode::kResourceExhausted) {
        co_await Sleep(absl::Milliseconds(10));  // out of descriptors: let connections end
        continue;
      }
      co_return stream.status();
    }
    spawner->Spawn(self, where, std::move(*stream));
  }
  co_return absl::OkStatus();
}

}  // namespace snow::net_internal
