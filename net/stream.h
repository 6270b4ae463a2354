// File: net/stream.h
//
// Stream: one connected byte stream that is plain TCP or TLS over TCP, behind one interface, for
// code that speaks the same protocol either way (dist/ sessions; HTTP and HTTPS). Its operations
// return awaitables like TcpStream's and TlsStream's, so a span handed to them must be awaited in
// the same statement, as there.
//
//   absl::StatusOr<net::TcpStream> tcp = co_await net::TcpStream::Connect(address, timeout);
//   net::Stream stream(std::move(*tcp));
//   if (secure) {
//     absl::Status s = co_await stream.StartTls(client_context);   // now TLS, same object
//   }
//   absl::Status sent = co_await stream.WriteAll(bytes, timeout);
#pragma once

#include <cstddef>
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
#include "snow/net/tls.h"

namespace snow::net {

class Stream {
 public:
  // An unconnected stream (every operation fails).
  Stream() = default;
  explicit Stream(TcpStream tcp) : tcp_(std::move(tcp)) {}
  explicit Stream(TlsStream tls) : tls_(std::move(tls)) {}

  // Runs the TLS handshake as `context`'s role over this plain stream; from then on every
  // operation goes through TLS. On failure the stream is closed.
  Task<absl::Status> StartTls(TlsContext context);
  bool is_tls() const { return tls_.has_value(); }

  // As TcpStream::ReadSome / TlsStream::ReadSome: the count, 0 at the end of the stream.
  net_internal::StreamReadAwaitable ReadSome(std::span<char> buffer, absl::Duration timeout);
  // As TcpStream::ReadSomeNow and WriteSomeNow. Over TLS they do nothing (kDeadlineExceeded, 0
  // bytes taken): records go through the TLS layer's own reads and writes.
  absl::StatusOr<size_t> ReadSomeNow(std::span<char> buffer);
  absl::StatusOr<size_t> WriteSomeNow(std::span<const char> data);
  // As TcpStream::WaitReadable; over TLS, at once (bytes may wait in the TLS layer).
  net_internal::WaitReadableAwaitable WaitReadable(absl::Duration timeout);
  // Fills all of `buffer`; kUnavailable if the stream ends first.
  net_internal::Immediate<absl::Status> ReadExactly(std::span<char> buffer, absl::Duration timeout);
  // Sends all of `data` before it returns.
  net_internal::Immediate<absl::Status> WriteAll(std::span<const char> data,
                                                 absl::Duration timeout);

  // TLS only: the keying-material exporter (TlsStream::ExportKeyingMaterial). A plain stream has
  // no channel secret to bind to: kFailedPrecondition.
  absl::StatusOr<std::string> ExportKeyingMaterial(std::string_view label, std::string_view context,
                                                   size_t length) const;
  // TLS only: the subject alternative names of the peer's certificate (empty over plain TCP).
  const std::vector<std::string>& peer_alternative_names() const;
  // Half-close: this side writes no more (over TLS: close_notify; over TCP: a FIN); the peer
  // reads the end of the stream, and this side may go on reading.
  Task<absl::Status> Shutdown();
  // Closes at once with a reset, without close_notify: the peer sees the connection drop.
  void Reset();
  // Shuts the socket down both ways at once (shutdown(2)): a read another coroutine is blocked
  // in ends with the end of the stream, a blocked write with an error. Close must still follow.
  void ShutdownNow();
  // Closes in order (close_notify first over TLS).
  Task<absl::Status> Close();
  // Lets go of the TLS layer without a word to the peer (no close_notify) and returns the socket,
  // for a connection on which both sides have agreed to send no more records. The stream is
  // unconnected afterwards.
  TcpStream TakeSocket();

 private:
  TcpStream tcp_;                 // the socket, until TLS takes it
  std::optional<TlsStream> tls_;  // once StartTls succeeded
};

}  // namespace snow::net
