// TlsContext and TlsStream: wolfSSL driven by coroutines over our own buffers.
//
// The I/O model. wolfSSL's receive callback hands out bytes from `in_` and answers WANT_READ when
// it is empty; its send callback appends to `out_` and answers WANT_WRITE when it is full. The
// callbacks never touch the socket. The coroutines call wolfSSL (connect/accept/read/write/
// shutdown), then act on the answer: send `out_` with one io_uring write when it holds anything,
// and on WANT_READ receive into `in_` with one io_uring recv, then call wolfSSL again. So no
// wolfSSL call blocks a shard, a destroyed coroutine cancels its recv/send like any TCP
// operation, and the per-connection memory is the two buffers plus wolfSSL's own state.
#include <wolfssl/options.h>
// wolfSSL's headers need options.h first.
#include <sys/socket.h>
#include <wolfssl/error-ssl.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/hash.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "snow/core/status.h"
#include "snow/core/time.h"
#include "snow/net/internal/certificate_names.h"
#include "snow/net/internal/tls_init.h"
#include "snow/net/tls.h"

namespace snow {
namespace net_internal {
namespace {

// TLS 1.3 suites first, in the measured order (ARCHITECTURE.md: ChaCha20-Poly1305 is about twice
// AES-GCM's speed on a wolfSSL built without AES-NI); TLS 1.2 suites for min_version kTls12.
constexpr const char* kDefaultCiphers =
    "TLS13-CHACHA20-POLY1305-SHA256:TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384";

constexpr size_t kMaxRecordPlaintext = 16384;
// Record header, content type, AEAD tag and (TLS 1.2) explicit nonce, rounded up.
constexpr size_t kRecordOverhead = 64;
constexpr size_t kMinBufferBytes = kMaxRecordPlaintext + 1024;
// How long Close waits to send close_notify to a peer that does not read.
constexpr absl::Duration kCloseNotifyTimeout = absl::Seconds(1);

// A deadline on the shard's monotonic clock; InfiniteDuration for none.
absl::Duration DeadlineAfter(absl::Duration timeout) {
  if (timeout == absl::InfiniteDuration()) return timeout;
  return MonotonicNow() + timeout;
}
absl::Duration Remaining(absl::Duration deadline) {
  if (deadline == absl::InfiniteDuration()) return deadline;
  return std::max(absl::ZeroDuration(), deadline - MonotonicNow());
}

std::string WolfSslErrorText(int code) {
  char text[WOLFSSL_MAX_ERROR_SZ];
  wolfSSL_ERR_error_string_n(static_cast<unsigned long>(code), text, sizeof(text));
  return text;
}

bool IsCertificateAlert(int alert) {
  switch (alert) {
    case bad_certificate:
    case unsupported_certificate:
    case certificate_revoked:
    case certificate_expired:
    case certificate_unknown:
    case unknown_ca:
    case access_denied:
    case decrypt_error:
    case 116:  // certificate_required (TLS 1.3)
      return true;
    default:
      return false;
  }
}

}  // namespace

class TlsContextImpl {
 public:
  ~TlsContextImpl() {
    if (ctx != nullptr) wolfSSL_CTX_free(ctx);
  }
  WOLFSSL_CTX* ctx = nullptr;
  net::TlsOptions options;
};

class TlsSession {
 public:
  TlsSession(std::shared_ptr<TlsContextImpl> context, net::TcpStream tcp)
      : context_(std::move(context)),
        tcp_(std::move(tcp)),
        capacity_(std::max(context_->options.buffer_bytes, kMinBufferBytes)),
        in_(new char[capacity_]),
        out_(new char[capacity_]) {}
  ~TlsSession() {
    if (ssl_ != nullptr) wolfSSL_free(ssl_);
  }
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  absl::Status Init();
  // For a stream destroyed without Close (its actor killed, the runtime stopping): queues a
  // close_notify behind whatever whole records wait and sends them with one non-blocking send,
  // so that the peer sees an orderly end rather than a truncated stream. Nothing happens if a
  // send is in flight, the stream has failed, or the socket buffer has no room.
  void NotifyCloseNow();

  bool has_output() const { return out_end_ > out_begin_; }
  // Sends what `out_` holds. Only one flush runs at a time: a caller that finds one running
  // waits for it (AwaitFlush).
  Task<absl::Status> Flush(absl::Duration deadline);
  Task<absl::Status> AwaitFlush(absl::Duration deadline);
  // Receives more ciphertext into `in_`.
  Task<absl::Status> Fill(absl::Duration deadline);
  // The status for a failed wolfSSL call whose wolfSSL_get_error was `error`.
  absl::Status ErrorFor(int error, std::string_view what);

  static int OnReceive(WOLFSSL* ssl, char* buffer, int size, void* context);
  static int OnSend(WOLFSSL* ssl, char* buffer, int size, void* context);
  static int OnVerify(int preverified, WOLFSSL_X509_STORE_CTX* store);

  std::shared_ptr<TlsContextImpl> context_;
  net::TcpStream tcp_;
  WOLFSSL* ssl_ = nullptr;
  size_t capacity_;
  std::unique_ptr<char[]> in_;
  std::unique_ptr<char[]> out_;
  size_t in_begin_ = 0, in_end_ = 0;
  size_t out_begin_ = 0, out_end_ = 0;
  bool eof_ = false;       // the socket reached end of stream
  absl::Status io_error_;  // the socket's first error; the TLS stream is dead after it
  bool reading_ = false;   // a ReadSome is running (its recv may be in the kernel)
  bool writing_ = false;   // a WriteAll is running
  bool flushing_ = false;  // a Flush is running (its send may be in the kernel)
  // Close began: operations still running end with kCancelled, new ones are refused, and the
  // session is freed only once they have all left it.
  bool closing_ = false;
  bool sent_close_notify_ = false;
  std::optional<net::Sha256Fingerprint> peer_fingerprint_;
  std::vector<std::string> peer_alternative_names_;
  bool pin_rejected_ = false;
};

namespace {
// Sets a flag for the lifetime of a coroutine step, including when the frame is destroyed.
struct FlagGuard {
  explicit FlagGuard(bool& flag) : flag(flag) { flag = true; }
  ~FlagGuard() { flag = false; }
  bool& flag;
};
}  // namespace

void TlsSession::NotifyCloseNow() {
  if (sent_close_notify_ || closing_ || flushing_ || !io_error_.ok() || !tcp_.is_open()) return;
  sent_close_notify_ = true;
  int rc = wolfSSL_shutdown(ssl_);
  if ((rc != WOLFSSL_SUCCESS && rc != WOLFSSL_SHUTDOWN_NOT_DONE) || !has_output()) return;
  // MSG_DONTWAIT: a destructor on a shard never blocks; what does not fit is not sent.
  (void)::send(tcp_.fd(), out_.get() + out_begin_, out_end_ - out_begin_,
               MSG_DONTWAIT | MSG_NOSIGNAL);
}

absl::Status TlsSession::Init() {
  ssl_ = wolfSSL_new(context_->ctx);
  if (ssl_ == nullptr) return absl::ResourceExhaustedError("wolfSSL_new failed");
  wolfSSL_SetIOReadCtx(ssl_, this);
  wolfSSL_SetIOWriteCtx(ssl_, this);
  // Keeps the secrets the keying-material exporter derives from after the handshake.
  wolfSSL_KeepArrays(ssl_);
  const net::TlsOptions& options = context_->options;
  if (options.role == net::TlsRole::kClient && !options.server_name.empty()) {
    wolfSSL_UseSNI(ssl_, WOLFSSL_SNI_HOST_NAME, options.server_name.data(),
                   static_cast<unsigned short>(options.server_name.size()));
    if (options.verify == net::TlsVerify::kCa &&
        wolfSSL_check_domain_name(ssl_, options.server_name.c_str()) != WOLFSSL_SUCCESS) {
      return absl::InvalidArgumentError("wolfSSL_check_domain_name failed");
    }
  }
  return absl::OkStatus();
}

int TlsSession::OnReceive(WOLFSSL*, char* buffer, int size, void* context) {
  auto* self = static_cast<TlsSession*>(context);
  size_t available = self->in_end_ - self->in_begin_;
  if (available > 0) {
    size_t n = std::min(available, static_cast<size_t>(size));
    std::memcpy(buffer, self->in_.get() + self->in_begin_, n);
    self->in_begin_ += n;
    if (self->in_begin_ == self->in_end_) self->in_begin_ = self->in_end_ = 0;
    return static_cast<int>(n);
  }
  if (!self->io_error_.ok()) return WOLFSSL_CBIO_ERR_CONN_RST;
  if (self->eof_) return WOLFSSL_CBIO_ERR_CONN_CLOSE;
  return WOLFSSL_CBIO_ERR_WANT_READ;
}

int TlsSession::OnSend(WOLFSSL*, char* buffer, int size, void* context) {
  auto* self = static_cast<TlsSession*>(context);
  if (!self->io_error_.ok()) return WOLFSSL_CBIO_ERR_CONN_RST;
  if (self->out_end_ == self->capacity_ && self->out_begin_ > 0 && !self->flushing_) {
    std::memmove(self->out_.get(), self->out_.get() + self->out_begin_,
                 self->out_end_ - self->out_begin_);
    self->out_end_ -= self->out_begin_;
    self->out_begin_ = 0;
  }
  size_t room = self->capacity_ - self->out_end_;
  if (room == 0) return WOLFSSL_CBIO_ERR_WANT_WRITE;
  size_t n = std::min(room, static_cast<size_t>(size));
  std::memcpy(self->out_.get() + self->out_end_, buffer, n);
  self->out_end_ += n;
  return static_cast<int>(n);
}

// Called by wolfSSL for each certificate of the peer's chain, leaf (depth 0) last, whether or not
// it verified (WOLFSSL_ALWAYS_VERIFY_CB). Returning 0 rejects the handshake with an alert.
int TlsSession::OnVerify(int preverified, WOLFSSL_X509_STORE_CTX* store) {
  auto* ssl = static_cast<WOLFSSL*>(
      wolfSSL_X509_STORE_CTX_get_ex_data(store, wolfSSL_get_ex_data_X509_STORE_CTX_idx()));
  if (ssl == nullptr) return 0;
  auto* self = static_cast<TlsSession*>(wolfSSL_GetIOReadCtx(ssl));
  if (self == nullptr) return 0;
  int depth = wolfSSL_X509_STORE_CTX_get_error_depth(store);
  WOLFSSL_X509* certificate = wolfSSL_X509_STORE_CTX_get_current_cert(store);
  const net::TlsOptions& options = self->context_->options;
  if (depth == 0 && certificate != nullptr) {
    int length = 0;
    const unsigned char* der = wolfSSL_X509_get_der(certificate, &length);
    net::Sha256Fingerprint fingerprint;
    if (der != nullptr && length > 0 &&
        wc_Sha256Hash(der, static_cast<word32>(length), fingerprint.data()) == 0) {
      self->peer_fingerprint_ = fingerprint;
      absl::StatusOr<std::vector<std::string>> names =
          AlternativeNamesOfDer(der, static_cast<size_t>(length));
      if (names.ok()) self->peer_alternative_names_ = std::move(*names);
    }
  }
  switch (options.verify) {
    case net::TlsVerify::kNone:
      return 1;
    case net::TlsVerify::kCa:
      return preverified;
    case net::TlsVerify::kPinnedSha256: {
      // Only the leaf decides; a pinned certificate needs no chain.
      if (depth != 0) return 1;
      bool pinned = self->peer_fingerprint_.has_value() &&
                    std::find(options.pinned.begin(), options.pinned.end(),
                              *self->peer_fingerprint_) != options.pinned.end();
      self->pin_rejected_ = !pinned;
      return pinned ? 1 : 0;
    }
  }
  return 0;
}

namespace {
// Ends the TLS stream if a Flush's frame is destroyed (its actor killed) while its send is in
// the kernel: part of a record may have left, and out_begin_ cannot say how much, so sending
// from there again would corrupt the stream.
struct AbandonedSend {
  explicit AbandonedSend(absl::Status& io_error) : io_error(io_error) {}
  ~AbandonedSend() {
    if (sending && io_error.ok()) {
      io_error = absl::AbortedError(
          "a TLS write was cancelled part way through a record; the stream cannot go on");
    }
  }
  absl::Status& io_error;
  bool sending = false;
};
}  // namespace

Task<absl::Status> TlsSession::Flush(absl::Duration deadline) {
  FlagGuard guard(flushing_);
  AbandonedSend abandoned(io_error_);
  while (out_end_ > out_begin_) {
    size_t n = out_end_ - out_begin_;
    abandoned.sending = true;
    absl::Status sent = co_await tcp_.WriteAll(std::span<const char>(out_.get() + out_begin_, n),
                                               Remaining(deadline));
    abandoned.sending = false;
    if (!sent.ok()) {
      // Part of a record may have left: the stream cannot go on.
      if (io_error_.ok()) io_error_ = sent;
      co_return sent;
    }
    out_begin_ += n;  // records appended meanwhile (by another coroutine) go in the next turn
  }
  out_begin_ = out_end_ = 0;
  co_return absl::OkStatus();
}

Task<absl::Status> TlsSession::AwaitFlush(absl::Duration deadline) {
  // Another coroutine is sending (a reader answering a key update while a writer writes, say):
  // its loop also sends whatever we appended. Rare, so a coarse poll does.
  while (flushing_) {
    if (deadline != absl::InfiniteDuration() && MonotonicNow() >= deadline) {
      co_return absl::DeadlineExceededError("TLS write timed out waiting for another send");
    }
    co_await Sleep(absl::Microseconds(100));
  }
  if (!io_error_.ok()) co_return io_error_;
  if (!has_output()) co_return absl::OkStatus();
  absl::Status flushed = co_await Flush(deadline);
  co_return flushed;
}

Task<absl::Status> TlsSession::Fill(absl::Duration deadline) {
  if (!io_error_.ok()) co_return io_error_;
  if (eof_) co_return absl::OkStatus();  // the receive callback reports the close
  if (in_begin_ > 0) {
    std::memmove(in_.get(), in_.get() + in_begin_, in_end_ - in_begin_);
    in_end_ -= in_begin_;
    in_begin_ = 0;
  }
  SNOW_CHECK(in_end_ < capacity_, "TLS input buffer full while wolfSSL wants more");
  absl::StatusOr<size_t> n = co_await tcp_.ReadSome(
      std::span<char>(in_.get() + in_end_, capacity_ - in_end_), Remaining(deadline));
  if (!n.ok()) {
    // A timeout leaves the TLS state intact (wolfSSL only heard WANT_READ); anything else ends it.
    if (n.status().code() != absl::StatusCode::kDeadlineExceeded) io_error_ = n.status();
    co_return n.status();
  }
  if (*n == 0) {
    eof_ = true;
  } else {
    in_end_ += *n;
  }
  co_return absl::OkStatus();
}

absl::Status TlsSession::ErrorFor(int error, std::string_view what) {
  if (!io_error_.ok()) {
    return absl::Status(io_error_.code(), absl::StrCat(AbslView(what), ": ", io_error_.message()));
  }
  std::string prefix(what);
  if (pin_rejected_) {
    return absl::UnauthenticatedError(absl::StrCat(
        prefix, ": the peer's certificate (SHA-256 ",
        peer_fingerprint_ ? net::FingerprintToHex(*peer_fingerprint_) : std::string("unknown"),
        ") is not pinned"));
  }
  switch (error) {
    case SOCKET_PEER_CLOSED_E:
    case SOCKET_ERROR_E:
      if (eof_) {
        return absl::UnavailableError(
            absl::StrCat(prefix, ": the peer closed the connection without close_notify"));
      }
      break;
    case VERIFY_CERT_ERROR:
    case ASN_NO_SIGNER_E:
    case ASN_SELF_SIGNED_E:
    case ASN_AFTER_DATE_E:
    case ASN_BEFORE_DATE_E:
    case ASN_SIG_CONFIRM_E:
    case DOMAIN_NAME_MISMATCH:
    case NO_PEER_CERT:
      return absl::UnauthenticatedError(
          absl::StrCat(prefix, ": the peer's certificate was rejected: ", WolfSslErrorText(error)));
    case FATAL_ERROR: {
      WOLFSSL_ALERT_HISTORY history;
      int alert = -1;
      if (wolfSSL_get_alert_history(ssl_, &history) == WOLFSSL_SUCCESS) {
        alert = history.last_rx.code;
      }
      if (IsCertificateAlert(alert)) {
        return absl::UnauthenticatedError(absl::StrCat(
            prefix, ": the peer rejected the handshake (certificate alert ", alert, ")"));
      }
      return absl::UnavailableError(
          absl::StrCat(prefix, ": the peer sent a fatal alert (", alert, ")"));
    }
    case PARSE_ERROR:
    case UNKNOWN_RECORD_TYPE:
    case VERSION_ERROR:
    case BUFFER_ERROR:
    case LENGTH_ERROR:
    case DECRYPT_ERROR:
    case VERIFY_MAC_ERROR:
    case VERIFY_FINISHED_ERROR:
    case SANITY_MSG_E:
    case OUT_OF_ORDER_E:
    case INCOMPLETE_DATA:
      return absl::DataLossError(
          absl::StrCat(prefix, ": the peer's bytes are not valid TLS: ", WolfSslErrorText(error)));
    case MATCH_SUITE_ERROR:
      return absl::FailedPreconditionError(
          absl::StrCat(prefix, ": no cipher suite or version in common"));
    default:
      break;
  }
  return absl::UnknownError(
      absl::StrCat(prefix, ": wolfSSL error ", error, " (", WolfSslErrorText(error), ")"));
}

namespace {

absl::Status ClosedWhile(std::string_view what) {
  return absl::CancelledError(absl::StrCat("the TLS stream was closed during a ", AbslView(what)));
}

Task<absl::StatusOr<size_t>> ReadSomeImpl(TlsSession* s, char* data, size_t size,
                                          absl::Duration timeout) {
  if (s == nullptr) co_return absl::FailedPreconditionError("read from a closed TLS stream");
  if (s->closing_) co_return ClosedWhile("read");
  if (s->reading_) co_return absl::FailedPreconditionError("another coroutine is reading");
  FlagGuard guard(s->reading_);
  absl::Duration deadline = DeadlineAfter(timeout);
  int want = static_cast<int>(std::min<size_t>(size, 1u << 30));
  for (;;) {
    int n = wolfSSL_read(s->ssl_, data, want);
    int error = n > 0 ? 0 : wolfSSL_get_error(s->ssl_, n);
    // A read can produce output (a key-update answer, an alert): send it, unless a writer is
    // already sending, whose loop takes it along.
    if (s->has_output() && !s->flushing_) {
      absl::Status flushed = co_await s->Flush(deadline);
      if (s->closing_) co_return ClosedWhile("read");
      if (!flushed.ok() && n > 0) co_return flushed;
    }
    if (n > 0) co_return static_cast<size_t>(n);
    if (error == WOLFSSL_ERROR_ZERO_RETURN) co_return size_t{0};
    if (error == WOLFSSL_ERROR_WANT_READ) {
      absl::Status filled = co_await s->Fill(deadline);
      // Close woke this recv (or it completed meanwhile): whatever came is not for this reader.
      if (s->closing_) co_return ClosedWhile("read");
      if (!filled.ok()) co_return filled;
      continue;
    }
    if (error == WOLFSSL_ERROR_WANT_WRITE) continue;  // flushed above
    co_return s->ErrorFor(error, "TLS read");
  }
}

Task<absl::Status> ReadExactlyImpl(TlsSession* s, char* data, size_t size, absl::Duration timeout) {
  absl::Duration deadline = DeadlineAfter(timeout);
  size_t done = 0;
  while (done < size) {
    absl::StatusOr<size_t> n =
        co_await ReadSomeImpl(s, data + done, size - done, Remaining(deadline));
    if (!n.ok()) co_return n.status();
    if (*n == 0) {
      co_return absl::UnavailableError(
          absl::StrCat("the peer closed the TLS stream after ", done, " of ", size, " bytes"));
    }
    done += *n;
  }
  co_return absl::OkStatus();
}

Task<absl::Status> WriteAllImpl(TlsSession* s, const char* data, size_t size,
                                absl::Duration timeout) {
  if (s == nullptr) co_return absl::FailedPreconditionError("write to a closed TLS stream");
  if (s->closing_) co_return ClosedWhile("write");
  if (s->sent_close_notify_) co_return absl::FailedPreconditionError("write after TLS shutdown");
  FlagGuard guard(s->writing_);
  absl::Duration deadline = DeadlineAfter(timeout);
  size_t done = 0;
  while (done < size) {
    // Stops between records: nothing may follow the close_notify that Close queues.
    if (s->closing_) co_return ClosedWhile("write");
    // Fill `out_` with whole records, then send it in one write.
    size_t room = s->capacity_ - s->out_end_;
    if (room < kRecordOverhead + 1024 || s->flushing_) {
      absl::Status flushed = co_await s->AwaitFlush(deadline);
      if (!flushed.ok()) co_return s->closing_ ? ClosedWhile("write") : flushed;
      continue;
    }
    size_t chunk = std::min({size - done, kMaxRecordPlaintext, room - kRecordOverhead});
    int n = wolfSSL_write(s->ssl_, data + done, static_cast<int>(chunk));
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    int error = wolfSSL_get_error(s->ssl_, n);
    if (error == WOLFSSL_ERROR_WANT_WRITE) {
      // wolfSSL kept the record it could not hand over; the retry must pass the same bytes.
      absl::Status flushed = co_await s->AwaitFlush(deadline);
      if (!flushed.ok()) co_return s->closing_ ? ClosedWhile("write") : flushed;
      continue;
    }
    co_return s->ErrorFor(error, "TLS write");
  }
  absl::Status flushed = co_await s->AwaitFlush(deadline);
  if (!flushed.ok() && s->closing_) co_return ClosedWhile("write");
  co_return flushed;
}

}  // namespace
}  // namespace net_internal

namespace net {

using net_internal::TlsContextImpl;
using net_internal::TlsSession;

absl::StatusOr<TlsContext> TlsContext::Create(TlsOptions options) {
  net_internal::EnsureWolfSslInitialized();
  auto impl = std::make_shared<TlsContextImpl>();
  bool server = options.role == TlsRole::kServer;
  impl->ctx = wolfSSL_CTX_new(server ? wolfSSLv23_server_method() : wolfSSLv23_client_method());
  if (impl->ctx == nullptr) return absl::ResourceExhaustedError("wolfSSL_CTX_new failed");
  WOLFSSL_CTX* ctx = impl->ctx;
  int min_version = options.min_version == TlsVersion::kTls13 ? WOLFSSL_TLSV1_3 : WOLFSSL_TLSV1_2;
  if (wolfSSL_CTX_SetMinVersion(ctx, min_version) != WOLFSSL_SUCCESS) {
    return absl::InvalidArgumentError("wolfSSL_CTX_SetMinVersion failed");
  }
  const std::string ciphers =
      options.cipher_list.empty() ? net_internal::kDefaultCiphers : options.cipher_list;
  if (wolfSSL_CTX_set_cipher_list(ctx, ciphers.c_str()) != WOLFSSL_SUCCESS) {
    return absl::InvalidArgumentError(absl::StrCat("bad cipher list \"", ciphers, "\""));
  }
  if (server) {
    // No TLS 1.3 session tickets: Snow does not resume sessions, and a ticket the client never
    // reads turns its close into a reset.
    wolfSSL_CTX_no_ticket_TLSv13(ctx);
  }
  // X25519 first: in Debian's wolfSSL (generic big-number code) its key exchange takes ~70 us,
  // P-256's ~260 us; P-256 stays for peers without X25519.
  int groups[] = {WOLFSSL_ECC_X25519, WOLFSSL_ECC_SECP256R1};
  if (wolfSSL_CTX_set_groups(ctx, groups, 2) != WOLFSSL_SUCCESS) {
    return absl::InternalError("wolfSSL_CTX_set_groups failed");
  }
  wolfSSL_CTX_SetIORecv(ctx, &TlsSession::OnReceive);
  wolfSSL_CTX_SetIOSend(ctx, &TlsSession::OnSend);

  if (options.certificate.has_value()) {
    const TlsCertificate& cert = *options.certificate;
    if (wolfSSL_CTX_use_certificate_chain_buffer_format(
            ctx, reinterpret_cast<const unsigned char*>(cert.certificate_pem.data()),
            static_cast<long>(cert.certificate_pem.size()),
            WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS) {
      return absl::InvalidArgumentError("the certificate PEM does not load");
    }
    if (wolfSSL_CTX_use_PrivateKey_buffer(
            ctx, reinterpret_cast<const unsigned char*>(cert.private_key_pem.data()),
            static_cast<long>(cert.private_key_pem.size()),
            WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS) {
      return absl::InvalidArgumentError("the private key PEM does not load");
    }
    if (wolfSSL_CTX_check_private_key(ctx) != WOLFSSL_SUCCESS) {
      return absl::InvalidArgumentError("the private key does not match the certificate");
    }
  } else if (server) {
    return absl::InvalidArgumentError("a TLS server needs a certificate");
  }

  int mode = WOLFSSL_VERIFY_PEER;
  switch (options.verify) {
    case TlsVerify::kNone:
      // A client still looks at the server's certificate (for peer_fingerprint) and accepts it;
      // a server does not ask for one.
      mode = server ? WOLFSSL_VERIFY_NONE : WOLFSSL_VERIFY_PEER;
      break;
    case TlsVerify::kCa:
      if (options.ca_pem.empty() && options.ca_file.empty()) {
        return absl::InvalidArgumentError("TlsVerify::kCa needs ca_pem or ca_file");
      }
      if (!options.ca_pem.empty() &&
          wolfSSL_CTX_load_verify_buffer(
              ctx, reinterpret_cast<const unsigned char*>(options.ca_pem.data()),
              static_cast<long>(options.ca_pem.size()), WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS) {
        return absl::InvalidArgumentError("the CA PEM does not load");
      }
      if (!options.ca_file.empty() &&
          wolfSSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr) !=
              WOLFSSL_SUCCESS) {
        return absl::InvalidArgumentError(
            absl::StrCat("the CA file ", options.ca_file, " does not load"));
      }
      if (server) mode |= WOLFSSL_VERIFY_FAIL_IF_NO_PEER_CERT;
      break;
    case TlsVerify::kPinnedSha256:
      if (options.pinned.empty()) {
        return absl::InvalidArgumentError("TlsVerify::kPinnedSha256 needs pinned fingerprints");
      }
      if (server) mode |= WOLFSSL_VERIFY_FAIL_IF_NO_PEER_CERT;
      break;
  }
  wolfSSL_CTX_set_verify(ctx, mode, mode == WOLFSSL_VERIFY_NONE ? nullptr : &TlsSession::OnVerify);
  impl->options = std::move(options);
  return TlsContext(std::move(impl));
}

const TlsOptions& TlsContext::options() const { return impl_->options; }

TlsStream::TlsStream() = default;
TlsStream::TlsStream(std::unique_ptr<TlsSession> session) : session_(std::move(session)) {}
TlsStream::TlsStream(TlsStream&&) noexcept = default;
TlsStream& TlsStream::operator=(TlsStream&&) noexcept = default;
TlsStream::~TlsStream() {
  if (session_ != nullptr) session_->NotifyCloseNow();
}

Task<absl::StatusOr<TlsStream>> TlsStream::Handshake(TlsContext context, TcpStream stream) {
  if (context.impl_ == nullptr) co_return absl::FailedPreconditionError("no TLS context");
  if (!stream.is_open()) co_return absl::FailedPreconditionError("TLS over a closed stream");
  net_internal::EnsureWolfSslInitialized();  // this shard thread's caches are freed at its exit
  auto session = std::make_unique<TlsSession>(context.impl_, std::move(stream));
  SNOW_CO_RETURN_IF_ERROR(session->Init());
  const TlsOptions& options = context.impl_->options;
  bool server = options.role == TlsRole::kServer;
  absl::Duration deadline = net_internal::DeadlineAfter(options.handshake_timeout);
  absl::Status failure;
  for (;;) {
    int rc = server ? wolfSSL_accept(session->ssl_) : wolfSSL_connect(session->ssl_);
    int error = rc == WOLFSSL_SUCCESS ? 0 : wolfSSL_get_error(session->ssl_, rc);
    // Send what the step produced, including the alert of a failed handshake, so that the peer
    // learns why.
    if (session->has_output()) {
      absl::Status flushed = co_await session->Flush(deadline);
      if (!flushed.ok()) {
        failure = flushed;
        break;
      }
    }
    if (rc == WOLFSSL_SUCCESS) co_return TlsStream(std::move(session));
    if (error == WOLFSSL_ERROR_WANT_READ) {
      absl::Status filled = co_await session->Fill(deadline);
      if (!filled.ok()) {
        failure = filled;
        break;
      }
      continue;
    }
    if (error == WOLFSSL_ERROR_WANT_WRITE) continue;
    failure = session->ErrorFor(error, "TLS handshake");
    break;
  }
  if (failure.code() == absl::StatusCode::kDeadlineExceeded) {
    failure = absl::DeadlineExceededError(absl::StrCat(
        "TLS handshake timed out after ", absl::FormatDuration(options.handshake_timeout)));
  } else if (!absl::StartsWith(failure.message(), "TLS handshake")) {
    failure = absl::Status(failure.code(), absl::StrCat("TLS handshake: ", failure.message()));
  }
  absl::Status closed = co_await session->tcp_.Close();
  (void)closed;  // the handshake's failure is the news
  co_return failure;
}

net_internal::Immediate<absl::StatusOr<size_t>> TlsStream::ReadSome(std::span<char> buffer) {
  absl::Duration timeout =
      session_ != nullptr ? session_->tcp_.idle_timeout() : absl::InfiniteDuration();
  return ReadSome(buffer, timeout);
}

net_internal::Immediate<absl::StatusOr<size_t>> TlsStream::ReadSome(std::span<char> buffer,
                                                                    absl::Duration timeout) {
  return net_internal::Immediate<absl::StatusOr<size_t>>(
      net_internal::ReadSomeImpl(session_.get(), buffer.data(), buffer.size(), timeout));
}

net_internal::Immediate<absl::Status> TlsStream::ReadExactly(std::span<char> buffer) {
  absl::Duration timeout =
      session_ != nullptr ? session_->tcp_.idle_timeout() : absl::InfiniteDuration();
  return ReadExactly(buffer, timeout);
}

net_internal::Immediate<absl::Status> TlsStream::ReadExactly(std::span<char> buffer,
                                                             absl::Duration timeout) {
  return net_internal::Immediate<absl::Status>(
      net_internal::ReadExactlyImpl(session_.get(), buffer.data(), buffer.size(), timeout));
}

net_internal::Immediate<absl::Status> TlsStream::WriteAll(std::span<const char> data,
                                                          absl::Duration timeout) {
  return net_internal::Immediate<absl::Status>(
      net_internal::WriteAllImpl(session_.get(), data.data(), data.size(), timeout));
}

Task<absl::Status> TlsStream::Shutdown() {
  TlsSession* s = session_.get();
  if (s == nullptr) co_return absl::FailedPreconditionError("shutdown of a closed TLS stream");
  if (s->sent_close_notify_) co_return absl::OkStatus();
  if (!s->io_error_.ok()) co_return s->io_error_;
  s->sent_close_notify_ = true;
  // Returns WOLFSSL_SHUTDOWN_NOT_DONE: close_notify is queued, the peer's has not come (and
  // need not: we may keep reading).
  int rc = wolfSSL_shutdown(s->ssl_);
  if (rc != WOLFSSL_SUCCESS && rc != WOLFSSL_SHUTDOWN_NOT_DONE) {
    co_return s->ErrorFor(wolfSSL_get_error(s->ssl_, rc), "TLS shutdown");
  }
  absl::Status flushed =
      co_await s->AwaitFlush(net_internal::DeadlineAfter(net_internal::kCloseNotifyTimeout));
  co_return flushed;
}

Task<absl::Status> TlsStream::Close() {
  if (session_ == nullptr) co_return absl::OkStatus();
  TlsSession* s = session_.get();
  if (s->closing_) co_return absl::FailedPreconditionError("the TLS stream is already closing");
  s->closing_ = true;
  absl::Status notified = absl::OkStatus();
  if (!s->sent_close_notify_ && s->io_error_.ok()) {
    // Waits (bounded) for a writer's send in flight, so close_notify follows its records.
    notified = co_await Shutdown();
  }
  if (s->reading_ || s->writing_ || s->flushing_) {
    // Another coroutine's recv or send is in the kernel, into this session's buffers. Shutting
    // the socket down completes them at once (recv: end of stream, send: EPIPE); they see
    // closing_ and leave with kCancelled. Only then may the session go. Close is rare and the
    // wake-up immediate, so a coarse poll does.
    ::shutdown(s->tcp_.fd(), SHUT_RDWR);
    while (s->reading_ || s->writing_ || s->flushing_) co_await Sleep(absl::Microseconds(100));
  }
  std::unique_ptr<TlsSession> session = std::move(session_);
  absl::Status closed = co_await session->tcp_.Close();
  co_return notified.ok() ? closed : notified;
}

bool TlsStream::is_open() const { return session_ != nullptr && session_->tcp_.is_open(); }

absl::StatusOr<std::string> TlsStream::ExportKeyingMaterial(std::string_view label,
                                                            std::string_view context,
                                                            size_t length) const {
  if (session_ == nullptr) return absl::FailedPreconditionError("the TLS stream is closed");
  std::string out(length, '\0');
  int rc = wolfSSL_export_keying_material(
      session_->ssl_, reinterpret_cast<unsigned char*>(out.data()), out.size(), label.data(),
      label.size(), reinterpret_cast<const unsigned char*>(context.data()), context.size(),
      /*use_context=*/1);
  if (rc != WOLFSSL_SUCCESS) {
    return absl::InternalError(
        absl::StrCat("wolfSSL_export_keying_material failed: ",
                     net_internal::WolfSslErrorText(wolfSSL_get_error(session_->ssl_, rc))));
  }
  return out;
}

absl::StatusOr<Sha256Fingerprint> TlsStream::peer_fingerprint() const {
  if (session_ == nullptr || !session_->peer_fingerprint_.has_value()) {
    return absl::NotFoundError("the peer sent no certificate");
  }
  return *session_->peer_fingerprint_;
}

const std::vector<std::string>& TlsStream::peer_alternative_names() const {
  static const std::vector<std::string> kNone;
  return session_ != nullptr ? session_->peer_alternative_names_ : kNone;
}

std::string TlsStream::cipher_suite() const {
  if (session_ == nullptr) return "";
  const char* name = wolfSSL_get_cipher_name(session_->ssl_);
  return name != nullptr ? name : "";
}

std::string TlsStream::version() const {
  if (session_ == nullptr) return "";
  const char* name = wolfSSL_get_version(session_->ssl_);
  return name != nullptr ? name : "";
}

TcpStream& TlsStream::tcp() { return session_->tcp_; }

}  // namespace net
}  // namespace snow
