#include "snow/net/tls.h"

#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "snow/core/snow.h"
#include "snow/net/tcp.h"
#include "snow/net/tls_aead_speed.h"
#include "snow/test/testing/co_test.h"

namespace snow::net {
namespace {

using ::snow::testing::IsOk;
using ::snow::testing::RealRuntimeOptions;
using ::snow::testing::RunOnTestRuntime;
using ::snow::testing::StatusIs;
using ::testing::HasSubstr;

constexpr absl::Duration kTimeout = absl::Seconds(10);

// ---- Certificates ----

TEST(TlsCertificateTest, SelfSignedCertificatesAreFreshAndFingerprintable) {
  absl::StatusOr<TlsCertificate> a = TlsCertificate::GenerateSelfSigned({.common_name = "node-a"});
  absl::StatusOr<TlsCertificate> b = TlsCertificate::GenerateSelfSigned();
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_THAT(a->certificate_pem, HasSubstr("-----BEGIN CERTIFICATE-----"));
  EXPECT_THAT(a->private_key_pem, HasSubstr("PRIVATE KEY-----"));
  absl::StatusOr<Sha256Fingerprint> fa = a->Fingerprint();
  absl::StatusOr<Sha256Fingerprint> fb = b->Fingerprint();
  ASSERT_THAT(fa, IsOk());
  ASSERT_THAT(fb, IsOk());
  EXPECT_NE(*fa, *fb);
  EXPECT_EQ(*a->Fingerprint(), *fa);
  std::string hex = FingerprintToHex(*fa);
  EXPECT_EQ(hex.size(), 64u);
  EXPECT_EQ(*ParseFingerprint(hex), *fa);
  EXPECT_THAT(ParseFingerprint("abc"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseFingerprint(std::string(64, 'g')), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(TlsCertificateTest, LoadsPemFiles) {
  absl::StatusOr<TlsCertificate> cert = TlsCertificate::GenerateSelfSigned();
  ASSERT_THAT(cert, IsOk());
  std::string dir = ::testing::TempDir();
  std::string cert_path = dir + "/snow_tls_test_cert.pem";
  std::string key_path = dir + "/snow_tls_test_key.pem";
  std::ofstream(cert_path) << cert->certificate_pem;
  std::ofstream(key_path) << cert->private_key_pem;
  absl::StatusOr<TlsCertificate> loaded = TlsCertificate::FromPemFiles(cert_path, key_path);
  ASSERT_THAT(loaded, IsOk());
  EXPECT_EQ(*loaded->Fingerprint(), *cert->Fingerprint());
  EXPECT_THAT(TlsContext::Create({.role = TlsRole::kServer, .certificate = *loaded}), IsOk());
  EXPECT_THAT(TlsCertificate::FromPemFiles(dir + "/does-not-exist.pem", key_path),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(TlsCertificate::FromPemFiles(key_path, key_path),
              StatusIs(absl::StatusCode::kInvalidArgument));
  std::remove(cert_path.c_str());
  std::remove(key_path.c_str());
}

TEST(TlsContextTest, RejectsBadConfiguration) {
  absl::StatusOr<TlsCertificate> cert = TlsCertificate::GenerateSelfSigned();
  absl::StatusOr<TlsCertificate> other = TlsCertificate::GenerateSelfSigned();
  ASSERT_THAT(cert, IsOk());
  ASSERT_THAT(other, IsOk());
  EXPECT_THAT(TlsContext::Create({.role = TlsRole::kServer}),
              StatusIs(absl::StatusCode::kInvalidArgument, "certificate"));
  EXPECT_THAT(TlsContext::Create({.verify = TlsVerify::kCa}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(TlsContext::Create({.verify = TlsVerify::kPinnedSha256}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(TlsContext::Create({.cipher_list = "NOT-A-CIPHER"}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// ---- A TLS echo server whose connection actors report to the test ----

struct HandshakeDone {
  absl::Status status;
  std::string exporter;  // 32 bytes of "snow test" keying material
  std::string peer_fingerprint;
};
struct EchoEnded {
  absl::Status status;
};

Task<absl::Status> TlsEchoConnection(Self self, TlsContext context, TcpStream tcp, Pid report) {
  absl::StatusOr<TlsStream> tls = co_await TlsStream::Handshake(context, std::move(tcp));
  if (!tls.ok()) {
    self.Send(report, HandshakeDone{tls.status(), "", ""});
    co_return absl::OkStatus();
  }
  absl::StatusOr<std::string> exported = tls->ExportKeyingMaterial("snow test", "ctx", 32);
  absl::StatusOr<Sha256Fingerprint> peer = tls->peer_fingerprint();
  self.Send(report, HandshakeDone{exported.status(), exported.ok() ? *exported : "",
                                  peer.ok() ? FingerprintToHex(*peer) : ""});
  std::array<char, 8192> buffer;
  absl::Status ended;
  for (;;) {
    absl::StatusOr<size_t> n = co_await tls->ReadSome(buffer);
    if (!n.ok()) {
      ended = n.status();
      break;
    }
    if (*n == 0) break;  // close_notify
    absl::Status written = co_await tls->WriteAll(std::span<const char>(buffer.data(), *n));
    if (!written.ok()) {
      ended = written;
      break;
    }
  }
  self.Send(report, EchoEnded{ended});
  absl::Status closed = co_await tls->Close();
  co_return closed;
}

Task<absl::Status> TlsAcceptLoop(Self self, TcpListener listener, TlsContext context, Pid report) {
  for (;;) {
    absl::StatusOr<TcpStream> tcp = co_await listener.Accept();
    if (!tcp.ok()) co_return tcp.status();
    self.Spawn(SpawnOptions{.placement = Placement::kRoundRobin}, TlsEchoConnection, context,
               std::move(*tcp), report);
  }
}

struct Pki {
  TlsCertificate server;
  TlsCertificate client;
  TlsCertificate stranger;
};

Pki MakePki() {
  return Pki{*TlsCertificate::GenerateSelfSigned({.common_name = "server"}),
             *TlsCertificate::GenerateSelfSigned({.common_name = "client"}),
             *TlsCertificate::GenerateSelfSigned({.common_name = "stranger"})};
}

// Starts a TLS echo server with `server_options`; returns its address.
absl::StatusOr<SocketAddress> StartServer(Self self, TlsOptions server_options) {
  SNOW_ASSIGN_OR_RETURN(TlsContext context, TlsContext::Create(std::move(server_options)));
  SNOW_ASSIGN_OR_RETURN(TcpListener listener, TcpListener::Bind(SocketAddress::Loopback()));
  SocketAddress address = listener.local_address();
  self.Spawn(TlsAcceptLoop, std::move(listener), context, self.pid());
  return address;
}

Task<absl::StatusOr<TlsStream>> ConnectTls(SocketAddress address, TlsOptions client_options) {
  SNOW_CO_ASSIGN_OR_RETURN(TlsContext context, TlsContext::Create(std::move(client_options)));
  absl::StatusOr<TcpStream> tcp = co_await TcpStream::Connect(address, kTimeout);
  SNOW_CO_RETURN_IF_ERROR(tcp.status());
  absl::StatusOr<TlsStream> tls = co_await TlsStream::Handshake(context, std::move(*tcp));
  co_return tls;
}

Task<absl::Status> TlsRoundTrip(TlsStream& tls, std::string message) {
  absl::Status written = co_await tls.WriteAll(message);
  SNOW_CO_RETURN_IF_ERROR(written);
  std::string back(message.size(), '\0');
  absl::Status read = co_await tls.ReadExactly(back, kTimeout);
  SNOW_CO_RETURN_IF_ERROR(read);
  if (back != message) co_return absl::DataLossError("the echo differs");
  co_return absl::OkStatus();
}

Task<absl::Status> EchoesOverTls(Self self, Pki pki) {
  Sha256Fingerprint server_pin = *pki.server.Fingerprint();
  SNOW_CO_ASSIGN_OR_RETURN(SocketAddress address, StartServer(self, {.role = TlsRole::kServer,
                                                                     .certificate = pki.server}));
  // Options go in a named local: g++ 12 rejects a braced temporary holding a std::array inside a
  // co_await expression ("array used as initializer").
  TlsOptions client{.verify = TlsVerify::kPinnedSha256, .pinned = {server_pin}};
  absl::StatusOr<TlsStream> tls = co_await ConnectTls(address, client);
  SNOW_CO_RETURN_IF_ERROR(tls.status());
  EXPECT_EQ(tls->version(), "TLSv1.3");
  EXPECT_THAT(tls->cipher_suite(), HasSubstr("CHACHA20-POLY1305"));
  EXPECT_EQ(*tls->peer_fingerprint(), server_pin);
  absl::StatusOr<HandshakeDone> server_side = co_await self.ReceiveFor<HandshakeDone>(kTimeout);
  SNOW_CO_RETURN_IF_ERROR(server_side.status());
  EXPECT_THAT(server_side->status, IsOk());

  absl::Status small = co_await TlsRoundTrip(*tls, "hello over TLS");
  EXPECT_THAT(small, IsOk());
  // Larger than a record and than the 32 KiB buffers: many records, partial reads.
  std::string big(1 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 + 7);
  absl::Status large = co_await TlsRoundTrip(*tls, big);
  EXPECT_THAT(large, IsOk());

  absl::Status closed = co_await tls->Close();  // close_notify: the server reads end of stream
  EXPECT_THAT(closed, IsOk());
  absl::StatusOr<EchoEnded> ended = co_await self.ReceiveFor<EchoEnded>(kTimeout);
  SNOW_CO_RETURN_IF_ERROR(ended.status());
  EXPECT_THAT(ended->status, IsOk());
  co_return absl::OkStatus();
}

TEST(TlsTest, EchoRoundTrip) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(2), EchoesOverTls, MakePki()), IsOk());
}

Task<absl::Status> ExportsEqualKeyingMaterial(Self self, Pki pki) {
  SNOW_CO_ASSIGN_OR_RETURN(SocketAddress address, StartServer(self, {.role = TlsRole::kServer,
                                                                     .certificate = pki.server}));
  TlsOptions client;  // a named local, not a braced temporary in a co_await (docs/pitfalls.md)
  absl::StatusOr<TlsStream> tls = co_await ConnectTls(address, client);
  SNOW_CO_RETURN_IF_ERROR(tls.status());
  absl::StatusOr<HandshakeDone> server_side = co_await self.ReceiveFor<HandshakeDone>(kTimeout);
  SNOW_CO_RETURN_IF_ERROR(server_side.status());
  SNOW_CO_RETURN_IF_ERROR(server_side->status);
  absl::StatusOr<std::string> mine = tls->ExportKeyingMaterial("snow test", "ctx", 32);
  SNOW_CO_RETURN_IF_ERROR(mine.status());
  EXPECT_EQ(mine->size(), 32u);
  EXPECT_EQ(*mine, server_side->exporter);
  // Another label or context gives other bytes.
  EXPECT_NE(*tls->ExportKeyingMaterial("snow other", "ctx", 32), *mine);
  EXPECT_NE(*tls->ExportKeyingMaterial("snow test", "ctx2", 32), *mine);
  // A second connection has its own secrets.
  absl::StatusOr<TlsStream> second = co_await ConnectTls(address, client);
  SNOW_CO_RETURN_IF_ERROR(second.status());
  EXPECT_NE(*second->ExportKeyingMaterial("snow test", "ctx", 32), *mine);
  co_return absl::OkStatus();
}

TEST(TlsTest, ExporterGivesEqualKeyingMaterialOnBothEnds) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(2), ExportsEqualKeyingMaterial, MakePki()),
              IsOk());
}

Task<absl::Status> VerifiesWithTheRightCa(Self self, Pki pki) {
  SNOW_CO_ASSIGN_OR_RETURN(SocketAddress address, StartServer(self, {.role = TlsRole::kServer,
                                                                     .certificate = pki.server}));
  TlsOptions client{
      .verify = TlsVerify::kCa, .ca_pem = pki.server.certificate_pem, .server_name = "server"};
  absl::StatusOr<TlsStream> tls = co_await ConnectTls(address, client);
  SNOW_CO_RETURN_IF_ERROR(tls.status());
  absl::Status trip = co_await TlsRoundTrip(*tls, "trusted");
  co_return trip;
}

TEST(TlsTest, CaVerificationAcceptsATrustedServer) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(1), VerifiesWithTheRightCa, MakePki()), IsOk());
}

// The client rejects the server: the client's handshake fails with kUnauthenticated, and the
// server's too, from the client's alert.
Task<absl::Status> RejectedOnBothSides(Self self, TlsOptions server_options,
                                       TlsOptions client_options, std::string client_reason) {
  SNOW_CO_ASSIGN_OR_RETURN(SocketAddress address, StartServer(self, std::move(server_options)));
  absl::StatusOr<TlsStream> tls = co_await ConnectTls(address, client_options);
  EXPECT_THAT(tls, StatusIs(absl::StatusCode::kUnauthenticated, client_reason));
  absl::StatusOr<HandshakeDone> server_side = co_await self.ReceiveFor<HandshakeDone>(kTimeout);
  SNOW_CO_RETURN_IF_ERROR(server_side.status());
  EXPECT_THAT(server_side->status, StatusIs(absl::StatusCode::kUnauthenticated));
  co_return absl::OkStatus();
}

TEST(TlsTest, WrongCaFailsCleanlyOnBothSides) {
  Pki pki = MakePki();
  EXPECT_THAT(
      RunOnTestRuntime(RealRuntimeOptions(1), RejectedOnBothSides,
                       TlsOptions{.role = TlsRole::kServer, .certificate = pki.server},
                       TlsOptions{.verify = TlsVerify::kCa, .ca_pem = pki.stranger.certificate_pem},
                       std::string("rejected")),
      IsOk());
}

// A certificate issued by a CA (GenerateSignedBy) is verified against that CA, and the URI
// names it carries reach the peer; one issued by another CA is refused.
Task<absl::Status> VerifiesAnIssuedCertificate(Self self, TlsCertificate ca,
                                               TlsCertificate issued) {
  SNOW_CO_ASSIGN_OR_RETURN(SocketAddress address,
                           StartServer(self, {.role = TlsRole::kServer, .certificate = issued}));
  TlsOptions client{.verify = TlsVerify::kCa, .ca_pem = ca.certificate_pem};
  absl::StatusOr<TlsStream> tls = co_await ConnectTls(address, client);
  SNOW_CO_RETURN_IF_ERROR(tls.status());
  EXPECT_THAT(tls->peer_alternative_names(),
              ::testing::ElementsAre("snow://a@10.0.0.1:4370", "urn:example:second"));
  absl::Status echoed = co_await TlsRoundTrip(*tls, "issued");
  EXPECT_THAT(echoed, IsOk());
  co_return co_await tls->Close();
}

TEST(TlsCertificateTest, ACertificateSignedByACaIsVerifiedAndCarriesItsNames) {
  absl::StatusOr<TlsCertificate> ca = TlsCertificate::GenerateSelfSigned({.common_name = "ca"});
  ASSERT_THAT(ca, IsOk());
  absl::StatusOr<TlsCertificate> issued = TlsCertificate::GenerateSignedBy(
      *ca, {.common_name = "a", .uri_names = {"snow://a@10.0.0.1:4370", "urn:example:second"}});
  ASSERT_THAT(issued, IsOk());
  absl::StatusOr<std::vector<std::string>> names = issued->AlternativeNames();
  ASSERT_THAT(names, IsOk());
  EXPECT_THAT(*names, ::testing::ElementsAre("snow://a@10.0.0.1:4370", "urn:example:second"));
  absl::StatusOr<std::vector<std::string>> ca_names = ca->AlternativeNames();
  ASSERT_THAT(ca_names, IsOk());
  EXPECT_THAT(*ca_names, ::testing::IsEmpty());
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(1), VerifiesAnIssuedCertificate, *ca, *issued),
              IsOk());

  absl::StatusOr<TlsCertificate> other_ca =
      TlsCertificate::GenerateSelfSigned({.common_name = "x"});
  ASSERT_THAT(other_ca, IsOk());
  absl::StatusOr<TlsCertificate> foreign = TlsCertificate::GenerateSignedBy(*other_ca, {});
  ASSERT_THAT(foreign, IsOk());
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(1), RejectedOnBothSides,
                               TlsOptions{.role = TlsRole::kServer, .certificate = *foreign},
                               TlsOptions{.verify = TlsVerify::kCa, .ca_pem = ca->certificate_pem},
                               std::string("rejected")),
              IsOk());
  // The issuer must be an Ed25519 certificate and key.
  EXPECT_THAT(TlsCertificate::GenerateSignedBy(TlsCertificate{"junk", "junk"}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(TlsTest, WrongPinFailsCleanlyOnBothSides) {
  Pki pki = MakePki();
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(1), RejectedOnBothSides,
                               TlsOptions{.role = TlsRole::kServer, .certificate = pki.server},
                               TlsOptions{.verify = TlsVerify::kPinnedSha256,
                                          .pinned = {*pki.stranger.Fingerprint()}},
                               std::string("not pinned")),
              IsOk());
}

// Mutual pinning: the server pins the client's certificate.
Task<absl::Status> PinsTheClient(Self self, Pki pki) {
  SNOW_CO_ASSIGN_OR_RETURN(SocketAddress address,
                           StartServer(self, {.role = TlsRole::kServer,
                                              .certificate = pki.server,
                                              .verify = TlsVerify::kPinnedSha256,
                                              .pinned = {*pki.client.Fingerprint()}}));
  TlsOptions client{.certificate = pki.client,
                    .verify = TlsVerify::kPinnedSha256,
                    .pinned = {*pki.server.Fingerprint()}};
  absl::StatusOr<TlsStream> good = co_await ConnectTls(address, client);
  SNOW_CO_RETURN_IF_ERROR(good.status());
  absl::Status trip = co_await TlsRoundTrip(*good, "mutual");
  EXPECT_THAT(trip, IsOk());
  absl::StatusOr<HandshakeDone> accepted = co_await self.ReceiveFor<HandshakeDone>(kTimeout);
  SNOW_CO_RETURN_IF_ERROR(accepted.status());
  EXPECT_THAT(accepted->status, IsOk());
  EXPECT_EQ(accepted->peer_fingerprint, FingerprintToHex(*pki.client.Fingerprint()));

  // A stranger's certificate is refused by the server. In TLS 1.3 the client's handshake ends
  // before the server has judged its certificate, so the client learns it on its first read.
  TlsOptions stranger{.certificate = pki.stranger};
  absl::StatusOr<TlsStream> bad = co_await ConnectTls(address, stranger);
  absl::StatusOr<HandshakeDone> refused = co_await self.ReceiveFor<HandshakeDone>(kTimeout);
  SNOW_CO_RETURN_IF_ERROR(refused.status());
  EXPECT_THAT(refused->status, StatusIs(absl::StatusCode::kUnauthenticated, "not pinned"));
  if (bad.ok()) {
    std::array<char, 16> buffer;
    absl::StatusOr<size_t> n = co_await bad->ReadSome(buffer, kTimeout);
    EXPECT_THAT(n, StatusIs(absl::StatusCode::kUnauthenticated));
  }
  co_return absl::OkStatus();
}

TEST(TlsTest, ServerPinsClientCertificates) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(1), PinsTheClient, MakePki()), IsOk());
}

// ---- Hostile and silent peers ----

Task<absl::Status> GarbageClosesOnlyItsConnection(Self self, Pki pki) {
  SNOW_CO_ASSIGN_OR_RETURN(SocketAddress address, StartServer(self, {.role = TlsRole::kServer,
                                                                     .certificate = pki.server}));
  TlsOptions client;
  absl::StatusOr<TlsStream> good = co_await ConnectTls(address, client);
  SNOW_CO_RETURN_IF_ERROR(good.status());
  absl::StatusOr<HandshakeDone> good_done = co_await self.ReceiveFor<HandshakeDone>(kTimeout);
  SNOW_CO_RETURN_IF_ERROR(good_done.status());
  SNOW_CO_RETURN_IF_ERROR(good_done->status);

  absl::StatusOr<TcpStream> garbage = co_await TcpStream::Connect(address, kTimeout);
  SNOW_CO_RETURN_IF_ERROR(garbage.status());
  std::string junk = "GET / HTTP/1.1\r\nHost: x\r\n\r\n" + std::string(200, '\x17');
  absl::Status sent = co_await garbage->WriteAll(junk);
  SNOW_CO_RETURN_IF_ERROR(sent);
  absl::StatusOr<HandshakeDone> bad_done = co_await self.ReceiveFor<HandshakeDone>(kTimeout);
  SNOW_CO_RETURN_IF_ERROR(bad_done.status());
  EXPECT_THAT(bad_done->status, StatusIs(absl::StatusCode::kDataLoss, "not valid TLS"));
  // The server closed that connection (after an alert, perhaps): we read to its end.
  std::array<char, 256> buffer;
  for (;;) {
    absl::StatusOr<size_t> n = co_await garbage->ReadSome(buffer, kTimeout);
    if (!n.ok() || *n == 0) break;
  }
  // The good connection is untouched.
  absl::Status trip = co_await TlsRoundTrip(*good, "still fine");
  EXPECT_THAT(trip, IsOk());
  co_return absl::OkStatus();
}

TEST(TlsTest, GarbageToATlsListenerClosesOnlyThatConnection) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(2), GarbageClosesOnlyItsConnection, MakePki()),
              IsOk());
}

Task<absl::Status> SilentClientTimesOut(Self self, Pki pki) {
  SNOW_CO_ASSIGN_OR_RETURN(SocketAddress address,
                           StartServer(self, {.role = TlsRole::kServer,
                                              .certificate = pki.server,
                                              .handshake_timeout = absl::Milliseconds(50)}));
  absl::StatusOr<TcpStream> silent = co_await TcpStream::Connect(address, kTimeout);
  SNOW_CO_RETURN_IF_ERROR(silent.status());
  absl::StatusOr<HandshakeDone> done = co_await self.ReceiveFor<HandshakeDone>(kTimeout);
  SNOW_CO_RETURN_IF_ERROR(done.status());
  EXPECT_THAT(done->status, StatusIs(absl::StatusCode::kDeadlineExceeded, "TLS handshake"));
  std::array<char, 16> buffer;
  absl::StatusOr<size_t> n = co_await silent->ReadSome(buffer, kTimeout);
  EXPECT_THAT(n, IsOk());
  EXPECT_EQ(n.value_or(1), 0u);  // closed by the server
  co_return absl::OkStatus();
}

TEST(TlsTest, HandshakeTimeoutClosesASilentConnection) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(1), SilentClientTimesOut, MakePki()), IsOk());
}

// ---- Closing ----

Task<absl::Status> HalfCloseServer(Self self, TcpListener listener, TlsContext context, Pid main) {
  absl::StatusOr<TcpStream> tcp = co_await listener.Accept();
  SNOW_CO_RETURN_IF_ERROR(tcp.status());
  absl::StatusOr<TlsStream> tls = co_await TlsStream::Handshake(context, std::move(*tcp));
  SNOW_CO_RETURN_IF_ERROR(tls.status());
  std::string received;
  std::array<char, 64> buffer;
  for (;;) {
    absl::StatusOr<size_t> n = co_await tls->ReadSome(buffer, kTimeout);
    SNOW_CO_RETURN_IF_ERROR(n.status());
    if (*n == 0) break;  // the client's close_notify
    received.append(buffer.data(), *n);
  }
  absl::Status written = co_await tls->WriteAll(std::string("got " + received));
  SNOW_CO_RETURN_IF_ERROR(written);
  absl::Status closed = co_await tls->Close();
  self.Send(main, EchoEnded{closed});
  co_return closed;
}

Task<absl::Status> HalfClosesTls(Self self, Pki pki) {
  SNOW_CO_ASSIGN_OR_RETURN(
      TlsContext server, TlsContext::Create({.role = TlsRole::kServer, .certificate = pki.server}));
  SNOW_CO_ASSIGN_OR_RETURN(TcpListener listener, TcpListener::Bind(SocketAddress::Loopback()));
  SocketAddress address = listener.local_address();
  self.Spawn(HalfCloseServer, std::move(listener), server, self.pid());
  TlsOptions client;  // a named local, not a braced temporary in a co_await (docs/pitfalls.md)
  absl::StatusOr<TlsStream> tls = co_await ConnectTls(address, client);
  SNOW_CO_RETURN_IF_ERROR(tls.status());
  absl::Status written = co_await tls->WriteAll(std::string("question"));
  SNOW_CO_RETURN_IF_ERROR(written);
  absl::Status shut = co_await tls->Shutdown();
  EXPECT_THAT(shut, IsOk());
  absl::Status after = co_await tls->WriteAll(std::string("more"));
  EXPECT_THAT(after, StatusIs(absl::StatusCode::kFailedPrecondition));
  std::string answer;
  std::array<char, 64> buffer;
  for (;;) {
    absl::StatusOr<size_t> n = co_await tls->ReadSome(buffer, kTimeout);
    SNOW_CO_RETURN_IF_ERROR(n.status());
    if (*n == 0) break;
    answer.append(buffer.data(), *n);
  }
  EXPECT_EQ(answer, "got question");
  absl::StatusOr<EchoEnded> ended = co_await self.ReceiveFor<EchoEnded>(kTimeout);
  SNOW_CO_RETURN_IF_ERROR(ended.status());
  EXPECT_THAT(ended->status, IsOk());
  absl::Status closed = co_await tls->Close();
  EXPECT_THAT(closed, IsOk());
  co_return absl::OkStatus();
}

TEST(TlsTest, HalfCloseWithCloseNotify) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(1), HalfClosesTls, MakePki()), IsOk());
}

Task<absl::Status> TruncationIsReported(Self self, Pki pki) {
  SNOW_CO_ASSIGN_OR_RETURN(SocketAddress address, StartServer(self, {.role = TlsRole::kServer,
                                                                     .certificate = pki.server}));
  TlsOptions client;  // a named local, not a braced temporary in a co_await (docs/pitfalls.md)
  absl::StatusOr<TlsStream> tls = co_await ConnectTls(address, client);
  SNOW_CO_RETURN_IF_ERROR(tls.status());
  absl::StatusOr<HandshakeDone> done = co_await self.ReceiveFor<HandshakeDone>(kTimeout);
  SNOW_CO_RETURN_IF_ERROR(done.status());
  // End the TCP stream under TLS: a FIN, no close_notify.
  absl::Status closed = co_await tls->tcp().Shutdown();
  SNOW_CO_RETURN_IF_ERROR(closed);
  absl::StatusOr<EchoEnded> ended = co_await self.ReceiveFor<EchoEnded>(kTimeout);
  SNOW_CO_RETURN_IF_ERROR(ended.status());
  EXPECT_THAT(ended->status, StatusIs(absl::StatusCode::kUnavailable, "without close_notify"));
  co_return absl::OkStatus();
}

TEST(TlsTest, ConnectionClosedWithoutCloseNotifyIsAnError) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(1), TruncationIsReported, MakePki()), IsOk());
}

// Starts a TLS echo server, connects to it and waits until the server has seen the handshake.
Task<absl::StatusOr<TlsStream>> ConnectToEchoServer(Self self, Pki pki) {
  SNOW_CO_ASSIGN_OR_RETURN(SocketAddress address, StartServer(self, {.role = TlsRole::kServer,
                                                                     .certificate = pki.server}));
  TlsOptions client;  // a named local: no braced temporaries in a co_await statement
  absl::StatusOr<TlsStream> tls = co_await ConnectTls(address, client);
  SNOW_CO_RETURN_IF_ERROR(tls.status());
  absl::StatusOr<HandshakeDone> done = co_await self.ReceiveFor<HandshakeDone>(kTimeout);
  SNOW_CO_RETURN_IF_ERROR(done.status());
  co_return tls;
}

// ---- Closing while another coroutine reads or writes ----

struct ReadEnded {
  absl::StatusOr<size_t> result;
};
struct WriteEnded {
  absl::Status status;
};
struct Go {};

// ---- A stream destroyed without Close ----

struct Holding {};

// Connects, then waits for a message that never comes, until it is killed.
Task<absl::Status> HoldsATlsStream(Self self, SocketAddress address, Pid main) {
  TlsOptions client;
  absl::StatusOr<TlsStream> tls = co_await ConnectTls(address, client);
  SNOW_CO_RETURN_IF_ERROR(tls.status());
  self.Send(main, Holding{});
  co_await self.Receive<Go>();
  co_return absl::OkStatus();
}

// A killed actor never reaches Close; its stream still ends with close_notify, so the peer sees
// an orderly end of stream, not a truncation.
Task<absl::Status> KilledHolderEndsTheStreamInOrder(Self self, Pki pki) {
  SNOW_CO_ASSIGN_OR_RETURN(SocketAddress address, StartServer(self, {.role = TlsRole::kServer,
                                                                     .certificate = pki.server}));
  Pid holder = self.Spawn(HoldsATlsStream, address, self.pid());
  absl::StatusOr<HandshakeDone> done = co_await self.ReceiveFor<HandshakeDone>(kTimeout);
  SNOW_CO_RETURN_IF_ERROR(done.status());
  absl::StatusOr<Holding> holding = co_await self.ReceiveFor<Holding>(kTimeout);
  SNOW_CO_RETURN_IF_ERROR(holding.status());
  self.SendExit(holder, KillReason());
  absl::StatusOr<EchoEnded> ended = co_await self.ReceiveFor<EchoEnded>(kTimeout);
  SNOW_CO_RETURN_IF_ERROR(ended.status());
  EXPECT_THAT(ended->status, IsOk());  // the server read 0: close_notify
  co_return absl::OkStatus();
}

TEST(TlsTest, AStreamDestroyedWithoutCloseStillSendsCloseNotify) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(1), KilledHolderEndsTheStreamInOrder, MakePki()),
              IsOk());
}

Task<absl::Status> ReadOnce(Self self, std::reference_wrapper<TlsStream> tls_ref, Pid report) {
  TlsStream* tls = &tls_ref.get();
  std::array<char, 256> buffer;
  absl::StatusOr<size_t> n = co_await tls->ReadSome(buffer, kTimeout);
  self.Send(report, ReadEnded{n});
  co_return absl::OkStatus();
}

Task<absl::Status> WriteLots(Self self, std::reference_wrapper<TlsStream> tls_ref, Pid report) {
  TlsStream* tls = &tls_ref.get();
  std::string lots(32 << 20, 'x');                      // far more than the socket buffers hold
  absl::Status written = co_await tls->WriteAll(lots);  // no deadline: only Close ends it
  self.Send(report, WriteEnded{written});
  co_return absl::OkStatus();
}

// The echo server sends its close_notify once it reads ours: that completes the reader's recv,
// which must not land in a freed session (ASan: heap-use-after-free in TlsSession::Fill).
Task<absl::Status> ClosesUnderAReader(Self self, Pki pki) {
  absl::StatusOr<TlsStream> tls = co_await ConnectToEchoServer(self, pki);
  SNOW_CO_RETURN_IF_ERROR(tls.status());
  // One shard: the reader runs until its recv is in the kernel before Spawn returns.
  self.Spawn(ReadOnce, std::ref(*tls), self.pid());
  absl::Status closed = co_await tls->Close();
  EXPECT_THAT(closed, IsOk());
  absl::StatusOr<ReadEnded> read = co_await self.ReceiveFor<ReadEnded>(kTimeout);
  SNOW_CO_RETURN_IF_ERROR(read.status());
  EXPECT_THAT(read->result, StatusIs(absl::StatusCode::kCancelled));
  absl::StatusOr<EchoEnded> ended = co_await self.ReceiveFor<EchoEnded>(kTimeout);
  SNOW_CO_RETURN_IF_ERROR(ended.status());
  EXPECT_THAT(ended->status, IsOk());  // the server read our close_notify
  std::array<char, 16> buffer;
  EXPECT_THAT(co_await tls->ReadSome(buffer, kTimeout),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  co_return absl::OkStatus();
}

TEST(TlsTest, CloseWhileAnotherCoroutineReadsEndsThatReadWithCancelled) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(1), ClosesUnderAReader, MakePki()), IsOk());
}

// Completes a handshake, then holds the connection without reading.
Task<absl::Status> StalledServer(Self self, TcpListener listener, TlsContext context, Pid main) {
  absl::StatusOr<TcpStream> tcp = co_await listener.Accept();
  SNOW_CO_RETURN_IF_ERROR(tcp.status());
  absl::StatusOr<TlsStream> tls = co_await TlsStream::Handshake(context, std::move(*tcp));
  self.Send(main, HandshakeDone{tls.status(), "", ""});
  SNOW_CO_RETURN_IF_ERROR(tls.status());
  (void)co_await self.Receive<Go>();
  co_return absl::OkStatus();
}

// A TLS connection to `server_fn` (given the listener) with 4 KiB socket buffers on the way
// (the client's send buffer, the server's receive buffer), so that a writer soon blocks in its
// send while the server does not read.
struct SmallBufferedTls {
  TlsStream tls;
  Pid server;
};
using TlsServerFn = Task<absl::Status> (*)(Self, TcpListener, TlsContext, Pid);

Task<absl::StatusOr<SmallBufferedTls>> ConnectWithSmallBuffers(Self self, Pki pki,
                                                               TlsServerFn server_fn) {
  SNOW_CO_ASSIGN_OR_RETURN(
      TlsContext server, TlsContext::Create({.role = TlsRole::kServer, .certificate = pki.server}));
  ListenOptions listen;
  listen.stream.receive_buffer_bytes = 4096;
  SNOW_CO_ASSIGN_OR_RETURN(TcpListener listener,
                           TcpListener::Bind(SocketAddress::Loopback(), listen));
  SocketAddress address = listener.local_address();
  Pid peer = self.Spawn(server_fn, std::move(listener), server, self.pid());
  SNOW_CO_ASSIGN_OR_RETURN(TlsContext client, TlsContext::Create({}));
  TcpOptions small;
  small.send_buffer_bytes = 4096;
  absl::StatusOr<TcpStream> tcp = co_await TcpStream::Connect(address, kTimeout, small);
  SNOW_CO_RETURN_IF_ERROR(tcp.status());
  absl::StatusOr<TlsStream> tls = co_await TlsStream::Handshake(client, std::move(*tcp));
  SNOW_CO_RETURN_IF_ERROR(tls.status());
  absl::StatusOr<HandshakeDone> done = co_await self.ReceiveFor<HandshakeDone>(kTimeout);
  SNOW_CO_RETURN_IF_ERROR(done.status());
  SNOW_CO_RETURN_IF_ERROR(done->status);
  co_return SmallBufferedTls{std::move(*tls), peer};
}

// A writer blocked in its send (the peer does not read, and small socket buffers hold less
// than one of the writer's flushes) when Close runs: Close gives up on the close_notify after
// its timeout, and the writer must end instead of waiting on a freed session.
Task<absl::Status> ClosesUnderAWriter(Self self, Pki pki) {
  absl::StatusOr<SmallBufferedTls> connected =
      co_await ConnectWithSmallBuffers(self, pki, StalledServer);
  SNOW_CO_RETURN_IF_ERROR(connected.status());
  Pid stalled = connected->server;
  absl::StatusOr<TlsStream> tls = std::move(connected->tls);
  self.Spawn(WriteLots, std::ref(*tls), self.pid());
  absl::Status closed = co_await tls->Close();
  EXPECT_FALSE(closed.ok()) << "close_notify cannot have gone out behind bytes nobody reads";
  absl::StatusOr<WriteEnded> written = co_await self.ReceiveFor<WriteEnded>(kTimeout);
  EXPECT_THAT(written, IsOk()) << "the writer never ended";
  if (written.ok()) {
    EXPECT_THAT(written->status, StatusIs(absl::StatusCode::kCancelled));
  }
  self.Send(stalled, Go{});
  co_return absl::OkStatus();
}

TEST(TlsTest, CloseWhileAnotherCoroutineIsBlockedWritingEndsThatWriteWithCancelled) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(1), ClosesUnderAWriter, MakePki()), IsOk());
}

// A writer between records when Close runs stops there: the close_notify follows its last
// record, and Close succeeds.
Task<absl::Status> ClosesBetweenAWritersRecords(Self self, Pki pki) {
  absl::StatusOr<TlsStream> tls = co_await ConnectToEchoServer(self, pki);
  SNOW_CO_RETURN_IF_ERROR(tls.status());
  self.Spawn(WriteLots, std::ref(*tls), self.pid());
  absl::Status closed = co_await tls->Close();
  EXPECT_THAT(closed, IsOk());
  absl::StatusOr<WriteEnded> written = co_await self.ReceiveFor<WriteEnded>(kTimeout);
  EXPECT_THAT(written, IsOk()) << "the writer never ended";
  if (written.ok()) {
    EXPECT_THAT(written->status, StatusIs(absl::StatusCode::kCancelled));
  }
  co_return absl::OkStatus();
}

TEST(TlsTest, CloseWhileAnotherCoroutineWritesStopsThatWriteBetweenRecords) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(1), ClosesBetweenAWritersRecords, MakePki()),
              IsOk());
}

// Completes a handshake, holds the connection without reading until Go, then reads to the end
// and reports how the stream ended.
Task<absl::Status> StallThenDrain(Self self, TcpListener listener, TlsContext context, Pid main) {
  absl::StatusOr<TcpStream> tcp = co_await listener.Accept();
  SNOW_CO_RETURN_IF_ERROR(tcp.status());
  absl::StatusOr<TlsStream> tls = co_await TlsStream::Handshake(context, std::move(*tcp));
  self.Send(main, HandshakeDone{tls.status(), "", ""});
  SNOW_CO_RETURN_IF_ERROR(tls.status());
  (void)co_await self.Receive<Go>();
  std::string buffer(64 * 1024, '\0');
  absl::Status ended;
  for (;;) {
    absl::StatusOr<size_t> n = co_await tls->ReadSome(buffer, kTimeout);
    if (!n.ok()) {
      ended = n.status();
      break;
    }
    if (*n == 0) break;
  }
  self.Send(main, EchoEnded{ended});
  co_return absl::OkStatus();
}

// A writer killed while its send is in the kernel may have sent part of a record. The stream
// cannot go on after that: a later write must not send those bytes again (the peer would read
// a corrupt record).
Task<absl::Status> KillsAWriterMidRecord(Self self, Pki pki) {
  absl::StatusOr<SmallBufferedTls> connected =
      co_await ConnectWithSmallBuffers(self, pki, StallThenDrain);
  SNOW_CO_RETURN_IF_ERROR(connected.status());
  Pid peer = connected->server;
  absl::StatusOr<TlsStream> tls = std::move(connected->tls);

  Pid writer = self.Spawn(WriteLots, std::ref(*tls), self.pid());
  Ref watch = self.Monitor(writer);
  // Until the kernel holds some of the writer's bytes (they cannot all go: nobody reads).
  absl::Time give_up = absl::Now() + kTimeout;
  int queued = 0;
  while ((ioctl(tls->tcp().fd(), SIOCOUTQ, &queued) != 0 || queued == 0) && absl::Now() < give_up) {
    co_await Sleep(absl::Milliseconds(1));
  }
  SNOW_CO_ASSERT(queued > 0);
  self.SendExit(writer, absl::AbortedError("killed mid-write"));
  auto is_watch = [watch](const Down& d) { return d.ref == watch; };
  SNOW_CO_RETURN_IF_ERROR((co_await self.ReceiveFor<Down>(kTimeout, is_watch)).status());

  self.Send(peer, Go{});
  absl::Status again = co_await tls->WriteAll(std::string("after"), kTimeout);
  EXPECT_THAT(again, StatusIs(absl::StatusCode::kAborted));
  absl::Status closed = co_await tls->Close();
  (void)closed;
  absl::StatusOr<EchoEnded> ended = co_await self.ReceiveFor<EchoEnded>(kTimeout);
  SNOW_CO_RETURN_IF_ERROR(ended.status());
  EXPECT_NE(ended->status.code(), absl::StatusCode::kDataLoss)
      << "the peer read a corrupt record: " << ended->status;
  co_return absl::OkStatus();
}

TEST(TlsTest, AWriterKilledMidRecordEndsTheStreamInsteadOfResendingBytes) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(1), KillsAWriterMidRecord, MakePki()), IsOk());
}

// Runtime shutdown destroys TLS readers blocked in their recv (checked under ASan).
Task<absl::Status> EndsWhileTlsReadersBlock(Self self, Pki pki) {
  SNOW_CO_ASSIGN_OR_RETURN(SocketAddress address, StartServer(self, {.role = TlsRole::kServer,
                                                                     .certificate = pki.server}));
  TlsOptions client;  // a named local, not a braced temporary in a co_await (docs/pitfalls.md)
  absl::StatusOr<TlsStream> tls = co_await ConnectTls(address, client);
  SNOW_CO_RETURN_IF_ERROR(tls.status());
  absl::StatusOr<HandshakeDone> done = co_await self.ReceiveFor<HandshakeDone>(kTimeout);
  SNOW_CO_RETURN_IF_ERROR(done.status());
  // The server's actor sent HandshakeDone and went straight on to its ReadSome: returning now
  // destroys it there.
  co_return absl::OkStatus();
}

TEST(TlsTest, ShutdownDestroysBlockedTlsReaders) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(2), EndsWhileTlsReadersBlock, MakePki()), IsOk());
}

TEST(TlsAeadSpeedTest, SealsRecordsOfAnyTlsSizeAndRefusesOthers) {
  for (TlsAead aead : {TlsAead::kChaCha20Poly1305, TlsAead::kAes128Gcm}) {
    for (size_t record : {size_t{1}, size_t{148}, size_t{16384}}) {
      absl::StatusOr<double> bps = MeasureAeadBytesPerSecond(aead, 64 << 10, record);
      ASSERT_THAT(bps, IsOk()) << record;
      EXPECT_GT(*bps, 0) << record;
    }
  }
  EXPECT_EQ(MeasureAeadBytesPerSecond(TlsAead::kChaCha20Poly1305, 1 << 20, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MeasureAeadBytesPerSecond(TlsAead::kChaCha20Poly1305, 1 << 20, 16385).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace snow::net
