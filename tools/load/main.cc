// snow-load: Snow's load generator. Runs its client side on Snow's runtime, one shard per core.
//
//   snow-load --address=127.0.0.1:7000 --connections=64 --duration=10s --size=64 --depth=1
//   snow-load --address=127.0.0.1:7000 --rate=50000 --duration=30s      # open loop
//   snow-load --address=127.0.0.1:7000 --messages=100000 --json         # count-limited
//   snow-load --address=127.0.0.1:7443 --tls [--pin=<sha256 hex>]
//   snow-load --mode=http --address=127.0.0.1:8080 --connections=64 --depth=8 --path=/
//   snow-load --mode=ws --address=127.0.0.1:8081 --connections=64 --size=32
//   snow-load --mode=ws-broadcast --address=127.0.0.1:8081 --connections=257 --size=64
//   snow-load dist --node=b@127.0.0.1:4371 --cookie=C --workload=W6|W7|W7b [--no-tls] [--json]
//
// Prints a progress line every second on stderr (rate, p99, errors) and a final report on stdout
// (or one JSON object with --json). Exit status: 0 when every round trip succeeded, 1 when any
// error was counted, 2 for bad arguments.
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "snow/core/snow.h"
#include "snow/tools/load/dist_mode.h"
#include "snow/tools/load/load.h"

namespace snow::load {

void ShardStats::RecordError(const absl::Status& status) {
  ++errors;
  ++error_kinds[absl::StatusCodeToString(status.code())];
}

net::TcpOptions ConnectionTcpOptions(const LoadOptions& options, uint32_t index) {
  net::TcpOptions tcp;
  if (options.source_spread > 0) {
    const uint32_t host = 2 + index % options.source_spread;  // 127.0.0.2 onwards
    tcp.source =
        net::SocketAddress::Parse(absl::StrCat("127.0.", host / 256, ".", host % 256, ":0"))
            .value();
  }
  return tcp;
}

Pacing::Pacing(const LoadOptions& options, const ConnectionPlan& plan, int64_t start)
    : start_ns(start),
      deadline_ns(start + absl::ToInt64Nanoseconds(options.duration)),
      open_loop(options.rate > 0),
      interval_ns(open_loop ? static_cast<int64_t>(1e9 * options.connections / options.rate) : 0),
      budget(plan.messages > 0 ? plan.messages
             : open_loop ? static_cast<uint64_t>(absl::ToDoubleSeconds(options.duration) * 1e9 /
                                                 static_cast<double>(interval_ns))
                         : 0) {}

bool Pacing::MaySend(uint64_t sent) const {
  return budget > 0 ? sent < budget : SteadyNanos() < deadline_ns;
}

std::span<const Mode> Modes() {
  static const Mode kModes[] = {
      {"echo", "send messages of --size bytes and wait for the same bytes back (plain or --tls)",
       RunEchoConnection},
      {"http",
       "HTTP/1.1 requests to --path (default /) with --method (GET; POST and PUT send --size "
       "bytes), keep-alive, --depth pipelined",
       RunHttpConnection},
      {"ws",
       "WebSocket echo of binary messages of --size bytes (16 at least) on --path (default /echo)",
       RunWsConnection},
      {"ws-broadcast",
       "connection 0 publishes --size byte messages into a room at --path (default "
       "/room/bench), the others subscribe; counts deliveries, latency publish to delivery",
       RunWsBroadcastConnection},
  };
  return kModes;
}

namespace {

// ---- Per-shard reporters ----

struct SnapshotRequest {
  Pid from;
  bool final;
};
struct Snapshot {
  LatencyHistogram histogram;
  uint64_t messages = 0;
  uint64_t errors = 0;
  std::map<std::string, uint64_t> error_kinds;
};
struct StopReporter {};

Task<absl::Status> Reporter(Self self, std::shared_ptr<StatsTable> table) {
  ShardStats& stats = table->on(self.shard());
  for (;;) {
    std::variant<SnapshotRequest, StopReporter> m =
        co_await self.Receive<SnapshotRequest, StopReporter>();
    if (std::holds_alternative<StopReporter>(m)) co_return absl::OkStatus();
    const SnapshotRequest& request = std::get<SnapshotRequest>(m);
    Snapshot s;
    if (request.final) {
      s.histogram = stats.total;
      s.messages = stats.messages;
    } else {
      s.histogram = stats.interval;
      s.messages = stats.interval_messages;
      stats.interval.Reset();
      stats.interval_messages = 0;
    }
    s.errors = stats.errors;
    s.error_kinds = stats.error_kinds;
    self.Send(request.from, std::move(s));
  }
}

Task<Snapshot> Collect(Self self, std::vector<Pid> reporters, bool final) {
  for (Pid r : reporters) self.Send(r, SnapshotRequest{self.pid(), final});
  Snapshot merged;
  for (size_t i = 0; i < reporters.size(); ++i) {
    Snapshot s = co_await self.Receive<Snapshot>();
    merged.histogram.Merge(s.histogram);
    merged.messages += s.messages;
    merged.errors += s.errors;
    for (const auto& [kind, n] : s.error_kinds) merged.error_kinds[kind] += n;
  }
  co_return merged;
}

double Micros(uint64_t nanos) { return static_cast<double>(nanos) / 1000.0; }

void PrintReport(const LoadOptions& o, const Snapshot& s, double seconds, uint32_t shards) {
  double rate = seconds > 0 ? static_cast<double>(s.messages) / seconds : 0;
  double mb = seconds > 0
                  ? static_cast<double>(s.messages) * static_cast<double>(o.size) / seconds / 1e6
                  : 0;
  const LatencyHistogram& h = s.histogram;
  if (o.json) {
    std::string errors;
    for (const auto& [kind, n] : s.error_kinds) {
      absl::StrAppend(&errors, errors.empty() ? "" : ",", "\"", kind, "\":", n);
    }
    std::printf(
        "{\"mode\":\"%s\",\"tls\":%s,\"connections\":%u,\"size\":%zu,\"depth\":%u,"
        "\"rate\":%.1f,\"shards\":%u,\"seconds\":%.6f,\"messages\":%" PRIu64
        ",\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f,\"latency_us\":{\"p50\":%.2f,\"p90\":%.2f,"
        "\"p99\":%.2f,\"p999\":%.2f,\"max\":%.2f},\"errors\":%" PRIu64 ",\"error_kinds\":{%s}}\n",
        o.mode.c_str(), o.tls ? "true" : "false", o.connections, o.size, o.depth, o.rate, shards,
        seconds, s.messages, rate, mb, Micros(h.Percentile(50)), Micros(h.Percentile(90)),
        Micros(h.Percentile(99)), Micros(h.Percentile(99.9)), Micros(h.max()), s.errors,
        errors.c_str());
  } else {
    std::printf("snow-load %s%s: %u connections, %zu B messages, %s, %u shards, %.2f s\n",
                o.mode.c_str(), o.tls ? " (TLS)" : "", o.connections, o.size,
                o.rate > 0 ? absl::StrCat("open loop at ", o.rate, " msg/s").c_str()
                           : absl::StrCat("closed loop, depth ", o.depth).c_str(),
                shards, seconds);
    std::printf("  messages  %" PRIu64 "\n  rate      %.0f msg/s, %.2f MB/s\n", s.messages, rate,
                mb);
    std::printf("  latency   p50 %.1f us  p90 %.1f us  p99 %.1f us  p99.9 %.1f us  max %.1f us\n",
                Micros(h.Percentile(50)), Micros(h.Percentile(90)), Micros(h.Percentile(99)),
                Micros(h.Percentile(99.9)), Micros(h.max()));
    std::printf("  errors    %" PRIu64, s.errors);
    for (const auto& [kind, n] : s.error_kinds) std::printf("  %s: %" PRIu64, kind.c_str(), n);
    std::printf("\n");
  }
  std::fflush(stdout);
}

Task<absl::Status> Main(Self self, std::shared_ptr<const LoadOptions> options) {
  const LoadOptions& o = *options;
  const Mode* mode = nullptr;
  for (const Mode& m : Modes()) {
    if (o.mode == m.name) mode = &m;
  }
  if (mode == nullptr) co_return absl::InvalidArgumentError("unknown mode " + o.mode);
  uint32_t shards = self.runtime().shard_count();
  auto table = std::make_shared<StatsTable>(shards);
  std::vector<Pid> reporters;
  for (uint32_t i = 0; i < shards; ++i) {
    reporters.push_back(
        self.Spawn(SpawnOptions{.placement = Placement::kShard, .shard = static_cast<ShardId>(i)},
                   Reporter, table));
  }
  ConnectionPlan plan{.options = options, .stats = table, .main = self.pid()};
  if (o.tls) {
    net::TlsOptions tls;
    if (!o.pin.empty()) {
      SNOW_CO_ASSIGN_OR_RETURN(net::Sha256Fingerprint pin, net::ParseFingerprint(o.pin));
      tls.verify = net::TlsVerify::kPinnedSha256;
      tls.pinned.push_back(pin);
    }
    SNOW_CO_ASSIGN_OR_RETURN(net::TlsContext context, net::TlsContext::Create(tls));
    plan.tls = context;
  }
  for (uint32_t i = 0; i < o.connections; ++i) {
    plan.index = i;
    plan.messages =
        o.messages == 0 ? 0 : o.messages / o.connections + (i < o.messages % o.connections);
    self.Spawn(SpawnOptions{.placement = Placement::kRoundRobin}, mode->run, plan);
  }
  // Roll call: every connection is open (or failed), then all start at once.
  std::vector<Pid> ready;
  while (ready.size() < o.connections) {
    absl::StatusOr<Ready> r = co_await self.ReceiveFor<Ready>(o.io_timeout + absl::Seconds(5));
    if (!r.ok()) co_return absl::DeadlineExceededError("connections did not open in time");
    ready.push_back(r->connection);
  }
  int64_t start = SteadyNanos();
  for (Pid p : ready) self.Send(p, Go{start});
  uint32_t done = 0;
  int64_t next_tick = start + 1'000'000'000;
  while (done < o.connections) {
    int64_t wait = std::max<int64_t>(0, next_tick - SteadyNanos());
    absl::StatusOr<ConnectionDone> d = co_await self.ReceiveFor<ConnectionDone>(
        o.progress ? absl::Nanoseconds(wait) : absl::InfiniteDuration());
    if (d.ok()) {
      ++done;
      continue;
    }
    Snapshot s = co_await Collect(self, reporters, /*final=*/false);
    double elapsed = static_cast<double>(SteadyNanos() - start) / 1e9;
    std::fprintf(stderr, "[%6.1fs] %10.0f msg/s  p99 %8.1f us  errors %" PRIu64 "  done %u/%u\n",
                 elapsed, static_cast<double>(s.messages), Micros(s.histogram.Percentile(99)),
                 s.errors, done, o.connections);
    next_tick += 1'000'000'000;
  }
  double seconds = static_cast<double>(SteadyNanos() - start) / 1e9;
  Snapshot total = co_await Collect(self, reporters, /*final=*/true);
  for (Pid r : reporters) self.Send(r, StopReporter{});
  PrintReport(o, total, seconds, shards);
  if (total.errors > 0) {
    co_return absl::UnavailableError(absl::StrCat(total.errors, " connection errors"));
  }
  co_return absl::OkStatus();
}

bool ParseDuration(std::string_view text, absl::Duration* out) {
  return absl::ParseDuration(AbslView(text), out) && *out > absl::ZeroDuration();
}

// With an error: on stderr, exit code 2. Without (--help): on stdout, exit code 0.
int Usage(const char* error) {
  FILE* out = error == nullptr ? stdout : stderr;
  if (error != nullptr) std::fprintf(out, "snow-load: %s\n", error);
  std::fprintf(
      out,
      "usage: snow-load --address=HOST:PORT [--mode=MODE] [--tls] [--pin=HEX]\n"
      "         [--path=/TARGET] [--method=GET] [--deflate] [--source-spread=N]\n"
      "         [--connections=N] [--duration=10s | --messages=N] [--size=BYTES]\n"
      "         [--depth=N | --rate=MSGS_PER_S] [--timeout=10s] [--json] [--quiet]\n"
      "         [--snow-shards=N ...]\n"
      "       snow-load dist --node=NAME@HOST:PORT --workload=W6|W7|W7b ... (dist --help)\n"
      "modes:\n");
  for (const Mode& m : Modes()) std::fprintf(out, "  %-12s %s\n", m.name, m.what);
  std::fprintf(out, "%s", RuntimeOptions::kUsage);
  return error == nullptr ? 0 : 2;
}

}  // namespace
}  // namespace snow::load

int main(int argc, char** argv) {
  // dist talks to a Snow node, not to a socket: its own options and driver (dist_mode.h).
  if (argc > 1 && std::strcmp(argv[1], "dist") == 0) return snow::load::RunDistLoad(argc, argv);
  using snow::load::LoadOptions;
  auto options = std::make_shared<LoadOptions>();
  bool have_address = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.rfind("--snow-", 0) == 0) continue;  // RuntimeOptions::FromArgs reads these
    size_t eq = arg.find('=');
    std::string_view key = arg.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? "" : arg.substr(eq + 1);
    bool ok = true;
    uint64_t n = 0;
    if (key == "--address") {
      absl::StatusOr<snow::net::SocketAddress> a = snow::net::SocketAddress::Parse(value);
      ok = a.ok();
      if (ok) options->address = *a;
      have_address = ok;
    } else if (key == "--mode") {
      options->mode = std::string(value);
    } else if (key == "--path") {
      options->path = std::string(value);
      ok = options->path.starts_with("/");
    } else if (key == "--method") {
      options->method = std::string(value);
      ok = !options->method.empty();
    } else if (key == "--source-spread") {
      ok = absl::SimpleAtoi(snow::AbslView(value), &n) && n > 0 && n <= 65000;
      options->source_spread = static_cast<uint32_t>(n);
    } else if (key == "--deflate") {
      options->deflate = true;
    } else if (key == "--tls") {
      options->tls = true;
    } else if (key == "--pin") {
      options->pin = std::string(value);
    } else if (key == "--connections") {
      ok = absl::SimpleAtoi(snow::AbslView(value), &n) && n > 0;
      options->connections = static_cast<uint32_t>(n);
    } else if (key == "--duration") {
      ok = snow::load::ParseDuration(value, &options->duration);
    } else if (key == "--timeout") {
      ok = snow::load::ParseDuration(value, &options->io_timeout);
    } else if (key == "--messages") {
      ok = absl::SimpleAtoi(snow::AbslView(value), &options->messages);
    } else if (key == "--size") {
      ok = absl::SimpleAtoi(snow::AbslView(value), &n) && n > 0 && n <= (64u << 20);
      options->size = n;
    } else if (key == "--depth") {
      ok = absl::SimpleAtoi(snow::AbslView(value), &n) && n > 0 && n <= 4096;
      options->depth = static_cast<uint32_t>(n);
    } else if (key == "--rate") {
      ok = absl::SimpleAtod(snow::AbslView(value), &options->rate) && options->rate > 0;
    } else if (key == "--json") {
      options->json = true;
    } else if (key == "--quiet") {
      options->progress = false;
    } else if (key == "--help" || key == "-h") {
      return snow::load::Usage(nullptr);
    } else {
      return snow::load::Usage(("unknown argument " + std::string(arg)).c_str());
    }
    if (!ok) return snow::load::Usage(("bad value in " + std::string(arg)).c_str());
  }
  if (!have_address) return snow::load::Usage("--address is required");
  if (options->path.empty()) {
    options->path = options->mode == "ws"             ? "/echo"
                    : options->mode == "ws-broadcast" ? "/room/bench"
                                                      : "/";
  }
  if (options->mode == "ws-broadcast" && options->connections < 2) {
    return snow::load::Usage("ws-broadcast needs a publisher and a subscriber: --connections=2+");
  }
  if (options->messages > 0 && options->messages < options->connections) {
    options->connections = static_cast<uint32_t>(options->messages);
  }
  std::shared_ptr<const LoadOptions> frozen = options;
  return snow::Run(snow::RuntimeOptions::FromArgs(argc, argv), snow::load::Main, frozen);
}
