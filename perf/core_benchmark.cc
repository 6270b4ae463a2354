// Google Benchmark micro-benchmarks of the core runtime: send+receive, spawn, timers and
// cross-shard send. Each benchmark runs its loop inside an actor on a fresh runtime.
#include <benchmark/benchmark.h>

#include <functional>
#include <memory>

#include "snow/core/snow.h"

namespace snow {
namespace {

struct Bench {
  benchmark::State* state;
};

template <typename Fn>
void RunInActor(benchmark::State& state, uint32_t shards, Fn fn) {
  RuntimeOptions options;
  options.shards = shards;
  auto runtime = Runtime::Create(options);
  if (!runtime.ok()) {
    state.SkipWithError(runtime.status().ToString().c_str());
    return;
  }
  (*runtime)->SpawnMain(fn, std::ref(state));
  absl::Status status = (*runtime)->Wait();
  if (!status.ok()) state.SkipWithError(status.ToString().c_str());
}

Task<absl::Status> SendReceiveSelf(Self self, std::reference_wrapper<benchmark::State> state_ref) {
  benchmark::State* state = &state_ref.get();
  for (auto _ : *state) {
    self.Send(self.pid(), 1);
    int n = co_await self.Receive<int>();
    benchmark::DoNotOptimize(n);
  }
  co_return absl::OkStatus();
}
void BM_SendReceiveToSelf(benchmark::State& state) { RunInActor(state, 1, SendReceiveSelf); }
BENCHMARK(BM_SendReceiveToSelf);

Task<absl::Status> Idle(Self self) {
  co_await self.Receive<int>();
  co_return absl::OkStatus();
}
Task<absl::Status> SpawnMany(Self self, std::reference_wrapper<benchmark::State> state_ref) {
  benchmark::State* state = &state_ref.get();
  std::vector<Pid> pids;
  for (auto _ : *state) pids.push_back(self.Spawn(Idle));
  for (Pid p : pids) self.Send(p, 0);  // after the timed loop
  co_return absl::OkStatus();
}
void BM_Spawn(benchmark::State& state) { RunInActor(state, 1, SpawnMany); }
BENCHMARK(BM_Spawn);

Task<absl::Status> ReceiveTimeout(Self self, std::reference_wrapper<benchmark::State> state_ref) {
  benchmark::State* state = &state_ref.get();
  // Arms and cancels a receive timer each time: the cost a ReceiveFor adds to a receive.
  for (auto _ : *state) {
    self.Send(self.pid(), 1);
    absl::StatusOr<int> n = co_await self.ReceiveFor<int>(absl::Seconds(5));
    benchmark::DoNotOptimize(n);
  }
  co_return absl::OkStatus();
}
void BM_ReceiveWithTimeout(benchmark::State& state) { RunInActor(state, 1, ReceiveTimeout); }
BENCHMARK(BM_ReceiveWithTimeout);

Task<absl::Status> SleepZeroish(Self, std::reference_wrapper<benchmark::State> state_ref) {
  benchmark::State* state = &state_ref.get();
  for (auto _ : *state) co_await Sleep(absl::Nanoseconds(1));
  co_return absl::OkStatus();
}
void BM_SleepTimer(benchmark::State& state) { RunInActor(state, 1, SleepZeroish); }
BENCHMARK(BM_SleepTimer);

Task<absl::Status> Echo(Self self) {
  for (;;) {
    std::pair<Pid, int> m = co_await self.Receive<std::pair<Pid, int>>();
    if (m.second < 0) co_return absl::OkStatus();
    if (m.first) self.Send(m.first, m.second);
  }
}
Task<absl::Status> CrossShardPingPong(Self self,
                                      std::reference_wrapper<benchmark::State> state_ref) {
  benchmark::State* state = &state_ref.get();
  Pid echo = self.Spawn(SpawnOptions{.placement = Placement::kShard, .shard = 1}, Echo);
  for (auto _ : *state) {
    self.Send(echo, std::pair<Pid, int>{self.pid(), 1});
    int n = co_await self.Receive<int>();
    benchmark::DoNotOptimize(n);
  }
  self.Send(echo, std::pair<Pid, int>{self.pid(), -1});
  co_return absl::OkStatus();
}
void BM_CrossShardRoundTrip(benchmark::State& state) { RunInActor(state, 2, CrossShardPingPong); }
BENCHMARK(BM_CrossShardRoundTrip)->UseRealTime();

Task<absl::Status> CrossShardStream(Self self, std::reference_wrapper<benchmark::State> state_ref) {
  benchmark::State* state = &state_ref.get();
  // Throughput of one-way cross-shard sends: batches of 1,000 then one ack.
  Pid echo = self.Spawn(SpawnOptions{.placement = Placement::kShard, .shard = 1}, Echo);
  for (auto _ : *state) {
    for (int i = 0; i < 999; ++i) self.Send(echo, std::pair<Pid, int>{Pid(), i});
    self.Send(echo, std::pair<Pid, int>{self.pid(), 1});
    int n = co_await self.Receive<int>();
    benchmark::DoNotOptimize(n);
  }
  state->SetItemsProcessed(state->iterations() * 1000);
  self.Send(echo, std::pair<Pid, int>{self.pid(), -1});
  co_return absl::OkStatus();
}
void BM_CrossShardSend1000(benchmark::State& state) { RunInActor(state, 2, CrossShardStream); }
BENCHMARK(BM_CrossShardSend1000)->UseRealTime();

}  // namespace
}  // namespace snow

BENCHMARK_MAIN();
