// snow_demo: the main job. Runs real work on every shard of this machine and prints what it
// did: skynet (a million actors summing a tree), a cross-shard ping-pong, a fan-in, and a
// crash that leaves everything else running. Grows into a multi-node cluster with dist/.
//
//   snow_demo            # the full run
//   snow_demo --quick    # smaller sizes (used by the test suite)
#include <time.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "core/snow.h"

namespace {

using snow::Pid;
using snow::Placement;
using snow::Self;
using snow::SpawnOptions;
using snow::Task;

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

Task<absl::Status> Skynet(Self self, Pid parent, int64_t number, int64_t size) {
  if (size == 1) {
    self.Send(parent, number);
    co_return absl::OkStatus();
  }
  for (int64_t i = 0; i < 10; ++i)
    self.Spawn(Skynet, self.pid(), number + i * (size / 10), size / 10);
  int64_t sum = 0;
  for (int i = 0; i < 10; ++i) sum += co_await self.Receive<int64_t>();
  self.Send(parent, sum);
  co_return absl::OkStatus();
}

struct Ping {
  Pid from;
  int64_t n;
};

Task<absl::Status> Echo(Self self) {
  for (;;) {
    Ping ping = co_await self.Receive<Ping>();
    if (ping.n < 0) co_return absl::OkStatus();
    self.Send(ping.from, ping.n);
  }
}

Task<absl::Status> Counter(Self self, Pid report_to, int64_t expected) {
  int64_t sum = 0;
  for (int64_t i = 0; i < expected; ++i) sum += co_await self.Receive<int64_t>();
  self.Send(report_to, sum);
  co_return absl::OkStatus();
}

Task<absl::Status> Producer(Self self, Pid counter, int64_t count) {
  for (int64_t i = 1; i <= count; ++i) {
    self.Send(counter, i);
    co_await snow::MaybeYield();
  }
  co_return absl::OkStatus();
}

Task<absl::Status> Crasher(Self self) {
  co_await self.Receive<int>();
  throw std::runtime_error("deliberate crash injected by the demo");
}

Task<absl::Status> Main(Self self, bool quick) {
  snow::Runtime& runtime = self.runtime();
  uint32_t shards = runtime.shard_count();
  std::printf("Snow runtime: %u shard(s), one io_uring each (%s)\n", shards,
              runtime.io_uring_mode());

  // 1. Skynet.
  int64_t leaves = quick ? 10'000 : 1'000'000;
  int64_t start = NowNs();
  for (int64_t i = 0; i < 10; ++i) {
    self.Spawn(SpawnOptions{.placement = Placement::kRoundRobin}, Skynet, self.pid(),
               i * (leaves / 10), leaves / 10);
  }
  int64_t sum = 0;
  for (int i = 0; i < 10; ++i) sum += co_await self.Receive<int64_t>();
  int64_t expected_sum = leaves * (leaves - 1) / 2;
  std::printf("skynet: %" PRId64 " leaf actors (%" PRId64 " in all) summed to %" PRId64
              " (%s) in %.1f ms\n",
              leaves, leaves + leaves / 9, sum, sum == expected_sum ? "correct" : "WRONG",
              double(NowNs() - start) / 1e6);
  if (sum != expected_sum) co_return absl::InternalError("skynet sum is wrong");

  // 2. Cross-shard ping-pong.
  int64_t rounds = quick ? 10'000 : 200'000;
  Pid echo = self.Spawn(SpawnOptions{.placement = Placement::kShard, .shard = shards - 1}, Echo);
  start = NowNs();
  for (int64_t i = 0; i < rounds; ++i) {
    self.Send(echo, Ping{self.pid(), i});
    absl::StatusOr<int64_t> reply = co_await self.ReceiveFor<int64_t>(absl::Seconds(5));
    if (!reply.ok()) co_return reply.status();
    if (*reply != i) co_return absl::InternalError("ping-pong reply out of order");
  }
  std::printf("ping-pong: %" PRId64 " round trips shard 0 <-> shard %u, %.2f us each\n", rounds,
              shards - 1, double(NowNs() - start) / 1e3 / double(rounds));
  self.Send(echo, Ping{self.pid(), -1});

  // 3. Fan-in from every shard.
  int64_t per_producer = quick ? 100'000 : 2'000'000;
  int64_t producers = 2 * shards;
  Pid counter = self.Spawn(Counter, self.pid(), producers * per_producer);
  start = NowNs();
  for (int64_t p = 0; p < producers; ++p) {
    self.Spawn(SpawnOptions{.placement = Placement::kShard,
                            .shard = static_cast<snow::ShardId>(p % shards)},
               Producer, counter, per_producer);
  }
  int64_t total = co_await self.Receive<int64_t>();
  double seconds = double(NowNs() - start) / 1e9;
  std::printf("fan-in: %" PRId64 " producers sent %" PRId64
              " messages to one actor: %.1f M/s, "
              "checksum %s\n",
              producers, producers * per_producer, double(producers * per_producer) / seconds / 1e6,
              total == producers * (per_producer * (per_producer + 1) / 2) ? "correct" : "WRONG");

  // 4. Let it crash: one actor fails; nothing else notices.
  Pid crasher = self.Spawn(Crasher);
  self.Send(crasher, 0);
  co_await snow::Sleep(absl::Milliseconds(10));
  self.Send(echo, Ping{self.pid(), 1});  // echo already quit: dropped and counted
  co_await snow::Sleep(absl::Milliseconds(10));
  snow::RuntimeStats stats = runtime.stats();
  std::printf(
      "crash isolation: %" PRIu64 " actor crashed, %" PRIu64 " actors spawned in all, %" PRIu64
      " live now, %" PRIu64 " message(s) to dead actors dropped and counted\n",
      stats.actors_crashed, stats.actors_spawned, stats.live_actors, stats.messages_dropped);
  co_return stats.actors_crashed == 1 ? absl::OkStatus()
                                      : absl::InternalError("expected exactly one crash");
}

}  // namespace

int main(int argc, char** argv) {
  // Line-buffered even when piped, so the runtime's crash line (stderr) lands in order.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  bool quick = false;
  for (int i = 1; i < argc; ++i) quick |= std::strcmp(argv[i], "--quick") == 0;
  return snow::Run(snow::RuntimeOptions::FromArgs(argc, argv), Main, quick);
}
