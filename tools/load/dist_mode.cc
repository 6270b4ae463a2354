#include "snow/tools/load/dist_mode.h"

#include <cinttypes>
#include <cstdio>
#include <memory>
#include <string_view>
#include <utility>
#include <variant>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "snow/core/status.h"
#include "snow/dist/node.h"
#include "snow/tools/load/load.h"
#include "snow/tools/node/services.h"

namespace snow::load {

using node_services::Echo;
using node_services::SinkItem;
using node_services::SinkQuery;
using node_services::SinkReport;

namespace {

// Long enough for a 64 MiB message over TLS on a slow machine; a lost peer ends a run with an
// error instead of a hang.
constexpr absl::Duration kReplyTimeout = absl::Seconds(60);

// Marker streams (flow window, service lookup) never collide with a run's stream ids.
constexpr uint64_t kMarkerStreamBit = uint64_t{1} << 63;

double SecondsSince(int64_t start_ns) {
  return static_cast<double>(SteadyNanos() - start_ns) / 1e9;
}

// Waits for the SinkReport on `stream`, leaving other messages queued.
Task<absl::StatusOr<SinkReport>> AwaitReport(Self self, uint64_t stream) {
  auto on_stream = [stream](const SinkReport& r) { return r.stream == stream; };
  absl::StatusOr<SinkReport> report =
      co_await self.ReceiveFor<SinkReport>(kReplyTimeout, on_stream);
  if (!report.ok()) {
    co_return absl::DeadlineExceededError(absl::StrCat("no SinkReport for stream ", stream));
  }
  co_return report;
}

// Waits for the echo of round trip `n`, dropping stale echoes of an earlier run.
Task<absl::StatusOr<Echo>> AwaitEcho(Self self, int64_t n) {
  auto is_reply = [n](const Echo& e) { return e.n == n; };
  absl::StatusOr<Echo> echo = co_await self.ReceiveFor<Echo>(kReplyTimeout, is_reply);
  if (!echo.ok()) co_return absl::DeadlineExceededError(absl::StrCat("no echo of #", n));
  co_return echo;
}

}  // namespace

Task<absl::StatusOr<DistPeer>> FindDistServices(Self self, std::string node) {
  absl::Status connected = co_await dist::Connect(self, node);
  SNOW_CO_RETURN_IF_ERROR(connected);
  DistPeer peer{.node = node, .echo = Pid(), .sink = Pid()};
  Echo hello{self.pid(), -1, {}};
  SNOW_CO_RETURN_IF_ERROR(dist::SendNamed(self, "echo", node, hello));
  absl::StatusOr<Echo> echo = co_await AwaitEcho(self, -1);
  SNOW_CO_RETURN_IF_ERROR(echo.status());
  peer.echo = echo->from;
  // A query on a stream nobody uses: the report names the sink.
  const uint64_t lookup = kMarkerStreamBit | (uint64_t{1} << 62);
  SinkQuery query{self.pid(), lookup, 0};
  SNOW_CO_RETURN_IF_ERROR(dist::SendNamed(self, "sink", node, query));
  absl::StatusOr<SinkReport> report = co_await AwaitReport(self, lookup);
  SNOW_CO_RETURN_IF_ERROR(report.status());
  peer.sink = report->sink;
  co_return peer;
}

Task<absl::StatusOr<RoundTrips>> EchoRoundTrips(Self self, Pid echo, uint64_t count,
                                                size_t payload_bytes) {
  RoundTrips result;
  const std::string payload(payload_bytes, 'e');
  const int64_t start = SteadyNanos();
  for (uint64_t i = 0; i < count; ++i) {
    const int64_t n = static_cast<int64_t>(i);
    const int64_t sent = SteadyNanos();
    self.Send(echo, Echo{self.pid(), n, wire::Binary{payload}});
    absl::StatusOr<Echo> reply = co_await AwaitEcho(self, n);
    SNOW_CO_RETURN_IF_ERROR(reply.status());
    result.latency.Record(static_cast<uint64_t>(SteadyNanos() - sent));
  }
  result.count = count;
  result.seconds = SecondsSince(start);
  co_return result;
}

Task<absl::StatusOr<StreamResult>> SinkStream(Self self, Pid sink, StreamPlan plan) {
  StreamResult result;
  const std::string payload(plan.payload_bytes, 's');
  const uint64_t dropped_before = dist::Stats(self).dropped_queue_full;
  const int64_t start = SteadyNanos();
  for (uint64_t seq = 0; seq < plan.messages; ++seq) {
    self.Send(sink, SinkItem{plan.stream, seq, wire::Binary{payload}});
    if (plan.wait_for_room) co_await dist::WaitForRoom(self, sink);
    // The session's writer runs on this shard: let it, or the queue only grows.
    co_await MaybeYield();
  }
  // A stream faster than the peer reads fills the session's queue to its bound, and a send
  // beyond it is dropped: the query must wait for room, or a long run can lose it.
  co_await dist::WaitForRoom(self, sink);
  SinkQuery query{self.pid(), plan.stream, plan.messages};
  self.Send(sink, query);
  absl::StatusOr<SinkReport> report = co_await AwaitReport(self, plan.stream);
  SNOW_CO_RETURN_IF_ERROR(report.status());
  result.seconds = SecondsSince(start);
  result.messages = plan.messages;
  result.received = report->received;
  result.lost = report->lost;
  result.reordered = report->reordered;
  result.payload_bytes = report->bytes;
  result.dropped_queue_full = dist::Stats(self).dropped_queue_full - dropped_before;
  co_return result;
}

Task<absl::StatusOr<LatencyUnderBulk>> EchoDuringBulk(Self self, const DistPeer& peer,
                                                      size_t bulk_bytes,
                                                      uint64_t idle_round_trips) {
  LatencyUnderBulk result;
  absl::StatusOr<RoundTrips> idle = co_await EchoRoundTrips(self, peer.echo, idle_round_trips, 64);
  SNOW_CO_RETURN_IF_ERROR(idle.status());
  result.idle = idle->latency;
  const uint64_t stream = kMarkerStreamBit | (uint64_t{1} << 61);
  const std::string payload(64, 'e');
  // Made before the clock starts: building 64 MiB is the driver's cost, not dist's.
  SinkItem bulk{stream, 0, wire::Binary{std::string(bulk_bytes, 'b')}};
  const int64_t start = SteadyNanos();
  self.Send(peer.sink, std::move(bulk));
  // The send encodes the whole message on this shard before it returns.
  result.send_seconds = SecondsSince(start);
  // Answered once the bulk message has arrived: it follows it to the same actor.
  SinkQuery query{self.pid(), stream, 1};
  self.Send(peer.sink, query);
  int64_t n = int64_t{1} << 40;
  int64_t sent = SteadyNanos();
  self.Send(peer.echo, Echo{self.pid(), n, wire::Binary{payload}});
  for (;;) {
    absl::StatusOr<std::variant<Echo, SinkReport>> m =
        co_await self.ReceiveFor<Echo, SinkReport>(kReplyTimeout);
    if (!m.ok()) co_return absl::DeadlineExceededError("no echo or report during the bulk send");
    if (auto* report = std::get_if<SinkReport>(&*m)) {
      if (report->stream != stream) continue;
      result.bulk_seconds = SecondsSince(start);
      if (report->received != 1) co_return absl::DataLossError("the bulk message was lost");
      break;
    }
    if (std::get<Echo>(*m).n != n) continue;
    result.during.Record(static_cast<uint64_t>(SteadyNanos() - sent));
    ++n;
    sent = SteadyNanos();
    self.Send(peer.echo, Echo{self.pid(), n, wire::Binary{payload}});
  }
  // The echo in flight when the bulk finished.
  absl::StatusOr<Echo> last = co_await AwaitEcho(self, n);
  SNOW_CO_RETURN_IF_ERROR(last.status());
  co_return result;
}

// ---- snow-load dist ----

namespace {

struct DistLoadOptions {
  std::string node;
  std::string cookie;
  std::string workload = "W6";
  bool tls = true;
  bool json = false;
  uint64_t messages = 0;  // 0: the workload's default
  size_t size = 0;        // 0: the workload's default
};

double Micros(uint64_t nanos) { return static_cast<double>(nanos) / 1000.0; }

void PrintRoundTrips(const DistLoadOptions& o, const RoundTrips& r, size_t size) {
  const LatencyHistogram& h = r.latency;
  double rate = r.seconds > 0 ? static_cast<double>(r.count) / r.seconds : 0;
  if (o.json) {
    std::printf(
        "{\"mode\":\"dist\",\"workload\":\"%s\",\"node\":\"%s\",\"tls\":%s,\"size\":%zu,"
        "\"seconds\":%.6f,\"messages\":%" PRIu64
        ",\"msgs_per_s\":%.1f,\"latency_us\":{\"p50\":%.2f,\"p90\":%.2f,\"p99\":%.2f,"
        "\"p999\":%.2f,\"max\":%.2f},\"errors\":0}\n",
        o.workload.c_str(), o.node.c_str(), o.tls ? "true" : "false", size, r.seconds, r.count,
        rate, Micros(h.Percentile(50)), Micros(h.Percentile(90)), Micros(h.Percentile(99)),
        Micros(h.Percentile(99.9)), Micros(h.max()));
  } else {
    std::printf("snow-load dist %s%s to %s: %" PRIu64 " round trips of %zu B, %.2f s\n",
                o.workload.c_str(), o.tls ? " (TLS)" : "", o.node.c_str(), r.count, size,
                r.seconds);
    std::printf("  latency   p50 %.1f us  p90 %.1f us  p99 %.1f us  p99.9 %.1f us  max %.1f us\n",
                Micros(h.Percentile(50)), Micros(h.Percentile(90)), Micros(h.Percentile(99)),
                Micros(h.Percentile(99.9)), Micros(h.max()));
  }
}

void PrintStream(const DistLoadOptions& o, const StreamResult& r, size_t size) {
  double rate = r.seconds > 0 ? static_cast<double>(r.received) / r.seconds : 0;
  double mb = r.seconds > 0 ? static_cast<double>(r.payload_bytes) / r.seconds / 1e6 : 0;
  if (o.json) {
    std::printf(
        "{\"mode\":\"dist\",\"workload\":\"%s\",\"node\":\"%s\",\"tls\":%s,\"size\":%zu,"
        "\"seconds\":%.6f,\"messages\":%" PRIu64 ",\"received\":%" PRIu64
        ",\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f,\"lost\":%" PRIu64 ",\"reordered\":%" PRIu64
        ",\"dropped_queue_full\":%" PRIu64 ",\"errors\":%" PRIu64 "}\n",
        o.workload.c_str(), o.node.c_str(), o.tls ? "true" : "false", size, r.seconds, r.messages,
        r.received, rate, mb, r.lost, r.reordered, r.dropped_queue_full, r.lost);
  } else {
    std::printf("snow-load dist %s%s to %s: %" PRIu64 " messages of %zu B, %.2f s\n",
                o.workload.c_str(), o.tls ? " (TLS)" : "", o.node.c_str(), r.messages, size,
                r.seconds);
    std::printf("  rate      %.0f msg/s, %.2f MB/s\n  lost      %" PRIu64
                " (dropped_queue_full %" PRIu64 ")  reordered %" PRIu64 "\n",
                rate, mb, r.lost, r.dropped_queue_full, r.reordered);
  }
}

Task<absl::Status> DistLoadMain(Self self, DistLoadOptions o) {
  node_services::RegisterServiceMessages();
  dist::NodeOptions node{.name = "load@127.0.0.1:0", .cookie = o.cookie, .tls = o.tls};
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, node));
  absl::StatusOr<DistPeer> peer = co_await FindDistServices(self, o.node);
  SNOW_CO_RETURN_IF_ERROR(peer.status());
  if (o.workload == "W6") {
    const size_t size = o.size > 0 ? o.size : 64;
    absl::StatusOr<RoundTrips> r =
        co_await EchoRoundTrips(self, peer->echo, o.messages > 0 ? o.messages : 100'000, size);
    SNOW_CO_RETURN_IF_ERROR(r.status());
    PrintRoundTrips(o, *r, size);
    co_return absl::OkStatus();
  }
  if (o.workload == "W7c") {
    const size_t size = o.size > 0 ? o.size : size_t{64} << 20;
    absl::StatusOr<LatencyUnderBulk> r = co_await EchoDuringBulk(self, *peer, size, 2000);
    SNOW_CO_RETURN_IF_ERROR(r.status());
    const LatencyHistogram& h = r->during;
    std::printf(
        "snow-load dist W7c%s to %s: echo round trips while %zu B go to the sink\n"
        "  idle      p50 %.1f us\n  during    %" PRIu64
        " round trips  p50 %.1f us  p99 %.1f us  max %.1f us\n  bulk      %.1f ms (the Send call: "
        "%.1f ms)\n",
        o.tls ? " (TLS)" : "", o.node.c_str(), size, Micros(r->idle.Percentile(50)), h.count(),
        Micros(h.Percentile(50)), Micros(h.Percentile(99)), Micros(h.max()), r->bulk_seconds * 1e3,
        r->send_seconds * 1e3);
    co_return absl::OkStatus();
  }
  const bool bulk = o.workload == "W7b";
  StreamPlan plan{.messages = o.messages > 0 ? o.messages : (bulk ? 1'000 : 1'000'000),
                  .payload_bytes = o.size > 0 ? o.size : (bulk ? size_t{1} << 20 : 64),
                  .stream = static_cast<uint64_t>(SteadyNanos()) & ~kMarkerStreamBit,
                  .wait_for_room = bulk};
  absl::StatusOr<StreamResult> r = co_await SinkStream(self, peer->sink, plan);
  SNOW_CO_RETURN_IF_ERROR(r.status());
  PrintStream(o, *r, plan.payload_bytes);
  if (r->lost > 0) co_return absl::DataLossError(absl::StrCat(r->lost, " messages lost"));
  co_return absl::OkStatus();
}

// With an error: on stderr, exit code 2. Without (--help): on stdout, exit code 0.
int DistUsage(const char* error) {
  FILE* out = error == nullptr ? stdout : stderr;
  if (error != nullptr) std::fprintf(out, "snow-load dist: %s\n", error);
  std::fprintf(
      out,
      "usage: snow-load dist --node=NAME@HOST:PORT [--cookie=C] [--workload=W6|W7|W7b|W7c]\n"
      "         [--tls | --no-tls] [--messages=N] [--size=BYTES] [--json]\n"
      "  W6   echo round trips, one at a time (--size 64 B, --messages 100000)\n"
      "  W7   a stream of small messages to the sink, one ack at the end (1000000 x 64 B)\n"
      "  W7b  a stream of large messages to the sink (1000 x 1 MiB)\n"
      "  the node runs snow-node's services; the cookie may come from SNOW_COOKIE\n%s",
      RuntimeOptions::kUsage);
  return error == nullptr ? 0 : 2;
}

}  // namespace

int RunDistLoad(int argc, char** argv) {
  DistLoadOptions o;
  for (int i = 2; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.starts_with("--snow-")) continue;  // RuntimeOptions::FromArgs reads these
    size_t eq = arg.find('=');
    std::string_view key = arg.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? "" : arg.substr(eq + 1);
    bool ok = true;
    if (key == "--node") {
      o.node = std::string(value);
    } else if (key == "--cookie") {
      o.cookie = std::string(value);
    } else if (key == "--workload") {
      o.workload = std::string(value);
      ok = o.workload == "W6" || o.workload == "W7" || o.workload == "W7b" || o.workload == "W7c";
    } else if (key == "--tls") {
      o.tls = true;
    } else if (key == "--no-tls") {
      o.tls = false;
    } else if (key == "--json") {
      o.json = true;
    } else if (key == "--messages") {
      ok = absl::SimpleAtoi(AbslView(value), &o.messages) && o.messages > 0;
    } else if (key == "--size") {
      ok = absl::SimpleAtoi(AbslView(value), &o.size) && o.size > 0 && o.size <= (64u << 20);
    } else if (key == "--help" || key == "-h") {
      return DistUsage(nullptr);
    } else {
      return DistUsage(("unknown argument " + std::string(arg)).c_str());
    }
    if (!ok) return DistUsage(("bad value in " + std::string(arg)).c_str());
  }
  if (o.node.empty()) return DistUsage("--node is required");
  // One shard: the session, the writer and the driver share it (see dist_mode.h).
  RuntimeOptions runtime = RuntimeOptions::FromArgs(argc, argv);
  if (runtime.shards == 0) runtime.shards = 1;
  return Run(runtime, DistLoadMain, std::move(o));
}

}  // namespace snow::load
