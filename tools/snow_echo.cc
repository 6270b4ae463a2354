// snow-echo: an echo server on every shard, plain TCP or TLS.
//
//   snow-echo --listen=127.0.0.1:7000
//   snow-echo --listen=127.0.0.1:7443 --tls                 # ephemeral self-signed certificate
//   snow-echo --listen=0.0.0.0:7443 --tls --cert=c.pem --key=k.pem
//   options: --distribution=reuseport|handoff  --max-connections=N  --idle-timeout=60s
//            --buffer=BYTES  --snow-shards=N ...
//
// Prints "snow-echo listening on ADDRESS" (and, with TLS, the certificate's SHA-256 for
// snow-load --pin) on stdout once it accepts, then serves until SIGINT/SIGTERM.
#include <array>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/numbers.h"
#include "snow/core/snow.h"
#include "snow/net/server.h"
#include "snow/net/tcp.h"
#include "snow/net/tls.h"

namespace {

using snow::Self;
using snow::Task;
namespace net = snow::net;

struct EchoOptions {
  net::SocketAddress listen = net::SocketAddress::Loopback(7000);
  bool tls = false;
  std::string cert_path;
  std::string key_path;
  net::Distribution distribution = net::Distribution::kReusePort;
  uint64_t max_connections = 100'000;
  absl::Duration idle_timeout = absl::Seconds(60);
  size_t buffer = 64 * 1024;
};

// One connection: read what arrived, write it back, until the peer closes. The buffer is this
// actor's, reused for every message.
template <typename Stream>
Task<absl::Status> Echo(Stream* stream, size_t buffer_bytes) {
  std::unique_ptr<char[]> buffer(new char[buffer_bytes]);
  for (;;) {
    absl::StatusOr<size_t> n =
        co_await stream->ReadSome(std::span<char>(buffer.get(), buffer_bytes));
    if (!n.ok()) co_return n.status();
    if (*n == 0) co_return absl::OkStatus();
    absl::Status written = co_await stream->WriteAll(std::span<const char>(buffer.get(), *n));
    if (!written.ok()) co_return written;
  }
}

// A connection's errors (a reset, an idle timeout, a bad handshake) end that connection only;
// the actor ends normally so that nothing is logged as a crash.
Task<absl::Status> PlainConnection(Self, net::TcpStream stream, size_t buffer_bytes) {
  absl::Status ended = co_await Echo(&stream, buffer_bytes);
  (void)ended;
  absl::Status closed = co_await stream.Close();
  (void)closed;
  co_return absl::OkStatus();
}

Task<absl::Status> TlsConnection(Self, net::TcpStream tcp, net::TlsContext context,
                                 size_t buffer_bytes) {
  absl::StatusOr<net::TlsStream> tls = co_await net::TlsStream::Handshake(context, std::move(tcp));
  if (!tls.ok()) co_return absl::OkStatus();
  absl::Status ended = co_await Echo(&*tls, buffer_bytes);
  (void)ended;
  absl::Status closed = co_await tls->Close();
  (void)closed;
  co_return absl::OkStatus();
}

Task<absl::Status> Main(Self self, EchoOptions o) {
  net::ServeOptions serve{
      .listen = {.limit = std::make_shared<net::ConnectionLimit>(o.max_connections),
                 .stream = {.idle_timeout = o.idle_timeout}},
      .distribution = o.distribution};
  std::optional<net::TcpServer> server;
  std::string fingerprint;
  if (o.tls) {
    absl::StatusOr<net::TlsCertificate> cert =
        o.cert_path.empty() ? net::TlsCertificate::GenerateSelfSigned({.common_name = "snow-echo"})
                            : net::TlsCertificate::FromPemFiles(o.cert_path, o.key_path);
    SNOW_CO_RETURN_IF_ERROR(cert.status());
    SNOW_CO_ASSIGN_OR_RETURN(net::Sha256Fingerprint pin, cert->Fingerprint());
    fingerprint = net::FingerprintToHex(pin);
    SNOW_CO_ASSIGN_OR_RETURN(
        net::TlsContext context,
        net::TlsContext::Create({.role = net::TlsRole::kServer, .certificate = *cert}));
    SNOW_CO_ASSIGN_OR_RETURN(
        server, net::TcpServer::Start(self, o.listen, serve, TlsConnection, context, o.buffer));
  } else {
    SNOW_CO_ASSIGN_OR_RETURN(
        server, net::TcpServer::Start(self, o.listen, serve, PlainConnection, o.buffer));
  }
  std::printf("snow-echo listening on %s (%s, %u shards, %s)\n",
              server->address().ToString().c_str(), o.tls ? "TLS" : "plain",
              self.runtime().shard_count(),
              o.distribution == net::Distribution::kReusePort ? "reuseport" : "handoff");
  if (o.tls) std::printf("certificate sha256 %s\n", fingerprint.c_str());
  std::fflush(stdout);
  // Serve until a signal stops the runtime.
  co_await snow::Sleep(absl::InfiniteDuration());
  co_return absl::OkStatus();
}

// With an error: on stderr, exit code 2. Without (--help): on stdout, exit code 0.
int Usage(const std::string& error) {
  FILE* out = error.empty() ? stdout : stderr;
  if (!error.empty()) std::fprintf(out, "snow-echo: %s\n", error.c_str());
  std::fprintf(out,
               "usage: snow-echo [--listen=HOST:PORT] [--tls [--cert=PEM --key=PEM]] "
               "[--distribution=reuseport|handoff]\n"
               "                 [--max-connections=N] [--idle-timeout=60s] [--buffer=BYTES]\n"
               "An echo server: one actor per connection, on every shard.\n%s",
               snow::RuntimeOptions::kUsage);
  return error.empty() ? 0 : 2;
}

}  // namespace

int main(int argc, char** argv) {
  EchoOptions o;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.rfind("--snow-", 0) == 0) continue;
    size_t eq = arg.find('=');
    std::string_view key = arg.substr(0, eq);
    std::string value(eq == std::string_view::npos ? "" : arg.substr(eq + 1));
    bool ok = true;
    if (key == "--help" || key == "-h") return Usage("");
    if (key == "--listen") {
      absl::StatusOr<net::SocketAddress> a = net::SocketAddress::Parse(value);
      ok = a.ok();
      if (ok) o.listen = *a;
    } else if (key == "--tls") {
      o.tls = true;
    } else if (key == "--cert") {
      o.cert_path = value;
    } else if (key == "--key") {
      o.key_path = value;
    } else if (key == "--distribution") {
      ok = value == "reuseport" || value == "handoff";
      o.distribution =
          value == "handoff" ? net::Distribution::kHandOff : net::Distribution::kReusePort;
    } else if (key == "--max-connections") {
      ok = absl::SimpleAtoi(value, &o.max_connections) && o.max_connections > 0;
    } else if (key == "--idle-timeout") {
      ok = absl::ParseDuration(value, &o.idle_timeout);
    } else if (key == "--buffer") {
      ok = absl::SimpleAtoi(value, &o.buffer) && o.buffer >= 512;
    } else {
      return Usage("unknown argument " + std::string(arg));
    }
    if (!ok) return Usage("bad value in " + std::string(arg));
  }
  if (o.tls && o.cert_path.empty() != o.key_path.empty()) return Usage("--cert needs --key");
  return snow::Run(snow::RuntimeOptions::FromArgs(argc, argv), Main, o);
}
