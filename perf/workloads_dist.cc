// W6-W10 of docs/benchmarks.md, and W7c (small messages while a 64 MiB one is in flight), plain and
// TLS. snow_bench is itself a node (one shard, CPU 0) and starts snow-node processes (one shard,
// pinned to CPU 1) that serve echo and sink (tools/node/services.h). The measurements themselves
// are tools/load/dist_mode.h, shared with `snow-load dist`; the floors are perf/floors.h.
//
// Placement: the bench's driver actor is its main actor, on shard 0, which is also where
// dist::Connect puts the session (reader and writer): a send is appended to the session's queue
// directly, with no cross-shard hop, and the driver's MaybeYield lets the writer run.
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "snow/core/service.h"
#include "snow/core/status.h"
#include "snow/core/supervisor.h"
#include "snow/dist/node.h"
#include "snow/dist/spawn.h"
#include "snow/net/tls_aead_speed.h"
#include "snow/perf/floors.h"
#include "snow/perf/workloads.h"
#include "snow/tools/load/dist_mode.h"
#include "snow/tools/load/load.h"
#include "snow/tools/node/node_process.h"
#include "snow/tools/node/services.h"

namespace snow::perf {
namespace {

using load::DistPeer;
using load::LatencyHistogram;
using node_services::NodeProcess;

constexpr char kCookie[] = "snow-bench";
constexpr uint64_t kRoundTrips = 100'000;
constexpr uint64_t kStreamMessages = 1'000'000;
constexpr uint64_t kBulkMessages = 1'000;
constexpr size_t kBulkBytes = size_t{1} << 20;

double Us(uint64_t nanos) { return static_cast<double>(nanos) / 1e3; }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// A snow-node on CPU 1 (its one shard pins to the first CPU of the mask it inherits), so that it
// does not share CPU 0 with the bench's shard.
std::optional<NodeProcess> StartNode(bool tls, int tick_ms = 0, int socket_buffer_bytes = 0) {
  PinTo(1);
  NodeProcess::Options options{.binary = SNOW_NODE_PATH,
                               .name = "peer@127.0.0.1:0",
                               .cookie = kCookie,
                               .tick_ms = tick_ms,
                               .tls = tls,
                               .mesh = false};
  if (socket_buffer_bytes > 0) {
    options.extra_args.push_back(absl::StrCat("--socket-buffer=", socket_buffer_bytes));
  }
  absl::StatusOr<NodeProcess> node = NodeProcess::Start(options);
  Unpin();
  if (!node.ok()) {
    std::fprintf(stderr, "snow-node: %s\n", node.status().ToString().c_str());
    return std::nullopt;
  }
  return std::move(*node);
}

// Makes this runtime the node "bench@127.0.0.1:<free port>".
absl::Status StartBenchNode(Self self, bool tls, absl::Duration tick = absl::Seconds(60),
                            int socket_buffer_bytes = 0) {
  node_services::RegisterServiceMessages();
  return dist::Start(self, {.name = "bench@127.0.0.1:0",
                            .cookie = kCookie,
                            .tls = tls,
                            .tick = tick,
                            .mesh = false,
                            .socket_buffer_bytes = socket_buffer_bytes});
}

RuntimeOptions OneShard() { return ShardsOptions(1); }

// ---- W6, W7, W7b, W8: one peer, the shared drivers ----

struct PeerFigures {
  double rt_p50_us = 0;
  double rt_p99_us = 0;
  double msgs_per_s = 0;
  uint64_t lost = 0;
  uint64_t reordered = 0;
  uint64_t dropped = 0;
  double bulk_mb_per_s = 0;
  uint64_t bulk_lost = 0;
  // What dist wrote per message (frames, before TLS): the echo request, and a stream message.
  double rt_bytes_per_msg = 0;
  double stream_bytes_per_msg = 0;
};

struct PeerPlan {
  bool tls = false;
  bool round_trips = false;
  bool stream = false;
  bool bulk = false;
};

Task<absl::Status> MeasurePeer(Self self, std::string node, PeerPlan plan,
                               std::reference_wrapper<PeerFigures> out_ref) {
  PeerFigures* out = &out_ref.get();
  SNOW_CO_RETURN_IF_ERROR(StartBenchNode(self, plan.tls));
  absl::StatusOr<DistPeer> peer = co_await load::FindDistServices(self, node);
  SNOW_CO_RETURN_IF_ERROR(peer.status());
  if (plan.round_trips) {
    absl::StatusOr<load::RoundTrips> warm =
        co_await load::EchoRoundTrips(self, peer->echo, 2000, 64);
    SNOW_CO_RETURN_IF_ERROR(warm.status());
    const uint64_t sent_before = dist::Stats(self).bytes_sent;
    absl::StatusOr<load::RoundTrips> rt =
        co_await load::EchoRoundTrips(self, peer->echo, kRoundTrips, 64);
    SNOW_CO_RETURN_IF_ERROR(rt.status());
    out->rt_bytes_per_msg =
        static_cast<double>(dist::Stats(self).bytes_sent - sent_before) / kRoundTrips;
    out->rt_p50_us = Us(rt->latency.Percentile(50));
    out->rt_p99_us = Us(rt->latency.Percentile(99));
  }
  if (plan.stream) {
    load::StreamPlan stream{.messages = kStreamMessages, .payload_bytes = 64, .stream = 7};
    const uint64_t sent_before = dist::Stats(self).bytes_sent;
    absl::StatusOr<load::StreamResult> r = co_await load::SinkStream(self, peer->sink, stream);
    SNOW_CO_RETURN_IF_ERROR(r.status());
    out->stream_bytes_per_msg =
        static_cast<double>(dist::Stats(self).bytes_sent - sent_before) / kStreamMessages;
    out->msgs_per_s = static_cast<double>(r->received) / r->seconds;
    out->lost = r->lost;
    out->reordered = r->reordered;
    out->dropped = r->dropped_queue_full;
  }
  if (plan.bulk) {
    load::StreamPlan bulk{
        .messages = kBulkMessages, .payload_bytes = kBulkBytes, .stream = 8, .wait_for_room = true};
    absl::StatusOr<load::StreamResult> r = co_await load::SinkStream(self, peer->sink, bulk);
    SNOW_CO_RETURN_IF_ERROR(r.status());
    out->bulk_mb_per_s = static_cast<double>(r->payload_bytes) / r->seconds / 1e6;
    out->bulk_lost = r->lost;
    out->dropped += r->dropped_queue_full;
  }
  co_return absl::OkStatus();
}

int RunPeer(PeerPlan plan, PeerFigures* figures) {
  std::optional<NodeProcess> node = StartNode(plan.tls);
  if (!node) return 1;
  return RunWorkload(OneShard(), MeasurePeer, node->name(), plan, std::ref(*figures));
}

int W6() {
  PingPongFloor floor = BlockingPingPong(50'000);
  PeerFigures f;
  if (RunPeer({.tls = false, .round_trips = true}, &f) != 0) return 1;
  std::printf(
      "W6 snow us_per_roundtrip=%.1f p99_us=%.1f floor_us=%.1f floor_p99_us=%.1f "
      "ratio=%.2f\n",
      f.rt_p50_us, f.rt_p99_us, floor.p50_us, floor.p99_us, f.rt_p50_us / floor.p50_us);
  return 0;
}

int W7() {
  PeerFigures f;
  if (RunPeer({.tls = false, .stream = true}, &f) != 0) return 1;
  std::printf("W7 snow msgs_per_s=%.0f lost=%lu reordered=%lu dropped_queue_full=%lu\n",
              f.msgs_per_s, f.lost, f.reordered, f.dropped);
  return 0;
}

int W7b() {
  double floor = BlockingStreamMbPerSecond(kBulkMessages * kBulkBytes, kBulkBytes);
  PeerFigures f;
  if (RunPeer({.tls = false, .bulk = true}, &f) != 0) return 1;
  std::printf("W7b snow mb_per_s=%.0f floor_mb_per_s=%.0f ratio=%.2f lost=%lu\n", f.bulk_mb_per_s,
              floor, f.bulk_mb_per_s / floor, f.bulk_lost);
  return 0;
}

// Besides the figures, W8 prints what the cipher alone costs them here, from wolfCrypt in the
// same run: `cipher_us_per_roundtrip`, sealing and opening the two echo messages as records of
// their own (opening costs what sealing does: the same ChaCha20 and Poly1305 passes), which W8's
// round trip adds to W6's; and `cipher_bound_msgs_per_s`, the most stream messages one core could
// seal per second at the bulk floor's rate if it did nothing else.
int W8() {
  const double chacha =
      *net::MeasureAeadBytesPerSecond(net::TlsAead::kChaCha20Poly1305, size_t{256} << 20);
  PeerFigures f;
  if (RunPeer({.tls = true, .round_trips = true, .stream = true, .bulk = true}, &f) != 0) {
    return 1;
  }
  // A record's plaintext is the message's frame and TLS 1.3's one content-type byte.
  const size_t record = static_cast<size_t>(f.rt_bytes_per_msg + 0.5) + 1;
  const double small =
      *net::MeasureAeadBytesPerSecond(net::TlsAead::kChaCha20Poly1305, size_t{32} << 20, record);
  const double seal_us = static_cast<double>(record) / small * 1e6;
  std::printf(
      "W8 snow us_per_roundtrip=%.1f p99_us=%.1f msgs_per_s=%.0f mb_per_s=%.0f "
      "floor_mb_per_s=%.0f ratio=%.2f lost=%lu reordered=%lu record_bytes=%zu "
      "cipher_us_per_roundtrip=%.2f stream_bytes_per_msg=%.0f cipher_bound_msgs_per_s=%.0f\n",
      f.rt_p50_us, f.rt_p99_us, f.msgs_per_s, f.bulk_mb_per_s, chacha / 1e6,
      f.bulk_mb_per_s / (chacha / 1e6), f.lost + f.bulk_lost, f.reordered, record, 4 * seal_us,
      f.stream_bytes_per_msg, chacha / f.stream_bytes_per_msg);
  return 0;
}

// ---- D1: remote Call round trips, beside W6's echo on the same connection ----

struct CallFigures {
  double w6_p50_us = 0;
  double call_p50_us = 0;
  double call_p99_us = 0;
  double named_p50_us = 0;
};

constexpr uint64_t kCalls = 50'000;

// `count` calls of Square, one at a time: by PID, or by name when `server` is null.
Task<absl::StatusOr<LatencyHistogram>> CallRoundTrips(Self self, std::string node, Pid server,
                                                      uint64_t count) {
  LatencyHistogram latency;
  for (uint64_t i = 0; i < count; ++i) {
    const int64_t n = static_cast<int64_t>(i);
    const int64_t sent = load::SteadyNanos();
    absl::StatusOr<int64_t> squared;
    if (server) {
      squared = co_await Call(self, server, node_services::Square{n}, absl::Seconds(10));
    } else {
      squared =
          co_await dist::Call(self, "calls", node, node_services::Square{n}, absl::Seconds(10));
    }
    if (!squared.ok()) co_return squared.status();
    latency.Record(static_cast<uint64_t>(load::SteadyNanos() - sent));
  }
  co_return latency;
}

Task<absl::Status> MeasureCalls(Self self, std::string node, bool tls,
                                std::reference_wrapper<CallFigures> out_ref) {
  CallFigures* out = &out_ref.get();
  SNOW_CO_RETURN_IF_ERROR(StartBenchNode(self, tls));
  absl::StatusOr<DistPeer> peer = co_await load::FindDistServices(self, node);
  SNOW_CO_RETURN_IF_ERROR(peer.status());
  absl::StatusOr<Pid> server =
      co_await dist::Call(self, "calls", node, node_services::Whoami{}, absl::Seconds(10));
  SNOW_CO_RETURN_IF_ERROR(server.status());
  // Warm both paths, then alternate them in slices so that drift hits both alike.
  SNOW_CO_RETURN_IF_ERROR((co_await load::EchoRoundTrips(self, peer->echo, 2000, 64)).status());
  SNOW_CO_RETURN_IF_ERROR((co_await CallRoundTrips(self, node, *server, 2000)).status());
  LatencyHistogram echo, call, named;
  constexpr int kSlices = 10;
  for (int slice = 0; slice < kSlices; ++slice) {
    absl::StatusOr<load::RoundTrips> rt =
        co_await load::EchoRoundTrips(self, peer->echo, kCalls / kSlices, 64);
    SNOW_CO_RETURN_IF_ERROR(rt.status());
    echo.Merge(rt->latency);
    absl::StatusOr<LatencyHistogram> calls =
        co_await CallRoundTrips(self, node, *server, kCalls / kSlices);
    SNOW_CO_RETURN_IF_ERROR(calls.status());
    call.Merge(*calls);
    absl::StatusOr<LatencyHistogram> by_name =
        co_await CallRoundTrips(self, node, Pid(), kCalls / kSlices / 5);
    SNOW_CO_RETURN_IF_ERROR(by_name.status());
    named.Merge(*by_name);
  }
  out->w6_p50_us = Us(echo.Percentile(50));
  out->call_p50_us = Us(call.Percentile(50));
  out->call_p99_us = Us(call.Percentile(99));
  out->named_p50_us = Us(named.Percentile(50));
  co_return absl::OkStatus();
}

int D1() {
  CallFigures plain, tls;
  for (bool use_tls : {false, true}) {
    std::optional<NodeProcess> node = StartNode(use_tls);
    if (!node) return 1;
    if (RunWorkload(OneShard(), MeasureCalls, node->name(), use_tls,
                    std::ref(use_tls ? tls : plain)) != 0) {
      return 1;
    }
  }
  std::printf(
      "D1 snow us_per_call=%.1f p99_us=%.1f tls_us_per_call=%.1f w6_us=%.1f ratio=%.2f "
      "named_us_per_call=%.1f tls_p99_us=%.1f tls_w6_us=%.1f tls_ratio=%.2f\n",
      plain.call_p50_us, plain.call_p99_us, tls.call_p50_us, plain.w6_p50_us,
      plain.call_p50_us / plain.w6_p50_us, plain.named_p50_us, tls.call_p99_us, tls.w6_p50_us,
      tls.call_p50_us / tls.w6_p50_us);
  return 0;
}

// ---- D2: remote spawn, one at a time and 64 in flight ----

struct SpawnFigures {
  double p50_us = 0;
  double p99_us = 0;
  double spawns_per_s = 0;
};

constexpr uint64_t kSpawns = 20'000;
constexpr int kSpawnersInFlight = 64;
constexpr uint64_t kSpawnsEach = 1250;  // per spawner: 80,000 in all

struct SpawnerDone {
  absl::Status status;
};

Task<absl::Status> Spawner(Self self, std::string node, Pid parent) {
  absl::Status status;
  for (uint64_t i = 0; i < kSpawnsEach && status.ok(); ++i) {
    status = (co_await dist::Spawn(self, node, "snow.node.noop")).status();
  }
  self.Send(parent, SpawnerDone{status});
  co_return absl::OkStatus();
}

Task<absl::Status> MeasureSpawns(Self self, std::string node,
                                 std::reference_wrapper<SpawnFigures> out_ref) {
  SpawnFigures* out = &out_ref.get();
  SNOW_CO_RETURN_IF_ERROR(StartBenchNode(self, false));
  LatencyHistogram latency;
  for (uint64_t i = 0; i < kSpawns + 1000; ++i) {  // the first 1,000 warm up
    const int64_t start = load::SteadyNanos();
    absl::StatusOr<Pid> child = co_await dist::Spawn(self, node, "snow.node.noop");
    SNOW_CO_RETURN_IF_ERROR(child.status());
    if (i >= 1000) latency.Record(static_cast<uint64_t>(load::SteadyNanos() - start));
  }
  out->p50_us = Us(latency.Percentile(50));
  out->p99_us = Us(latency.Percentile(99));
  const int64_t start = load::SteadyNanos();
  for (int i = 0; i < kSpawnersInFlight; ++i) self.Spawn(Spawner, node, self.pid());
  for (int i = 0; i < kSpawnersInFlight; ++i) {
    absl::StatusOr<SpawnerDone> done = co_await self.ReceiveFor<SpawnerDone>(absl::Seconds(60));
    SNOW_CO_RETURN_IF_ERROR(done.status());
    SNOW_CO_RETURN_IF_ERROR(done->status);
  }
  const double seconds = static_cast<double>(load::SteadyNanos() - start) / 1e9;
  out->spawns_per_s = static_cast<double>(kSpawnsEach * kSpawnersInFlight) / seconds;
  co_return absl::OkStatus();
}

int D2() {
  std::optional<NodeProcess> node = StartNode(false);
  if (!node) return 1;
  SpawnFigures f;
  if (RunWorkload(OneShard(), MeasureSpawns, node->name(), std::ref(f)) != 0) return 1;
  std::printf("D2 snow us_per_spawn=%.1f p99_us=%.1f spawns_per_s=%.0f in_flight=%d\n", f.p50_us,
              f.p99_us, f.spawns_per_s, kSpawnersInFlight);
  return 0;
}

// ---- D3: failover of a supervised child after kill -9 of its node ----

constexpr int kFailovers = 20;

struct FailoverFigures {
  std::vector<double> failover_ms;
  std::vector<double> detect_ms;
};

// Each run: a fresh node b and a supervisor here whose permanent child runs on b (candidates b,
// then c); kill -9 of b; the time until the child's Down (noconnection) and until the child
// restarted on c has reported in.
Task<absl::Status> MeasureFailover(Self self, std::string c,
                                   std::reference_wrapper<FailoverFigures> out_ref) {
  FailoverFigures* out = &out_ref.get();
  SNOW_CO_RETURN_IF_ERROR(StartBenchNode(self, false));
  self.TrapExits();
  for (int run = 0; run < kFailovers; ++run) {
    std::optional<NodeProcess> b = StartNode(false);
    if (!b) co_return absl::UnavailableError("snow-node did not start");
    const std::string text = absl::StrCat("d3-", run);
    SupervisorSpec spec{.intensity = 5,
                        .children = {{.id = "child",
                                      .start = dist::StartOn({b->name(), c}, "snow.node.reporter",
                                                             self.pid(), int64_t{run}, text)}}};
    Pid sup = self.SpawnLink(Supervise, std::move(spec));
    auto is_run = [text](const node_services::Report& r) { return r.text == text; };
    absl::StatusOr<node_services::Report> first =
        co_await self.ReceiveFor<node_services::Report>(absl::Seconds(10), is_run);
    SNOW_CO_RETURN_IF_ERROR(first.status());
    Ref watch = self.Monitor(first->from);
    const int64_t killed = NowNs();
    b->Signal(SIGKILL);
    auto is_down = [watch](const Down& d) { return d.ref == watch; };
    SNOW_CO_RETURN_IF_ERROR((co_await self.ReceiveFor<Down>(absl::Seconds(10), is_down)).status());
    out->detect_ms.push_back(static_cast<double>(NowNs() - killed) / 1e6);
    absl::StatusOr<node_services::Report> again =
        co_await self.ReceiveFor<node_services::Report>(absl::Seconds(10), is_run);
    SNOW_CO_RETURN_IF_ERROR(again.status());
    out->failover_ms.push_back(static_cast<double>(NowNs() - killed) / 1e6);
    if (dist::NodeOf(self, again->from) != c) {
      co_return absl::InternalError("the child did not move to the other node");
    }
    self.Unlink(sup);
    self.SendExit(sup, absl::AbortedError("kill"));
  }
  co_return absl::OkStatus();
}

int D3() {
  std::optional<NodeProcess> c = StartNode(false);
  if (!c) return 1;
  FailoverFigures f;
  if (RunWorkload(OneShard(), MeasureFailover, c->name(), std::ref(f)) != 0) return 1;
  std::printf("D3 snow failover_ms=%.2f kill9_detect_ms=%.2f ratio=%.2f runs=%d\n",
              Median(f.failover_ms), Median(f.detect_ms),
              Median(f.failover_ms) / Median(f.detect_ms), kFailovers);
  return 0;
}

// ---- W7c: echo round trips while 64 MiB go to the sink of the same peer ----

struct BulkLatencyFigures {
  double idle_us = 0;
  double p50_us = 0;
  double p99_us = 0;
  double max_us = 0;
  uint64_t round_trips = 0;
  double bulk_ms = 0;
  double send_ms = 0;
};

// NodeOptions::socket_buffer_bytes of W7c's second pass: small kernel buffers bound how much
// of the large message a small one queues behind.
constexpr int kSmallSocketBuffer = 256 * 1024;

Task<absl::Status> MeasureDuringBulk(Self self, std::string node, bool tls, int socket_buffer,
                                     std::reference_wrapper<BulkLatencyFigures> out_ref) {
  BulkLatencyFigures* out = &out_ref.get();
  SNOW_CO_RETURN_IF_ERROR(StartBenchNode(self, tls, absl::Seconds(60), socket_buffer));
  absl::StatusOr<DistPeer> peer = co_await load::FindDistServices(self, node);
  SNOW_CO_RETURN_IF_ERROR(peer.status());
  absl::StatusOr<load::LatencyUnderBulk> r =
      co_await load::EchoDuringBulk(self, *peer, size_t{64} << 20, 2000);
  SNOW_CO_RETURN_IF_ERROR(r.status());
  out->idle_us = Us(r->idle.Percentile(50));
  out->p50_us = Us(r->during.Percentile(50));
  out->p99_us = Us(r->during.Percentile(99));
  out->max_us = Us(r->during.max());
  out->round_trips = r->during.count();
  out->bulk_ms = r->bulk_seconds * 1e3;
  out->send_ms = r->send_seconds * 1e3;
  co_return absl::OkStatus();
}

int W7c() {
  BulkLatencyFigures plain, tls, small_plain, small_tls;
  for (int buffer : {0, kSmallSocketBuffer}) {
    for (bool use_tls : {false, true}) {
      std::optional<NodeProcess> node = StartNode(use_tls, 0, buffer);
      if (!node) return 1;
      BulkLatencyFigures* out =
          buffer == 0 ? (use_tls ? &tls : &plain) : (use_tls ? &small_tls : &small_plain);
      if (RunWorkload(OneShard(), MeasureDuringBulk, node->name(), use_tls, buffer,
                      std::ref(*out)) != 0) {
        return 1;
      }
    }
  }
  std::printf(
      "W7c snow idle_rt_us=%.1f rt_during_bulk_us_p50=%.1f p99=%.1f max=%.1f "
      "round_trips=%lu bulk_ms=%.1f send_call_ms=%.1f tls_idle_rt_us=%.1f "
      "tls_rt_during_bulk_us_p50=%.1f tls_p99=%.1f tls_max=%.1f tls_round_trips=%lu "
      "tls_bulk_ms=%.1f tls_send_call_ms=%.1f\n",
      plain.idle_us, plain.p50_us, plain.p99_us, plain.max_us, plain.round_trips, plain.bulk_ms,
      plain.send_ms, tls.idle_us, tls.p50_us, tls.p99_us, tls.max_us, tls.round_trips, tls.bulk_ms,
      tls.send_ms);
  std::printf(
      "W7c snow socket_buffer=%d p50=%.1f p99=%.1f bulk_ms=%.1f tls_p50=%.1f tls_p99=%.1f "
      "tls_bulk_ms=%.1f\n",
      kSmallSocketBuffer, small_plain.p50_us, small_plain.p99_us, small_plain.bulk_ms,
      small_tls.p50_us, small_tls.p99_us, small_tls.bulk_ms);
  return 0;
}

// ---- W9: Connect to the first echo reply, each time on a fresh peer ----

constexpr int kFreshPeers = 5;

Task<absl::Status> MeasureConnects(Self self, std::vector<std::string> nodes, bool tls,
                                   std::reference_wrapper<std::vector<double>> ms_ref) {
  std::vector<double>* ms = &ms_ref.get();
  SNOW_CO_RETURN_IF_ERROR(StartBenchNode(self, tls));
  for (const std::string& node : nodes) {
    const int64_t start = NowNs();
    absl::Status connected = co_await dist::Connect(self, node);
    SNOW_CO_RETURN_IF_ERROR(connected);
    node_services::Echo hello{self.pid(), 1, {}};
    SNOW_CO_RETURN_IF_ERROR(dist::SendNamed(self, "echo", node, hello));
    absl::StatusOr<node_services::Echo> reply =
        co_await self.ReceiveFor<node_services::Echo>(absl::Seconds(10));
    SNOW_CO_RETURN_IF_ERROR(reply.status());
    ms->push_back(static_cast<double>(NowNs() - start) / 1e6);
  }
  co_return absl::OkStatus();
}

int W9() {
  std::vector<double> plain_ms, tls_ms;
  for (bool tls : {false, true}) {
    std::vector<NodeProcess> nodes;
    std::vector<std::string> names;
    for (int i = 0; i < kFreshPeers; ++i) {
      std::optional<NodeProcess> node = StartNode(tls);
      if (!node) return 1;
      names.push_back(node->name());
      nodes.push_back(std::move(*node));
    }
    std::vector<double>* ms = tls ? &tls_ms : &plain_ms;
    if (RunWorkload(OneShard(), MeasureConnects, names, tls, std::ref(*ms)) != 0) return 1;
  }
  std::printf("W9 snow plain_ms=%.2f tls_ms=%.2f plain_max_ms=%.2f tls_max_ms=%.2f peers=%d\n",
              Median(plain_ms), Median(tls_ms), *std::max_element(plain_ms.begin(), plain_ms.end()),
              *std::max_element(tls_ms.begin(), tls_ms.end()), kFreshPeers);
  return 0;
}

// ---- W10: NodeDown after kill -9, and after SIGSTOP with a 1 s tick ----

constexpr int kTickMs = 1000;
constexpr int kFailureTrials = 3;

Task<absl::Status> MeasureNodeDown(Self self, std::vector<NodeProcess*> nodes, int signal,
                                   std::reference_wrapper<std::vector<double>> ms_ref) {
  std::vector<double>* ms = &ms_ref.get();
  SNOW_CO_RETURN_IF_ERROR(StartBenchNode(self, /*tls=*/true, absl::Milliseconds(kTickMs)));
  dist::MonitorNodes(self);
  for (NodeProcess* node : nodes) {
    std::string name = node->name();
    absl::Status connected = co_await dist::Connect(self, name);
    SNOW_CO_RETURN_IF_ERROR(connected);
    // Let the connection settle into its heartbeat rhythm, as a long-lived one would be.
    co_await Sleep(absl::Milliseconds(kTickMs / 2));
    const int64_t start = NowNs();
    node->Signal(signal);
    for (;;) {
      absl::StatusOr<dist::NodeDown> down =
          co_await self.ReceiveFor<dist::NodeDown>(absl::Milliseconds(10 * kTickMs));
      if (!down.ok()) co_return absl::DeadlineExceededError("no NodeDown for " + name);
      if (down->node != name) continue;
      ms->push_back(static_cast<double>(NowNs() - start) / 1e6);
      break;
    }
  }
  co_return absl::OkStatus();
}

int W10() {
  std::vector<double> kill_ms, stop_ms;
  for (int signal : {SIGKILL, SIGSTOP}) {
    std::vector<NodeProcess> nodes;
    std::vector<NodeProcess*> pointers;
    for (int i = 0; i < kFailureTrials; ++i) {
      std::optional<NodeProcess> node = StartNode(/*tls=*/true, kTickMs);
      if (!node) return 1;
      nodes.push_back(std::move(*node));
    }
    for (NodeProcess& n : nodes) pointers.push_back(&n);
    std::vector<double>* ms = signal == SIGKILL ? &kill_ms : &stop_ms;
    if (RunWorkload(OneShard(), MeasureNodeDown, pointers, signal, std::ref(*ms)) != 0) return 1;
  }
  // Where the time goes: the same kill of a process holding a plain socket, and of one that also
  // has an io_uring read pending (as a Snow node does), noticed by a blocking recv.
  const double socket_floor = KilledPeerNoticedMs(kFailureTrials * 3, /*with_uring=*/false);
  const double uring_floor = KilledPeerNoticedMs(kFailureTrials * 3, /*with_uring=*/true);
  std::printf(
      "W10 snow kill9_ms=%.2f sigstop_ms=%.0f tick_ms=%d kill9_max_ms=%.2f "
      "sigstop_max_ms=%.0f trials=%d floor_socket_kill9_ms=%.2f floor_uring_kill9_ms=%.2f\n",
      Median(kill_ms), Median(stop_ms), kTickMs, *std::max_element(kill_ms.begin(), kill_ms.end()),
      *std::max_element(stop_ms.begin(), stop_ms.end()), kFailureTrials, socket_floor, uring_floor);
  return 0;
}

// ---- W7x: a sender on every shard to a sink on every shard of a 2-shard peer ----

constexpr uint32_t kPairShards = 2;
constexpr uint64_t kPairWarmup = 100'000;    // per pair, before the clock starts
constexpr uint64_t kPairMessages = 250'000;  // per pair, timed

struct PairDone {
  uint64_t received = 0;
  uint64_t lost = 0;
  uint64_t reordered = 0;
};

Task<absl::Status> StreamPair(Self self, Pid sink, uint64_t stream, uint64_t messages, Pid parent) {
  load::StreamPlan plan{.messages = messages, .payload_bytes = 64, .stream = stream};
  absl::StatusOr<load::StreamResult> r = co_await load::SinkStream(self, sink, plan);
  SNOW_CO_RETURN_IF_ERROR(r.status());
  self.Send(parent, PairDone{r->received, r->lost, r->reordered});
  co_return absl::OkStatus();
}

// One round: a sender per (shard, sink) pair, `messages` each; returns the wall time.
Task<absl::StatusOr<double>> StreamEveryPair(Self self, const std::vector<Pid>& sinks,
                                             uint64_t first_stream, uint64_t messages,
                                             PairDone* total) {
  const int64_t start = NowNs();
  uint64_t stream = first_stream;
  for (ShardId shard = 0; shard < self.runtime().shard_count(); ++shard) {
    for (Pid sink : sinks) {
      self.SpawnLink(SpawnOptions{.placement = Placement::kShard, .shard = shard}, StreamPair, sink,
                     stream++, messages, self.pid());
    }
  }
  for (uint64_t i = first_stream; i < stream; ++i) {
    absl::StatusOr<PairDone> done = co_await self.ReceiveFor<PairDone>(absl::Seconds(120));
    SNOW_CO_RETURN_IF_ERROR(done.status());
    total->received += done->received;
    total->lost += done->lost;
    total->reordered += done->reordered;
  }
  co_return static_cast<double>(NowNs() - start) / 1e9;
}

Task<absl::Status> MeasureEveryPair(Self self, std::string node, bool tls,
                                    std::reference_wrapper<double> msgs_per_s,
                                    std::reference_wrapper<PairDone> out) {
  SNOW_CO_RETURN_IF_ERROR(StartBenchNode(self, tls));
  SNOW_CO_RETURN_IF_ERROR(co_await dist::Connect(self, node));
  std::vector<Pid> sinks;
  for (uint32_t shard = 0; shard < kPairShards; ++shard) {
    const uint64_t lookup = (uint64_t{1} << 62) | shard;  // a stream nobody uses
    SNOW_CO_RETURN_IF_ERROR(dist::SendNamed(self, absl::StrCat("sink.", shard), node,
                                            node_services::SinkQuery{self.pid(), lookup, 0}));
    absl::StatusOr<node_services::SinkReport> report =
        co_await self.ReceiveFor<node_services::SinkReport>(absl::Seconds(10));
    SNOW_CO_RETURN_IF_ERROR(report.status());
    sinks.push_back(report->sink);
  }
  // The warm-up brings the connections to their steady state (with lanes: every pair's own).
  PairDone warm;
  SNOW_CO_RETURN_IF_ERROR(
      (co_await StreamEveryPair(self, sinks, 100, kPairWarmup, &warm)).status());
  absl::StatusOr<double> seconds =
      co_await StreamEveryPair(self, sinks, 200, kPairMessages, &out.get());
  SNOW_CO_RETURN_IF_ERROR(seconds.status());
  msgs_per_s.get() = static_cast<double>(out.get().received) / *seconds;
  co_return absl::OkStatus();
}

int W7x() {
  double plain = 0, tls = 0;
  PairDone plain_total, tls_total;
  for (bool with_tls : {false, true}) {
    absl::StatusOr<NodeProcess> node = NodeProcess::Start({.binary = SNOW_NODE_PATH,
                                                           .name = "peer@127.0.0.1:0",
                                                           .cookie = kCookie,
                                                           .tls = with_tls,
                                                           .mesh = false,
                                                           .shards = kPairShards});
    if (!node.ok()) {
      std::fprintf(stderr, "snow-node: %s\n", node.status().ToString().c_str());
      return 1;
    }
    if (RunWorkload(ShardsOptions(kPairShards), MeasureEveryPair, node->name(), with_tls,
                    std::ref(with_tls ? tls : plain),
                    std::ref(with_tls ? tls_total : plain_total)) != 0) {
      return 1;
    }
  }
  std::printf("W7x snow msgs_per_s=%.0f tls_msgs_per_s=%.0f pairs=%u lost=%lu reordered=%lu\n",
              plain, tls, kPairShards * kPairShards, plain_total.lost + tls_total.lost,
              plain_total.reordered + tls_total.reordered);
  return 0;
}

}  // namespace

std::vector<Workload> DistWorkloads() {
  return {
      {"W6", "remote ping-pong, 100,000 round trips of 64 B vs a blocking-socket floor", W6},
      {"W7", "remote stream: 1,000,000 x {seq, 64 B} to a sink, one ack at the end", W7},
      {"W7b", "remote bulk: 1,000 x 1 MiB vs one plain TCP stream of 1 MiB writes", W7b},
      {"W8", "W6, W7 and W7b over TLS 1.3 vs the ChaCha20-Poly1305 floor", W8},
      {"W7c", "echo round trips while a 64 MiB message goes to another actor, plain and TLS", W7c},
      {"W7x",
       "remote stream from every shard to a sink on every shard: 2 x 2 shards, plain and TLS", W7x},
      {"W9", "connect: from Connect to the first echo reply on a fresh peer, plain and TLS", W9},
      {"W10", "NodeDown after kill -9, and after SIGSTOP with a 1 s tick", W10},
      {"D1", "remote Call round trips (by PID, and by name), plain and TLS, beside W6's echo", D1},
      {"D2", "remote spawn of a function that ends at once: latency, and spawns/s 64 in flight",
       D2},
      {"D3", "failover: kill -9 of the node of a supervised child until it runs on another", D3},
  };
}

}  // namespace snow::perf
