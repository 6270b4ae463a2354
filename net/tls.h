// File: net/tls.h
//
// TLS over Snow's TCP streams, with wolfSSL driven by coroutines: wolfSSL never touches the
// socket. Its I/O callbacks only copy between wolfSSL and two fixed buffers per connection; the
// stream's coroutines move those buffers to and from the socket with io_uring, and wolfSSL's
// WANT_READ / WANT_WRITE answers tell them when.
//
//   // A node with no PKI: an ephemeral certificate, peers pinned by fingerprint.
//   SNOW_ASSIGN_OR_RETURN(net::TlsCertificate cert, net::TlsCertificate::GenerateSelfSigned());
//   SNOW_ASSIGN_OR_RETURN(net::TlsContext server,
//       net::TlsContext::Create({.role = net::TlsRole::kServer, .certificate = cert}));
//   ...
//   absl::StatusOr<net::TcpStream> tcp = co_await listener.Accept();
//   absl::StatusOr<net::TlsStream> tls = co_await net::TlsStream::Handshake(server,
//   std::move(*tcp)); absl::StatusOr<size_t> n = co_await tls->ReadSome(buffer);       // 0: the
//   peer's close_notify absl::Status sent = co_await tls->WriteAll(reply); absl::Status closed =
//   co_await tls->Close();                      // close_notify, then close
//
// Defaults: TLS 1.3 only; cipher suites in the order ChaCha20-Poly1305, AES-128-GCM, AES-256-GCM
// (measured: Debian's wolfSSL has no AES-NI, and ChaCha20-Poly1305 is ~2x faster here; see
// ARCHITECTURE.md); a 10 s handshake timeout; 64 KiB of buffer per direction per connection.
//
// Shard affinity, cancellation: as TcpStream (net/tcp.h). A stream may move to another shard
// between operations; one coroutine may read while another writes. A write whose coroutine is
// destroyed while its send is in the kernel may have sent part of a record: the stream is dead
// after that (later operations fail with kAborted) rather than resend and corrupt it.
//
// Errors: the TCP errors (kUnavailable, kDeadlineExceeded...), and kUnauthenticated when a
// certificate is rejected by this side or by the peer (a certificate alert), kDataLoss when the
// peer's bytes are not TLS or fail their integrity check, kUnavailable when the connection ends
// without close_notify, kInvalidArgument for bad configuration (PEM, cipher list).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "snow/core/task.h"
#include "snow/net/internal/awaitables.h"
#include "snow/net/tcp.h"

namespace snow::net_internal {
class TlsContextImpl;
class TlsSession;
}  // namespace snow::net_internal

namespace snow::net {

// SHA-256 of a certificate's DER encoding.
using Sha256Fingerprint = std::array<uint8_t, 32>;
// 64 lowercase hex digits.
std::string FingerprintToHex(const Sha256Fingerprint& fingerprint);
// 64 hex digits, optionally separated by ':'; kInvalidArgument otherwise.
absl::StatusOr<Sha256Fingerprint> ParseFingerprint(std::string_view text);

// A certificate chain (leaf first) and its private key, in PEM.
struct TlsCertificate {
  std::string certificate_pem;
  std::string private_key_pem;

  static absl::StatusOr<TlsCertificate> FromPemFiles(std::string certificate_path,
                                                     std::string private_key_path);

  struct GenerateOptions {
    std::string common_name = "snow";
    int days_valid = 365;
    // Subject alternative names of type URI, e.g. "snow://a@10.0.0.1:4370" (what dist/ binds a
    // node's name to: dist::CertificateName).
    std::vector<std::string> uri_names = {};
  };
  // A fresh Ed25519 key and a self-signed certificate for it (marked as a CA so that it can also
  // serve as its own trust anchor in TlsVerify::kCa). For nodes without PKI: peers verify it by
  // pinning its fingerprint. Ed25519 because a TLS handshake with it costs a quarter of one with
  // ECDSA P-256 in Debian's wolfSSL (no P-256-specific code there).
  static absl::StatusOr<TlsCertificate> GenerateSelfSigned(GenerateOptions options);
  static absl::StatusOr<TlsCertificate> GenerateSelfSigned() { return GenerateSelfSigned({}); }
  // A fresh Ed25519 key and a certificate for it (not a CA) signed by `issuer`, an Ed25519
  // certificate and key such as GenerateSelfSigned makes: a small PKI, for a private cluster or
  // a test, without openssl.
  static absl::StatusOr<TlsCertificate> GenerateSignedBy(const TlsCertificate& issuer,
                                                         GenerateOptions options);

  // The leaf certificate's subject alternative names (DNS names, URIs, ...), as text;
  // kInvalidArgument if the PEM does not parse.
  absl::StatusOr<std::vector<std::string>> AlternativeNames() const;
  // SHA-256 of the leaf certificate's DER; kInvalidArgument if the PEM does not parse.
  absl::StatusOr<Sha256Fingerprint> Fingerprint() const;
};

enum class TlsRole : uint8_t { kClient, kServer };

enum class TlsVerify : uint8_t {
  kNone,          // accept any peer certificate (or none): encryption without authentication
  kCa,            // the peer's chain must lead to a CA of TlsOptions::ca_pem / ca_file
  kPinnedSha256,  // the peer's leaf certificate must have one of TlsOptions::pinned
};

enum class TlsVersion : uint8_t { kTls12, kTls13 };

struct TlsOptions {
  TlsRole role = TlsRole::kClient;
  // Required for a server; for a client, sent when the server asks (mutual TLS).
  std::optional<TlsCertificate> certificate = std::nullopt;
  // A server that verifies (kCa, kPinnedSha256) requires a client certificate.
  TlsVerify verify = TlsVerify::kNone;
  std::string ca_pem = {};                     // kCa: trusted certificates, PEM
  std::string ca_file = {};                    // kCa: or a PEM file of them
  std::vector<Sha256Fingerprint> pinned = {};  // kPinnedSha256
  // Client: sent as SNI and, with kCa, checked against the server certificate's names.
  std::string server_name = {};
  TlsVersion min_version = TlsVersion::kTls13;
  // wolfSSL cipher-list syntax; empty: ChaCha20-Poly1305 first (see the file comment).
  std::string cipher_list = {};
  absl::Duration handshake_timeout = absl::Seconds(10);
  // Per connection and direction; at least 17 KiB (one full TLS record). A reader reads at
  // most this much from the socket at once; a writer sends at most this much at once.
  size_t buffer_bytes = 64 * 1024;
};

// Shared, immutable configuration of many connections (a wolfSSL context). Cheap to copy;
// thread-safe once created.
class TlsContext {
 public:
  static absl::StatusOr<TlsContext> Create(TlsOptions options);
  const TlsOptions& options() const;

 private:
  friend class TlsStream;
  explicit TlsContext(std::shared_ptr<net_internal::TlsContextImpl> impl)
      : impl_(std::move(impl)) {}
  std::shared_ptr<net_internal::TlsContextImpl> impl_;
};

class TlsStream {
 public:
  TlsStream();
  TlsStream(TlsStream&&) noexcept;
  TlsStream& operator=(TlsStream&&) noexcept;
  // Without Close (the owning actor killed, the runtime stopping): a close_notify is sent if it
  // fits in the socket's buffer at once (a non-blocking send), then the socket is closed
  // synchronously, so the peer sees an orderly end. Not while another coroutine still uses the
  // stream: Close is the way to end a stream that others read or write.
  ~TlsStream();

  // Runs the handshake as `context`'s role over `stream`, within the context's handshake
  // timeout (kDeadlineExceeded). On failure the alert wolfSSL produced is sent and the
  // connection closed.
  static Task<absl::StatusOr<TlsStream>> Handshake(TlsContext context, TcpStream stream);

  // Decrypted bytes, up to buffer.size(): the count, or 0 once the peer sent close_notify.
  // The deadline is the TCP stream's idle_timeout, or `timeout`.
  net_internal::Immediate<absl::StatusOr<size_t>> ReadSome(std::span<char> buffer);
  net_internal::Immediate<absl::StatusOr<size_t>> ReadSome(std::span<char> buffer,
                                                           absl::Duration timeout);
  // Fills all of `buffer`; kUnavailable if the stream ends first.
  net_internal::Immediate<absl::Status> ReadExactly(std::span<char> buffer, absl::Duration timeout);
  net_internal::Immediate<absl::Status> ReadExactly(std::span<char> buffer);
  // Encrypts and sends all of `data` before it returns.
  net_internal::Immediate<absl::Status> WriteAll(std::span<const char> data,
                                                 absl::Duration timeout = absl::InfiniteDuration());
  template <std::size_t N>
  net_internal::Immediate<absl::Status> WriteAll(
      const char (&data)[N], absl::Duration timeout = absl::InfiniteDuration()) {
    net_internal::RejectCharArrayWrite<N>();
    return WriteAll(std::span<const char>(data, N), timeout);
  }

  // Sends close_notify: the peer reads end of stream; this side may go on reading.
  Task<absl::Status> Shutdown();
  // Sends close_notify (unless Shutdown did) and closes the socket. Another coroutine may be
  // reading or writing meanwhile: a write ends between records, before the close_notify; a
  // blocked read or send is woken by shutting the socket down; both return kCancelled, and Close
  // returns only once they have let go of the stream.
  Task<absl::Status> Close();

  bool is_open() const;
  // RFC 8446 §7.5 / RFC 5705 exporter: `length` bytes bound to this connection's secrets, equal
  // on both ends. dist/ binds its authentication to the channel with it.
  absl::StatusOr<std::string> ExportKeyingMaterial(std::string_view label, std::string_view context,
                                                   size_t length) const;
  // SHA-256 of the peer's leaf certificate; kNotFound if it sent none.
  absl::StatusOr<Sha256Fingerprint> peer_fingerprint() const;
  // The subject alternative names of the peer's leaf certificate (empty if it sent none).
  const std::vector<std::string>& peer_alternative_names() const;
  // E.g. "TLS13-CHACHA20-POLY1305-SHA256" and "TLSv1.3".
  std::string cipher_suite() const;
  std::string version() const;
  // The TCP stream underneath (for its options and addresses). Only on an open stream.
  TcpStream& tcp();

 private:
  explicit TlsStream(std::unique_ptr<net_internal::TlsSession> session);
  // The session has a stable address: wolfSSL's I/O callbacks point at it.
  std::unique_ptr<net_internal::TlsSession> session_;
};

}  // namespace snow::net
