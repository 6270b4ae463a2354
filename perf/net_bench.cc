// net_bench: the net/ figures (docs/benchmarks.md, W6-style, on loopback), each against a floor
// measured in the same run. Prints one line per run and a median line per figure.
//
//   net_bench [--runs=5] [W6 W6c64 W8bulk ACCEPT]
//
//  W6      1 connection, 64 B round trips: snow-load against snow-echo (two processes, one shard
//          each, on different CPUs) vs a blocking-socket ping-pong between two threads pinned
//          the same way. us_per_roundtrip is the p50.
//  W6c64   64 connections, closed loop, same two processes: msgs/s.
//  W8bulk  one TLS 1.3 stream, shard 0 -> shard 1 of one runtime, 256 MiB in 64 KiB writes,
//          ChaCha20-Poly1305 (the default) and AES-128-GCM, vs the cipher floor: wolfCrypt
//          sealing the same bytes as 16 KiB records in one thread (net/tls_aead_speed.h).
//  ACCEPT  connection churn (connect, one 64 B round trip, close) by 32 clients on a 2-shard
//          runtime against TcpServer with SO_REUSEPORT listeners vs one handing off.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "snow/core/snow.h"
#include "snow/net/server.h"
#include "snow/net/tcp.h"
#include "snow/net/tls.h"
#include "snow/net/tls_aead_speed.h"
#include "snow/perf/floors.h"
#include "snow/tools/child_process/child_process.h"

namespace snow::perf {
namespace {

using Clock = std::chrono::steady_clock;

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// ---- Child processes ----

// snow-echo and snow-load run with only one CPU in their affinity mask (so each Snow runtime has
// one shard, pinned to it) and get SIGTERM if still running at the end.
absl::StatusOr<tools::ChildProcess> StartOnCpu(std::vector<std::string> argv, int cpu) {
  return tools::ChildProcess::Start({.argv = std::move(argv), .cpu = cpu, .kill_signal = SIGTERM});
}

double JsonNumber(const std::string& json, const std::string& key) {
  size_t at = json.find("\"" + key + "\":");
  if (at == std::string::npos) return -1;
  return std::strtod(json.c_str() + at + key.size() + 3, nullptr);
}

struct EchoServer {
  tools::ChildProcess child;
  std::string address;
};

// snow-echo on CPU 1, and the address it printed.
absl::StatusOr<EchoServer> StartEcho(bool tls) {
  std::vector<std::string> argv = {SNOW_ECHO_PATH, "--listen=127.0.0.1:0"};
  if (tls) argv.push_back("--tls");
  SNOW_ASSIGN_OR_RETURN(tools::ChildProcess child, StartOnCpu(std::move(argv), 1));
  SNOW_ASSIGN_OR_RETURN(std::string line, child.ReadLine());
  size_t at = line.find("listening on ");
  if (at == std::string::npos) return absl::UnavailableError("snow-echo printed: " + line);
  size_t start = at + 13;
  std::string address = line.substr(start, line.find(' ', start) - start);
  return EchoServer{std::move(child), std::move(address)};
}

// snow-load on CPU 0 against `address`; its JSON report ("" if it could not run).
std::string RunLoad(const std::string& address, std::vector<std::string> extra) {
  std::vector<std::string> argv = {SNOW_LOAD_PATH, "--address=" + address, "--json", "--quiet"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  absl::StatusOr<tools::ChildProcess> load = StartOnCpu(std::move(argv), 0);
  if (!load.ok()) return "";
  return load->ReadAll().value_or("");
}

// ---- W8bulk: TLS bulk between two shards ----

struct BulkResult {
  double mb_per_s = 0;
  absl::Status status;
};
struct BulkDone {
  absl::Status status;
  uint64_t bytes;
};

constexpr size_t kBulkBytes = size_t{256} << 20;

Task<absl::Status> BulkReceiver(Self self, net::TcpListener listener,
                                std::optional<net::TlsContext> tls, Pid main) {
  absl::StatusOr<net::TcpStream> tcp = co_await listener.Accept();
  SNOW_CO_RETURN_IF_ERROR(tcp.status());
  std::vector<char> buffer(64 * 1024);
  uint64_t bytes = 0;
  absl::Status status;
  if (tls.has_value()) {
    absl::StatusOr<net::TlsStream> stream =
        co_await net::TlsStream::Handshake(*tls, std::move(*tcp));
    SNOW_CO_RETURN_IF_ERROR(stream.status());
    for (;;) {
      absl::StatusOr<size_t> n = co_await stream->ReadSome(buffer);
      if (!n.ok() || *n == 0) {
        status = n.status();
        break;
      }
      bytes += *n;
    }
  } else {
    for (;;) {
      absl::StatusOr<size_t> n = co_await tcp->ReadSome(buffer);
      if (!n.ok() || *n == 0) {
        status = n.status();
        break;
      }
      bytes += *n;
    }
  }
  self.Send(main, BulkDone{status, bytes});
  co_return absl::OkStatus();
}

Task<absl::Status> BulkSender(Self self, bool tls, std::string ciphers,
                              std::reference_wrapper<BulkResult> result_ref) {
  BulkResult* result = &result_ref.get();
  SNOW_CO_ASSIGN_OR_RETURN(net::TcpListener listener,
                           net::TcpListener::Bind(net::SocketAddress::Loopback()));
  net::SocketAddress address = listener.local_address();
  std::optional<net::TlsContext> server_tls;
  std::optional<net::TlsContext> client_tls;
  if (tls) {
    SNOW_CO_ASSIGN_OR_RETURN(net::TlsCertificate cert, net::TlsCertificate::GenerateSelfSigned());
    SNOW_CO_ASSIGN_OR_RETURN(
        server_tls, net::TlsContext::Create({.role = net::TlsRole::kServer, .certificate = cert}));
    SNOW_CO_ASSIGN_OR_RETURN(client_tls, net::TlsContext::Create({.cipher_list = ciphers}));
  }
  self.Spawn(SpawnOptions{.placement = Placement::kShard, .shard = 1}, BulkReceiver,
             std::move(listener), server_tls, self.pid());
  absl::StatusOr<net::TcpStream> tcp = co_await net::TcpStream::Connect(address, absl::Seconds(5));
  SNOW_CO_RETURN_IF_ERROR(tcp.status());
  std::vector<char> chunk(64 * 1024, 'b');
  Clock::time_point start;
  if (tls) {
    absl::StatusOr<net::TlsStream> stream =
        co_await net::TlsStream::Handshake(*client_tls, std::move(*tcp));
    SNOW_CO_RETURN_IF_ERROR(stream.status());
    start = Clock::now();
    for (size_t sent = 0; sent < kBulkBytes; sent += chunk.size()) {
      absl::Status written = co_await stream->WriteAll(chunk);
      SNOW_CO_RETURN_IF_ERROR(written);
    }
    absl::Status closed = co_await stream->Close();
    SNOW_CO_RETURN_IF_ERROR(closed);
  } else {
    start = Clock::now();
    for (size_t sent = 0; sent < kBulkBytes; sent += chunk.size()) {
      absl::Status written = co_await tcp->WriteAll(chunk);
      SNOW_CO_RETURN_IF_ERROR(written);
    }
    absl::Status closed = co_await tcp->Close();
    SNOW_CO_RETURN_IF_ERROR(closed);
  }
  BulkDone done = co_await self.Receive<BulkDone>();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (done.bytes != kBulkBytes) {
    co_return absl::DataLossError("received " + std::to_string(done.bytes) + " bytes");
  }
  result->mb_per_s = static_cast<double>(kBulkBytes) / seconds / 1e6;
  co_return absl::OkStatus();
}

RuntimeOptions TwoShards() {
  RuntimeOptions o;
  o.shards = 2;
  return o;
}

double Bulk(bool tls, std::string ciphers) {
  BulkResult result;
  absl::StatusOr<std::unique_ptr<Runtime>> rt = Runtime::Create(TwoShards());
  if (!rt.ok()) return 0;
  (*rt)->SpawnMain(BulkSender, tls, ciphers, std::ref(result));
  absl::Status status = (*rt)->Wait();
  if (!status.ok()) std::fprintf(stderr, "bulk: %s\n", status.ToString().c_str());
  return result.mb_per_s;
}

// ---- ACCEPT: connection churn ----

struct ChurnDone {
  uint64_t connections;
};

Task<absl::Status> OneShotEcho(Self, net::TcpStream stream) {
  char buffer[64];
  absl::Status read = co_await stream.ReadExactly(buffer);
  if (read.ok()) {
    absl::Status written = co_await stream.WriteAll(std::span<const char>(buffer, 64));
    (void)written;
  }
  absl::Status closed = co_await stream.Close();
  (void)closed;
  co_return absl::OkStatus();
}

Task<absl::Status> ChurnClient(Self self, net::SocketAddress address, int64_t until_ns, Pid main) {
  uint64_t n = 0;
  char buffer[64] = {};
  while (Clock::now().time_since_epoch().count() < until_ns) {
    absl::StatusOr<net::TcpStream> s = co_await net::TcpStream::Connect(address, absl::Seconds(5));
    if (!s.ok()) break;
    absl::Status written = co_await s->WriteAll(std::span<const char>(buffer, 64));
    if (!written.ok()) break;
    absl::Status read = co_await s->ReadExactly(buffer);
    if (!read.ok()) break;
    absl::Status closed = co_await s->Close();
    (void)closed;
    ++n;
  }
  self.Send(main, ChurnDone{n});
  co_return absl::OkStatus();
}

Task<absl::Status> Churn(Self self, net::Distribution distribution,
                         std::reference_wrapper<double> per_second_ref) {
  double* per_second = &per_second_ref.get();
  net::ServeOptions options{.distribution = distribution};
  SNOW_CO_ASSIGN_OR_RETURN(
      net::TcpServer server,
      net::TcpServer::Start(self, net::SocketAddress::Loopback(), options, OneShotEcho));
  constexpr int kClients = 32;
  auto start = Clock::now();
  int64_t until = (start + std::chrono::seconds(2)).time_since_epoch().count();
  for (int i = 0; i < kClients; ++i) {
    self.Spawn(SpawnOptions{.placement = Placement::kRoundRobin}, ChurnClient, server.address(),
               until, self.pid());
  }
  uint64_t total = 0;
  for (int i = 0; i < kClients; ++i) {
    ChurnDone d = co_await self.Receive<ChurnDone>();
    total += d.connections;
  }
  *per_second =
      static_cast<double>(total) / std::chrono::duration<double>(Clock::now() - start).count();
  server.Stop();
  co_return absl::OkStatus();
}

double ChurnRate(net::Distribution distribution) {
  double rate = 0;
  absl::StatusOr<std::unique_ptr<Runtime>> rt = Runtime::Create(TwoShards());
  if (!rt.ok()) return 0;
  (*rt)->SpawnMain(Churn, distribution, std::ref(rate));
  absl::Status status = (*rt)->Wait();
  if (!status.ok()) std::fprintf(stderr, "churn: %s\n", status.ToString().c_str());
  return rate;
}

}  // namespace
}  // namespace snow::perf

int main(int argc, char** argv) {
  using namespace snow::perf;
  int runs = 5;
  std::vector<std::string> wanted;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::printf(
          "usage: net_bench [--runs=N] [W6|W6c64|...]\n"
          "Runs snow-echo and snow-load against blocking-socket floors; prints medians of N runs\n"
          "(default 5) on the W lines.\n");
      return 0;
    }
    if (arg.rfind("--runs=", 0) == 0) {
      runs = std::max(1, std::atoi(arg.c_str() + 7));
    } else {
      wanted.push_back(arg);
    }
  }
  auto want = [&](const char* id) {
    return wanted.empty() || std::find(wanted.begin(), wanted.end(), id) != wanted.end();
  };
  signal(SIGPIPE, SIG_IGN);
  std::printf("# net_bench: %d runs per figure; medians on the W lines\n", runs);

  if (want("W6") || want("W6c64")) {
    std::map<std::string, std::vector<double>> v;
    for (int r = 0; r < runs; ++r) {
      PingPongFloor floor = BlockingPingPong(50'000);
      absl::StatusOr<EchoServer> echo = StartEcho(/*tls=*/false);
      if (!echo.ok()) {
        std::fprintf(stderr, "snow-echo: %s\n", echo.status().ToString().c_str());
        return 1;
      }
      std::string one = RunLoad(echo->address, {"--connections=1", "--messages=50000"});
      double p50 = JsonNumber(one, "p50");
      double p99 = JsonNumber(one, "p99");
      std::printf("run %d W6 snow_p50_us=%.1f snow_p99_us=%.1f floor_p50_us=%.1f ratio=%.2f\n", r,
                  p50, p99, floor.p50_us, p50 / floor.p50_us);
      v["p50"].push_back(p50);
      v["p99"].push_back(p99);
      v["floor"].push_back(floor.p50_us);
      v["floor99"].push_back(floor.p99_us);
      v["ratio"].push_back(p50 / floor.p50_us);
      if (want("W6c64")) {
        std::string many = RunLoad(echo->address, {"--connections=64", "--duration=3s"});
        double rate = JsonNumber(many, "msgs_per_s");
        std::printf("run %d W6c64 msgs_per_s=%.0f p99_us=%.1f\n", r, rate, JsonNumber(many, "p99"));
        v["c64"].push_back(rate);
        v["c64p99"].push_back(JsonNumber(many, "p99"));
        v["c64mb"].push_back(JsonNumber(many, "mb_per_s"));
      }
      std::fflush(stdout);
    }
    std::printf(
        "W6 snow us_per_roundtrip=%.1f p99_us=%.1f floor_us=%.1f floor_p99_us=%.1f "
        "ratio=%.2f\n",
        Median(v["p50"]), Median(v["p99"]), Median(v["floor"]), Median(v["floor99"]),
        Median(v["ratio"]));
    if (want("W6c64")) {
      std::printf("W6c64 snow msgs_per_s=%.0f mb_per_s=%.2f p99_us=%.1f\n", Median(v["c64"]),
                  Median(v["c64mb"]), Median(v["c64p99"]));
    }
    std::fflush(stdout);
  }

  if (want("W8bulk")) {
    std::map<std::string, std::vector<double>> v;
    for (int r = 0; r < runs; ++r) {
      double chacha_floor = *snow::net::MeasureAeadBytesPerSecond(
                                snow::net::TlsAead::kChaCha20Poly1305, snow::perf::kBulkBytes) /
                            1e6;
      double aes_floor = *snow::net::MeasureAeadBytesPerSecond(snow::net::TlsAead::kAes128Gcm,
                                                               snow::perf::kBulkBytes) /
                         1e6;
      double chacha = Bulk(true, "TLS13-CHACHA20-POLY1305-SHA256");
      double aes = Bulk(true, "TLS13-AES128-GCM-SHA256");
      double plain = Bulk(false, "");
      std::printf(
          "run %d W8bulk chacha_mb_per_s=%.0f aes128gcm_mb_per_s=%.0f "
          "chacha_floor=%.0f aes128gcm_floor=%.0f plain_tcp_mb_per_s=%.0f\n",
          r, chacha, aes, chacha_floor, aes_floor, plain);
      std::fflush(stdout);
      v["chacha"].push_back(chacha);
      v["aes"].push_back(aes);
      v["chacha_floor"].push_back(chacha_floor);
      v["aes_floor"].push_back(aes_floor);
      v["plain"].push_back(plain);
      v["ratio"].push_back(chacha / chacha_floor);
    }
    std::printf(
        "W8bulk snow mb_per_s=%.0f floor_mb_per_s=%.0f ratio=%.2f aes128gcm_mb_per_s=%.0f "
        "aes128gcm_floor_mb_per_s=%.0f plain_tcp_mb_per_s=%.0f\n",
        Median(v["chacha"]), Median(v["chacha_floor"]), Median(v["ratio"]), Median(v["aes"]),
        Median(v["aes_floor"]), Median(v["plain"]));
    std::fflush(stdout);
  }

  if (want("ACCEPT")) {
    std::vector<double> reuse, handoff;
    for (int r = 0; r < runs; ++r) {
      reuse.push_back(ChurnRate(snow::net::Distribution::kReusePort));
      handoff.push_back(ChurnRate(snow::net::Distribution::kHandOff));
      std::printf("run %d ACCEPT reuseport_conn_per_s=%.0f handoff_conn_per_s=%.0f\n", r,
                  reuse.back(), handoff.back());
      std::fflush(stdout);
    }
    std::printf("ACCEPT snow reuseport_conn_per_s=%.0f handoff_conn_per_s=%.0f\n", Median(reuse),
                Median(handoff));
  }
  return 0;
}
