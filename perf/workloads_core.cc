// W1–W5 of docs/benchmarks.md on the core runtime.
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <vector>

#include "snow/core/snow.h"
#include "snow/perf/workloads.h"

namespace snow::perf {
namespace {

int64_t RssBytes() {
  long pages_total = 0, pages_resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  if (std::fscanf(f, "%ld %ld", &pages_total, &pages_resident) != 2) pages_resident = 0;
  std::fclose(f);
  return int64_t{pages_resident} * sysconf(_SC_PAGESIZE);
}

// W2's floor: the time the kernel takes to hand over `bytes` of fresh memory, faulted in the way
// the actor pool does it (2 MiB mappings, populated in one call each, plain pages).
double FreshMemoryNs(int64_t bytes) {
  constexpr size_t kChunk = size_t{2} << 20;
  std::vector<void*> chunks;
  int64_t start = NowNs();
  for (int64_t done = 0; done < bytes; done += kChunk) {
    void* p = mmap(nullptr, kChunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) break;
    madvise(p, kChunk, MADV_POPULATE_WRITE);
    chunks.push_back(p);
  }
  double ns = double(NowNs() - start);
  for (void* p : chunks) munmap(p, kChunk);
  return ns;
}

struct Stop {};

// --- W1: local ping-pong ---
constexpr int kW1RoundTrips = 1'000'000;

Task<absl::Status> W1Ponger(Self self) {
  for (;;) {
    std::pair<Pid, int> ping = co_await self.Receive<std::pair<Pid, int>>();
    if (ping.second < 0) co_return absl::OkStatus();
    self.Send(ping.first, ping.second);
  }
}

Task<absl::Status> W1Main(Self self) {
  Pid ponger = self.Spawn(W1Ponger);
  int64_t start = NowNs();
  for (int i = 0; i < kW1RoundTrips; ++i) {
    self.Send(ponger, std::pair<Pid, int>{self.pid(), i});
    int reply = co_await self.Receive<int>();
    if (reply != i) co_return absl::InternalError("W1: wrong reply");
  }
  int64_t elapsed = NowNs() - start;
  self.Send(ponger, std::pair<Pid, int>{self.pid(), -1});
  std::printf("W1 snow ns_per_roundtrip=%.1f\n", double(elapsed) / kW1RoundTrips);
  co_return absl::OkStatus();
}

// --- W2: spawn 1,000,000 actors blocked in receive, then tell them all to exit ---
constexpr int kW2Actors = 1'000'000;

Task<absl::Status> W2Blocked(Self self) {
  co_await self.Receive<Stop>();
  co_return absl::OkStatus();
}

Task<absl::Status> W2Main(Self self) {
  std::vector<Pid> pids;
  pids.reserve(kW2Actors);
  int64_t rss_before = RssBytes();
  int64_t start = NowNs();
  for (int i = 0; i < kW2Actors; ++i) pids.push_back(self.Spawn(W2Blocked));
  co_await Yield();  // every new actor runs once and blocks in Receive
  int64_t spawned = NowNs() - start;
  int64_t rss_after = RssBytes();
  for (Pid pid : pids) self.Send(pid, Stop{});
  co_await Yield();
  uint64_t live = self.runtime().stats().live_actors;
  double exit_ns = double(NowNs() - start - spawned);
  // The same again on the memory the first million gave back: what a spawn costs without the
  // kernel's page faults.
  int64_t again_start = NowNs();
  for (int i = 0; i < kW2Actors; ++i) pids[i] = self.Spawn(W2Blocked);
  co_await Yield();
  double again_ns = double(NowNs() - again_start);
  for (Pid pid : pids) self.Send(pid, Stop{});
  co_await Yield();
  int64_t actor_bytes = rss_after - rss_before - int64_t(pids.capacity() * sizeof(Pid));
  // Most of a spawn here is the kernel faulting in fresh pages: the same amount of memory,
  // faulted in with nothing else, is printed beside it.
  double fault_ns = FreshMemoryNs(actor_bytes);
  std::printf(
      "W2 snow ns_per_spawn=%.1f bytes_per_actor=%.0f exit_ns_per_actor=%.1f live_after=%" PRIu64
      " fresh_memory_ns_per_actor=%.1f reused_memory_ns_per_spawn=%.1f\n",
      double(spawned) / kW2Actors, double(actor_bytes) / kW2Actors, exit_ns / kW2Actors, live,
      fault_ns / kW2Actors, again_ns / kW2Actors);
  co_return absl::OkStatus();
}

// --- W3: skynet, 1,000,000 leaves in a 10-ary tree ---
Task<absl::Status> Skynet(Self self, Pid parent, int64_t number, int64_t size) {
  if (size == 1) {
    self.Send(parent, number);
    co_return absl::OkStatus();
  }
  int64_t child_size = size / 10;
  for (int64_t i = 0; i < 10; ++i) {
    self.Spawn(Skynet, self.pid(), number + i * child_size, child_size);
  }
  int64_t sum = 0;
  for (int i = 0; i < 10; ++i) sum += co_await self.Receive<int64_t>();
  self.Send(parent, sum);
  co_return absl::OkStatus();
}

Task<absl::Status> W3Main(Self self) {
  int64_t start = NowNs();
  // The ten subtrees are spread over the shards; each grows on its own shard.
  constexpr int64_t kLeaves = 1'000'000;
  for (int64_t i = 0; i < 10; ++i) {
    self.Spawn(SpawnOptions{.placement = Placement::kRoundRobin}, Skynet, self.pid(),
               i * (kLeaves / 10), kLeaves / 10);
  }
  int64_t sum = 0;
  for (int i = 0; i < 10; ++i) sum += co_await self.Receive<int64_t>();
  double ms = double(NowNs() - start) / 1e6;
  std::printf("W3 snow wall_ms=%.1f sum=%" PRId64 "\n", ms, sum);
  if (sum != 499999500000) co_return absl::InternalError("W3: wrong sum");
  co_return absl::OkStatus();
}

// --- W4: ring of 10,000 actors, token around 1,000 times ---
constexpr int kW4Actors = 10'000;
constexpr int64_t kW4Hops = int64_t{kW4Actors} * 1'000;
struct Token {
  int64_t hops_left;
};
struct Next {
  Pid pid;
};

Task<absl::Status> RingNode(Self self, Pid main) {
  Next next = co_await self.Receive<Next>();
  for (;;) {
    Token token = co_await self.Receive<Token>();
    if (token.hops_left == 0) {
      self.Send(main, Stop{});
    } else {
      self.Send(next.pid, Token{token.hops_left - 1});
    }
  }
}

Task<absl::Status> W4Main(Self self) {
  std::vector<Pid> ring;
  for (int i = 0; i < kW4Actors; ++i) ring.push_back(self.Spawn(RingNode, self.pid()));
  for (int i = 0; i < kW4Actors; ++i) self.Send(ring[i], Next{ring[(i + 1) % kW4Actors]});
  co_await Yield();
  int64_t start = NowNs();
  self.Send(ring[0], Token{kW4Hops});
  co_await self.Receive<Stop>();
  int64_t elapsed = NowNs() - start;
  std::printf("W4 snow ns_per_hop=%.2f\n", double(elapsed) / double(kW4Hops));
  co_return absl::OkStatus();
}

// --- W5: fan-in, 2 senders per core to one receiver ---
constexpr int kW5PerSender = 1'000'000;

Task<absl::Status> W5Receiver(Self self, Pid main, int64_t expected) {
  for (int64_t got = 0; got < expected; ++got) co_await self.Receive<int64_t>();
  self.Send(main, Stop{});
  co_return absl::OkStatus();
}

Task<absl::Status> W5Sender(Self self, Pid receiver) {
  for (int64_t i = 0; i < kW5PerSender; ++i) {
    self.Send(receiver, i);
    co_await MaybeYield();
  }
  co_return absl::OkStatus();
}

Task<absl::Status> W5Main(Self self) {
  uint32_t shards = self.runtime().shard_count();
  int64_t senders = 2 * shards;
  Pid receiver = self.Spawn(W5Receiver, self.pid(), senders * kW5PerSender);
  int64_t start = NowNs();
  for (uint32_t s = 0; s < shards; ++s) {
    for (int k = 0; k < 2; ++k) {
      self.Spawn(SpawnOptions{.placement = Placement::kShard, .shard = s}, W5Sender, receiver);
    }
  }
  co_await self.Receive<Stop>();
  double seconds = double(NowNs() - start) / 1e9;
  std::printf("W5 snow msgs_per_s=%.0f senders=%" PRId64 " shards=%u\n",
              double(senders * kW5PerSender) / seconds, senders, shards);
  co_return absl::OkStatus();
}

}  // namespace

std::vector<Workload> CoreWorkloads() {
  return {
      {"W1", "local ping-pong, 1,000,000 round trips on one shard",
       [] { return RunWorkload(ShardsOptions(1), W1Main); }},
      {"W2", "spawn 1,000,000 actors blocked in receive, then stop them",
       [] { return RunWorkload(ShardsOptions(1), W2Main); }},
      {"W3", "skynet: 1,000,000 leaves, 10-ary tree, all shards",
       [] { return RunWorkload(ShardsOptions(0), W3Main); }},
      {"W4", "ring of 10,000 actors, token 1,000 times round, one shard",
       [] { return RunWorkload(ShardsOptions(1), W4Main); }},
      {"W5", "fan-in: 2 senders per shard, 1,000,000 messages each, one receiver",
       [] { return RunWorkload(ShardsOptions(0), W5Main); }},
  };
}

}  // namespace snow::perf
