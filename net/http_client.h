// File: net/http_client.h
//
// HttpClient: one HTTP/1.1 connection to a server, over TCP or TLS, kept alive across requests.
// A request is an HttpRequest (method, target, headers, body); its answer an HttpResponse
// (status, headers, whole body: Content-Length, chunked, or up to the close).
//
//   SNOW_CO_ASSIGN_OR_RETURN(net::HttpClient client, co_await net::HttpClient::Connect(address));
//   SNOW_CO_ASSIGN_OR_RETURN(net::HttpResponse hello, co_await client.Get("/hello"));
//
// Pipelining: Queue any number of requests, then Receive their answers, in order. The queued
// requests leave together, in one write, when the first Receive needs them.
//
//   for (int i = 0; i < 8; ++i) client.Queue({.method = "GET", .target = "/"});
//   for (int i = 0; i < 8; ++i) SNOW_CO_ASSIGN_OR_RETURN(auto r, co_await client.Receive());
//
// The client adds Host (HttpClientOptions::host, or the address), Content-Length when there is
// a body, and "Connection: close" when request.keep_alive is false. After an answer that closes
// the connection (or any error), open() is false and every call fails: connect again.
//
// Shard affinity: a client is used by one coroutine at a time, on the shard that connected it.
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "snow/core/task.h"
#include "snow/net/http.h"
#include "snow/net/socket_address.h"
#include "snow/net/tcp.h"
#include "snow/net/tls.h"

namespace snow::net {

class Stream;

struct HttpClientOptions {
  // HTTPS: a client context (TlsRole::kClient; its server_name for SNI and verification).
  std::optional<TlsContext> tls = std::nullopt;
  std::string host = {};  // the Host header; the address when empty
  TcpOptions tcp = {};    // socket options, and the source address to connect from
  absl::Duration connect_timeout = absl::Seconds(10);
  // For each answer: from the moment Receive starts waiting to its last byte.
  absl::Duration timeout = absl::Seconds(30);
  size_t max_header_bytes = 64 * 1024;
  size_t max_body_bytes = size_t{64} << 20;
};

class HttpClient {
 public:
  // Connects (and runs the TLS handshake). Errors are TcpStream::Connect's and StartTls's.
  static Task<absl::StatusOr<HttpClient>> Connect(SocketAddress address, HttpClientOptions options);
  // With the default options. (Not a default argument: g++ 12 destroys a braced default
  // argument of a coroutine twice.)
  static Task<absl::StatusOr<HttpClient>> Connect(SocketAddress address);

  HttpClient(HttpClient&&) noexcept;
  HttpClient& operator=(HttpClient&&) noexcept;
  ~HttpClient();

  // Sends `request` and reads its answer (after the answers to requests queued before it).
  Task<absl::StatusOr<HttpResponse>> Fetch(const HttpRequest& request);
  Task<absl::StatusOr<HttpResponse>> Get(std::string_view target);
  // Adds `request` to those to send; Receive sends them.
  void Queue(const HttpRequest& request);
  // The answer to the oldest request not yet answered. kFailedPrecondition when none is
  // queued; kDeadlineExceeded past options.timeout; kUnavailable when the connection ends,
  // kDataLoss when the answer is malformed or over a limit (the connection is then closed).
  Task<absl::StatusOr<HttpResponse>> Receive();
  size_t pending() const;  // requests queued or sent, not yet answered
  bool open() const;

  // Closes in order (close_notify over TLS).
  Task<absl::Status> Close();
  // After a 101 answer: the connection, for the protocol it switched to, and in `unread` the
  // bytes already read past the answer. The client is closed from then on.
  Stream TakeStream(std::string* unread);

 private:
  struct State;
  explicit HttpClient(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace snow::net
