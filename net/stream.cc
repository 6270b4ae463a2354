#include "snow/net/stream.h"

#include <sys/socket.h>

#include <utility>

namespace snow::net {

absl::StatusOr<size_t> Stream::ReadSomeNow(std::span<char> buffer) {
  if (tls_) return absl::DeadlineExceededError("a TLS stream reads through its TLS layer");
  return tcp_.ReadSomeNow(buffer);
}

absl::StatusOr<size_t> Stream::WriteSomeNow(std::span<const char> data) {
  if (tls_) return 0;
  return tcp_.WriteSomeNow(data);
}

net_internal::WaitReadableAwaitable Stream::WaitReadable(absl::Duration timeout) {
  return {tcp_.fd(), timeout, tls_.has_value()};
}

Task<absl::Status> Stream::StartTls(TlsContext context) {
  if (tls_.has_value()) co_return absl::FailedPreconditionError("the stream is already TLS");
  absl::StatusOr<TlsStream> tls =
      co_await TlsStream::Handshake(std::move(context), std::move(tcp_));
  if (!tls.ok()) co_return tls.status();
  tls_.emplace(std::move(*tls));
  co_return absl::OkStatus();
}

net_internal::StreamReadAwaitable Stream::ReadSome(std::span<char> buffer, absl::Duration timeout) {
  if (tls_) return net_internal::StreamReadAwaitable(tls_->ReadSome(buffer, timeout));
  return net_internal::StreamReadAwaitable(tcp_.fd(), buffer, timeout);
}

net_internal::Immediate<absl::Status> Stream::ReadExactly(std::span<char> buffer,
                                                          absl::Duration timeout) {
  if (tls_) return tls_->ReadExactly(buffer, timeout);
  return tcp_.ReadExactly(buffer, timeout);
}

net_internal::Immediate<absl::Status> Stream::WriteAll(std::span<const char> data,
                                                       absl::Duration timeout) {
  if (tls_) return tls_->WriteAll(data, timeout);
  return tcp_.WriteAll(data, timeout);
}

const std::vector<std::string>& Stream::peer_alternative_names() const {
  static const std::vector<std::string> kNone;
  return tls_.has_value() ? tls_->peer_alternative_names() : kNone;
}

absl::StatusOr<std::string> Stream::ExportKeyingMaterial(std::string_view label,
                                                         std::string_view context,
                                                         size_t length) const {
  if (!tls_) return absl::FailedPreconditionError("a plain TCP stream has no keying material");
  return tls_->ExportKeyingMaterial(label, context, length);
}

void Stream::Reset() {
  if (tls_) {
    if (tls_->is_open()) tls_->tcp().Reset();
  } else {
    tcp_.Reset();
  }
}

void Stream::ShutdownNow() {
  const int fd = tls_ ? (tls_->is_open() ? tls_->tcp().fd() : -1) : tcp_.fd();
  if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
}

Task<absl::Status> Stream::Shutdown() {
  if (tls_) co_return co_await tls_->Shutdown();
  co_return co_await tcp_.Shutdown();
}

TcpStream Stream::TakeSocket() {
  if (!tls_) return std::move(tcp_);
  TcpStream socket = tls_->is_open() ? std::move(tls_->tcp()) : TcpStream();
  tls_.reset();  // its socket is gone, so it sends nothing
  return socket;
}

Task<absl::Status> Stream::Close() {
  if (tls_) co_return co_await tls_->Close();
  co_return co_await tcp_.Close();
}

}  // namespace snow::net
