// A man in the middle that relays a node's connection to another node. Through a plain TCP relay
// (nodes without TLS) the nodes connect: the relay is faithful. A relay that terminates TLS on
// each side and forwards the decrypted bytes unchanged fails the cookie handshake, because each
// node's proof is bound to its own TLS channel (the exporter differs on the two sessions).
// NodeOptions::connect_via makes the test node dial the relay when it connects to Y's name.
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "snow/net/tcp.h"
#include "snow/net/tls.h"
#include "snow/test/dist/dist_testing.h"

namespace snow::dist_testing {
namespace {

using ::snow::testing::IsOk;
using ::snow::testing::StatusIs;

constexpr absl::Duration kIdle = absl::Seconds(30);

// One side of the relay: TLS terminated here, or plain TCP.
struct Leg {
  net::TcpStream tcp;
  std::optional<net::TlsStream> tls;

  Task<absl::StatusOr<size_t>> Read(std::span<char> buffer) {
    if (tls) co_return co_await tls->ReadSome(buffer, kIdle);
    co_return co_await tcp.ReadSome(buffer, kIdle);
  }
  Task<absl::Status> Write(std::span<const char> data) {
    if (tls) co_return co_await tls->WriteAll(data, kIdle);
    co_return co_await tcp.WriteAll(data, kIdle);
  }
  Task<absl::Status> Shutdown() {
    if (tls) co_return co_await tls->Shutdown();
    co_return co_await tcp.Shutdown();
  }
};

struct Relay {
  bool tls = false;
  std::shared_ptr<net::TcpListener> listener;
  net::SocketAddress target;
  Leg client;  // the node that dialed the relay
  Leg server;  // the node the relay dialed
  std::atomic<uint64_t> client_to_server{0};
  std::atomic<uint64_t> server_to_client{0};
  std::atomic<bool> spliced{false};  // both legs are up (and, with TLS, both handshakes done)
};

// Copies bytes one way until the source ends, then ends that direction on the other leg.
Task<absl::Status> Pump(Self, std::shared_ptr<Relay> relay, bool client_to_server) {
  Leg& from = client_to_server ? relay->client : relay->server;
  Leg& to = client_to_server ? relay->server : relay->client;
  std::atomic<uint64_t>& count =
      client_to_server ? relay->client_to_server : relay->server_to_client;
  std::string buffer(16 * 1024, '\0');
  for (;;) {
    absl::StatusOr<size_t> n = co_await from.Read(std::span<char>(buffer));
    if (!n.ok() || *n == 0) break;
    std::span<const char> data(buffer.data(), *n);
    if (!(co_await to.Write(data)).ok()) break;
    count.fetch_add(*n);
  }
  absl::Status ignored = co_await to.Shutdown();
  (void)ignored;
  co_return absl::OkStatus();
}

// Accepts one connection, dials the target, terminates TLS on both (with its own certificate)
// if the relay does TLS, and splices them.
Task<absl::Status> RunRelay(Self self, std::shared_ptr<Relay> relay) {
  SNOW_CO_ASSIGN_OR_RETURN(net::TcpStream accepted, co_await relay->listener->Accept(kIdle));
  SNOW_CO_ASSIGN_OR_RETURN(net::TcpStream dialed,
                           co_await net::TcpStream::Connect(relay->target, kIdle));
  if (relay->tls) {
    SNOW_CO_ASSIGN_OR_RETURN(net::TlsCertificate certificate,
                             net::TlsCertificate::GenerateSelfSigned());
    net::TlsOptions server_options{.role = net::TlsRole::kServer, .certificate = certificate};
    net::TlsOptions client_options{.role = net::TlsRole::kClient};
    SNOW_CO_ASSIGN_OR_RETURN(net::TlsContext as_server, net::TlsContext::Create(server_options));
    SNOW_CO_ASSIGN_OR_RETURN(net::TlsContext as_client, net::TlsContext::Create(client_options));
    SNOW_CO_ASSIGN_OR_RETURN(net::TlsStream client_tls,
                             co_await net::TlsStream::Handshake(as_server, std::move(accepted)));
    SNOW_CO_ASSIGN_OR_RETURN(net::TlsStream server_tls,
                             co_await net::TlsStream::Handshake(as_client, std::move(dialed)));
    relay->client.tls.emplace(std::move(client_tls));
    relay->server.tls.emplace(std::move(server_tls));
  } else {
    relay->client.tcp = std::move(accepted);
    relay->server.tcp = std::move(dialed);
  }
  relay->spliced.store(true);
  self.Spawn(Pump, relay, true);
  self.Spawn(Pump, relay, false);
  co_return absl::OkStatus();
}

Task<absl::Status> ConnectThroughRelay(Self self, std::reference_wrapper<NodeProcess> y_ref,
                                       bool tls) {
  NodeProcess* y = &y_ref.get();
  auto relay = std::make_shared<Relay>();
  relay->tls = tls;
  SNOW_CO_ASSIGN_OR_RETURN(relay->target,
                           net::SocketAddress::Parse(y->name().substr(y->name().find('@') + 1)));
  SNOW_CO_ASSIGN_OR_RETURN(net::TcpListener listener,
                           net::TcpListener::Bind(net::SocketAddress::Loopback(0)));
  relay->listener = std::make_shared<net::TcpListener>(std::move(listener));

  dist::NodeOptions options = TestNodeOptions();
  options.tls = tls;
  options.connect_via[y->name()] =
      absl::StrCat("127.0.0.1:", relay->listener->local_address().port());
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, options));
  self.Spawn(RunRelay, relay);

  absl::Status connected = co_await dist::Connect(self, y->name());
  // Whatever the outcome, it came through the relay, which carried bytes both ways.
  EXPECT_TRUE(relay->spliced.load());
  EXPECT_GT(relay->client_to_server.load(), 0u);
  EXPECT_GT(relay->server_to_client.load(), 0u);
  if (tls) {
    // The dialler's cookie was right: the error must not say it was wrong, only that it may be.
    EXPECT_THAT(connected,
                StatusIs(absl::StatusCode::kUnauthenticated, "a different cookie, or a relay"));
    EXPECT_TRUE(dist::Nodes(self).empty());
  } else {
    EXPECT_THAT(connected, IsOk());
    absl::StatusOr<Pid> echo = co_await EchoNamed(self, y->name(), 1);
    EXPECT_THAT(echo, IsOk());
  }
  co_return absl::OkStatus();
}

TEST(DistMitmTest, PlainTcpRelayIsFaithful) {
  NodeProcess y = StartChild({.name = "y@127.0.0.1:0", .tls = false});
  EXPECT_THAT(RunAsNode(ConnectThroughRelay, std::ref(y), false), IsOk());
}

TEST(DistMitmTest, TlsTerminatingRelayFailsAuthentication) {
  NodeProcess y = StartChild({.name = "y@127.0.0.1:0"});
  EXPECT_THAT(RunAsNode(ConnectThroughRelay, std::ref(y), true), IsOk());
  EXPECT_TRUE(Alive(y));
}

}  // namespace
}  // namespace snow::dist_testing
