// snow_demo: the main job. Runs real work on every shard of this machine and prints what it
// did: skynet (a million actors summing a tree), a cross-shard ping-pong, a fan-in, and a
// crash that leaves everything else running, and a supervision tree that keeps serving calls
// while a chaos actor kills its workers; then a local cluster of three nodes (this process and
// two snow-node processes) that meshes, carries traffic and survives a kill -9.
//
//   snow_demo            # the full run
//   snow_demo --quick    # smaller sizes (used by the test suite)
#include <time.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "snow/core/snow.h"
#include "snow/tools/demo_cluster.h"

namespace {

using snow::Pid;
using snow::Placement;
using snow::Request;
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

// 5. A supervision tree under fire: a root supervisor over a key-value store and a pool
// supervisor of accumulators spread over every shard; a chaos actor kills them at random while
// clients keep calling them.
struct AddAndGet {
  using Reply = int64_t;
  int64_t n;
};

Task<absl::Status> Accumulator(Self self, std::string name) {
  SNOW_CO_RETURN_IF_ERROR(self.Register(name));
  int64_t total = 0;
  for (;;) {
    Request<AddAndGet> r = co_await self.Receive<Request<AddAndGet>>();
    total += r.body.n;
    Reply(self, r.from, total);
  }
}

Task<absl::Status> Chaos(Self self, std::vector<std::string> names, int crashes) {
  uint64_t seed = 0x9E3779B97F4A7C15ull;
  for (int i = 0; i < crashes; ++i) {
    co_await snow::Sleep(absl::Milliseconds(20));
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    const std::string& victim = names[(seed >> 33) % names.size()];
    if (std::optional<Pid> pid = self.WhereIs(victim)) {
      self.SendExit(*pid, absl::InternalError("chaos monkey"));
    }
  }
  co_return absl::OkStatus();
}

Task<absl::Status> Client(Self self, std::vector<std::string> names, absl::Duration run_for,
                          Pid report) {
  int64_t ok = 0, failed = 0;
  absl::Duration until = snow::MonotonicNow() + run_for;
  for (int64_t i = 0; snow::MonotonicNow() < until; ++i) {
    const std::string& name = names[i % names.size()];
    std::optional<Pid> pid = self.WhereIs(name);
    if (!pid) {  // between a crash and the restart
      ++failed;
      co_await snow::Sleep(absl::Microseconds(100));
      continue;
    }
    AddAndGet request{1};
    absl::StatusOr<int64_t> total = co_await Call(self, *pid, request, absl::Seconds(1));
    total.ok() ? ++ok : ++failed;
    co_await snow::MaybeYield();
  }
  self.Send(report, std::pair<int64_t, int64_t>(ok, failed));
  co_return absl::OkStatus();
}

Task<absl::Status> SupervisionTree(Self self, bool quick) {
  uint32_t shards = self.runtime().shard_count();
  std::vector<std::string> names;
  snow::SupervisorSpec pool{
      .strategy = snow::Strategy::kOneForOne, .intensity = 50, .period = absl::Seconds(1)};
  for (uint32_t i = 0; i < 2 * shards; ++i) {
    names.push_back("acc-" + std::to_string(i));
    pool.children.push_back(
        {.id = names.back(),
         .start = snow::Start(SpawnOptions{.placement = Placement::kShard, .shard = i % shards},
                              Accumulator, names.back())});
  }
  Pid root = self.SpawnLink(
      snow::Supervise,
      snow::SupervisorSpec{
          .strategy = snow::Strategy::kRestForOne,
          .intensity = 5,
          .period = absl::Seconds(1),
          .children = {{.id = "store", .start = snow::Start(Accumulator, std::string("store"))},
                       {.id = "pool",
                        .start = snow::Start(snow::Supervise, pool),
                        .shutdown = absl::InfiniteDuration(),
                        .type = snow::ChildType::kSupervisor}}});
  co_await snow::Sleep(absl::Milliseconds(5));
  int crashes = quick ? 5 : 15;
  int64_t start = NowNs();
  self.Spawn(Chaos, names, crashes);
  // Clients call for as long as the chaos lasts, and a little longer.
  absl::Duration run_for = absl::Milliseconds(20 * crashes + 30);
  for (uint32_t c = 0; c < shards; ++c) {
    self.Spawn(SpawnOptions{.placement = Placement::kShard, .shard = c}, Client, names, run_for,
               self.pid());
  }
  int64_t ok = 0, failed = 0;
  for (uint32_t c = 0; c < shards; ++c) {
    auto [o, f] = co_await self.Receive<std::pair<int64_t, int64_t>>();
    ok += o;
    failed += f;
  }
  absl::StatusOr<snow::ChildCounts> top = co_await snow::CountChildren(self, root);
  if (!top.ok()) co_return top.status();
  std::optional<Pid> pool_pid;
  absl::StatusOr<std::vector<snow::ChildInfo>> children = co_await snow::WhichChildren(self, root);
  if (!children.ok()) co_return children.status();
  for (const auto& c : *children) {
    if (c.id == "pool") pool_pid = c.pid;
  }
  if (!pool_pid) co_return absl::InternalError("the pool supervisor is gone");
  absl::StatusOr<snow::ChildCounts> workers = co_await snow::CountChildren(self, *pool_pid);
  if (!workers.ok()) co_return workers.status();
  std::printf(
      "supervision tree: %d crashes injected into %zu accumulators on %u shard(s); "
      "%" PRId64 " calls answered, %" PRId64
      " failed fast during restarts, in %.1f ms; "
      "tree intact: %d/%d top-level and %d/%d pool children running\n",
      crashes, names.size(), shards, ok, failed, double(NowNs() - start) / 1e6, top->active,
      top->specs, workers->active, workers->specs);
  if (workers->active != workers->specs || top->active != top->specs) {
    co_return absl::InternalError("the tree did not recover");
  }
  co_return absl::OkStatus();
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
  uint64_t crashed_before = stats.actors_crashed;
  std::printf(
      "crash isolation: %" PRIu64 " actor crashed, %" PRIu64 " actors spawned in all, %" PRIu64
      " live now, %" PRIu64 " message(s) to dead actors dropped and counted\n",
      stats.actors_crashed, stats.actors_spawned, stats.live_actors, stats.messages_dropped);
  if (crashed_before != 1) co_return absl::InternalError("expected exactly one crash");

  // 5. Let it crash, under supervision.
  absl::Status tree = co_await SupervisionTree(self, quick);
  if (!tree.ok()) co_return tree;

  // 6. A cluster of three nodes in three processes.
  co_return co_await snow::demo::Cluster(self, quick);
}

}  // namespace

int main(int argc, char** argv) {
  // Line-buffered even when piped, so the runtime's crash line (stderr) lands in order.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::printf(
          "usage: snow_demo [--quick]\n"
          "Snow's main job: skynet, a cross-shard ping-pong, a fan-in, crash and supervision,\n"
          "and a three-node TLS cluster in three processes. --quick runs smaller versions.\n%s",
          snow::RuntimeOptions::kUsage);
      return 0;
    }
    quick |= arg == "--quick";
  }
  return snow::Run(snow::RuntimeOptions::FromArgs(argc, argv), Main, quick);
}
