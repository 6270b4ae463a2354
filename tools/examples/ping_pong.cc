// Ping-pong between two actors on different shards, with a receive timeout and a registered
// name: the ponger registers as "ponger" and the pinger finds it by name.
#include <chrono>
#include <cstdio>

#include "snow/core/snow.h"

using snow::Pid;
using snow::Self;
using snow::Task;

struct Ping {
  Pid from;
  int n;
};
struct Pong {
  int n;
};
struct Quit {};

Task<absl::Status> Ponger(Self self) {
  SNOW_CO_RETURN_IF_ERROR(self.Register("ponger"));
  for (;;) {
    auto message = co_await self.Receive<Ping, Quit>();
    if (std::holds_alternative<Quit>(message)) co_return absl::OkStatus();
    Ping ping = std::get<Ping>(message);
    self.Send(ping.from, Pong{ping.n});
  }
}

Task<absl::Status> Main(Self self) {
  uint32_t last_shard = self.runtime().shard_count() - 1;
  self.Spawn(snow::SpawnOptions{.placement = snow::Placement::kShard, .shard = last_shard}, Ponger);
  std::optional<Pid> ponger;
  while (!(ponger = self.WhereIs("ponger"))) co_await snow::Sleep(absl::Milliseconds(1));
  constexpr int kRounds = 10000;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kRounds; ++i) {
    self.Send(*ponger, Ping{self.pid(), i});
    absl::StatusOr<Pong> pong = co_await self.ReceiveFor<Pong>(absl::Seconds(1));
    if (!pong.ok()) co_return pong.status();
    if (pong->n != i) co_return absl::InternalError("pong out of order");
  }
  std::chrono::duration<double, std::micro> took = std::chrono::steady_clock::now() - start;
  std::printf("%d ping-pongs between shard %u and shard %u: %.2f us per round trip\n", kRounds,
              self.shard(), last_shard, took.count() / kRounds);
  self.Send(*ponger, Quit{});
  co_return absl::OkStatus();
}

int main(int argc, char** argv) {
  return snow::Run(snow::RuntimeOptions::FromArgs(argc, argv), Main);
}
