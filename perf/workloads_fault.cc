// Fault-tolerance workloads (issue 3): link-chain propagation, supervisor restart latency and
// monitor/demonitor cost. Each prints one `FT<n> snow key=value ...` line.
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "snow/core/snow.h"
#include "snow/perf/workloads.h"

namespace snow::perf {
namespace {

RuntimeOptions OneQuietShard() {
  RuntimeOptions options = ShardsOptions(1);
  options.log_crashes = false;  // FT2 crashes on purpose, thousands of times
  return options;
}

// --- FT1: spawn_link a chain of 10,000 actors, then crash the tail and time the propagation
// back to the (trapping) root.

struct Crash {};

Task<absl::Status> ChainLink(Self self, Pid root, int remaining) {
  if (remaining == 0) {
    self.Send(root, self.pid());
    Crash c = co_await self.Receive<Crash>();
    (void)c;
    co_return absl::InternalError("tail crashed");
  }
  self.SpawnLink(ChainLink, root, remaining - 1);
  Crash never = co_await self.Receive<Crash>();
  (void)never;
  co_return absl::OkStatus();
}

Task<absl::Status> Ft1Main(Self self) {
  constexpr int kLength = 10'000;
  constexpr int kRounds = 5;
  self.TrapExits();
  std::vector<double> build_ns, propagate_ns;
  for (int round = 0; round < kRounds; ++round) {
    int64_t t0 = NowNs();
    self.SpawnLink(ChainLink, self.pid(), kLength - 1);
    Pid tail = co_await self.Receive<Pid>();
    int64_t t1 = NowNs();
    self.Send(tail, Crash{});
    Exit e = co_await self.Receive<Exit>();
    int64_t t2 = NowNs();
    if (e.reason.code() != absl::StatusCode::kInternal) co_return absl::InternalError("bad reason");
    build_ns.push_back(double(t1 - t0) / kLength);
    propagate_ns.push_back(double(t2 - t1) / kLength);
  }
  std::sort(build_ns.begin(), build_ns.end());
  std::sort(propagate_ns.begin(), propagate_ns.end());
  std::printf("FT1 snow actors=%d ns_per_spawn_link=%.1f ns_per_exit_hop=%.1f chain_ms=%.2f\n",
              kLength, build_ns[kRounds / 2], propagate_ns[kRounds / 2],
              (build_ns[kRounds / 2] + propagate_ns[kRounds / 2]) * kLength / 1e6);
  co_return absl::OkStatus();
}

// --- FT2: supervisor restart latency: from the crash (the child's last act) to the restarted
// child running its first line, one_for_one, measured 10,000 times.

struct Ready {
  Pid pid;
  int64_t at_ns;
};
struct CrashAt {
  int64_t* crashed_at;
};

Task<absl::Status> Restartable(Self self, Pid probe) {
  self.Send(probe, Ready{self.pid(), NowNs()});
  CrashAt c = co_await self.Receive<CrashAt>();
  *c.crashed_at = NowNs();
  throw std::runtime_error("crash on purpose");
  co_return absl::OkStatus();
}

Task<absl::Status> Ft2Main(Self self) {
  constexpr int kRestarts = 10'000;
  Pid probe = self.pid();
  ChildSpec child{.id = "worker", .start = Start(Restartable, probe)};
  self.SpawnLink(Supervise, SupervisorSpec{.strategy = Strategy::kOneForOne,
                                           .intensity = kRestarts * 2,
                                           .period = absl::Seconds(3600),
                                           .children = {child}});
  Ready first = co_await self.Receive<Ready>();
  Pid current = first.pid;
  std::vector<int64_t> latencies;
  latencies.reserve(kRestarts);
  int64_t crashed_at = 0;
  for (int i = 0; i < kRestarts; ++i) {
    self.Send(current, CrashAt{&crashed_at});  // same shard: the pointer is ours to share
    Ready next = co_await self.Receive<Ready>();
    latencies.push_back(next.at_ns - crashed_at);
    current = next.pid;
  }
  std::sort(latencies.begin(), latencies.end());
  std::printf("FT2 snow restarts=%d restart_us_p50=%.2f restart_us_p99=%.2f restart_us_max=%.2f\n",
              kRestarts, latencies[kRestarts / 2] / 1e3, latencies[kRestarts * 99 / 100] / 1e3,
              latencies.back() / 1e3);
  co_return absl::OkStatus();
}

// --- FT3: Monitor + Demonitor of a live actor on the same shard and on another shard, and a
// Call round trip (monitor, request, reply, demonitor).

Task<absl::Status> Idle(Self self) {
  Crash c = co_await self.Receive<Crash>();
  (void)c;
  co_return absl::OkStatus();
}

struct Get {
  using Reply = int;
};

Task<absl::Status> Echo(Self self) {
  for (;;) {
    Pid from = co_await self.Receive<Pid>();
    if (!from) co_return absl::OkStatus();
    self.Send(from, 1);
  }
}

Task<absl::Status> Server(Self self) {
  for (;;) {
    auto m = co_await self.Receive<Request<Get>, Crash>();
    if (std::holds_alternative<Crash>(m)) co_return absl::OkStatus();
    Reply(self, std::get<Request<Get>>(m).from, 1);
  }
}

Task<absl::Status> Ft3Main(Self self) {
  constexpr int kOps = 1'000'000;
  Pid target = self.Spawn(Idle);
  co_await Yield();
  int64_t t0 = NowNs();
  for (int i = 0; i < kOps; ++i) {
    Ref ref = self.Monitor(target);
    self.Demonitor(ref);
  }
  int64_t t1 = NowNs();
  Pid server = self.Spawn(Server);
  constexpr int kCalls = 200'000;
  int64_t t2 = NowNs();
  for (int i = 0; i < kCalls; ++i) {
    absl::StatusOr<int> r = co_await Call(self, server, Get{}, absl::Seconds(5));
    if (!r.ok()) co_return r.status();
  }
  int64_t t3 = NowNs();
  // The same round trip as two plain sends, for the ratio.
  Pid echo = self.Spawn(Echo);
  int64_t t4 = NowNs();
  for (int i = 0; i < kCalls; ++i) {
    self.Send(echo, self.pid());
    int n = co_await self.Receive<int>();
    (void)n;
  }
  int64_t t5 = NowNs();
  self.Send(target, Crash{});
  self.Send(server, Crash{});
  self.Send(echo, Pid());
  double call_ns = double(t3 - t2) / kCalls;
  double plain_ns = double(t5 - t4) / kCalls;
  std::printf(
      "FT3 snow ns_per_monitor_demonitor=%.1f ns_per_call=%.1f ns_per_plain_roundtrip=%.1f "
      "call_vs_plain=%.2f\n",
      double(t1 - t0) / kOps, call_ns, plain_ns, call_ns / plain_ns);
  co_return absl::OkStatus();
}

}  // namespace

std::vector<Workload> FaultWorkloads() {
  return {
      {"FT1", "spawn_link a chain of 10,000 actors, crash the tail, time the exit propagation",
       [] { return RunWorkload(OneQuietShard(), Ft1Main); }},
      {"FT2", "supervisor (one_for_one) restart latency, crash to restarted child running",
       [] { return RunWorkload(OneQuietShard(), Ft2Main); }},
      {"FT3", "Monitor+Demonitor of a live actor; Call round trip on one shard",
       [] { return RunWorkload(OneQuietShard(), Ft3Main); }},
  };
}

}  // namespace snow::perf
