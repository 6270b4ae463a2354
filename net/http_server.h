// File: net/http_server.h
//
// HttpServer: HTTP/1.1 over TCP or TLS, one actor per connection on every shard (a TcpServer
// underneath), each request answered by a handler coroutine run in that actor.
//
//   Task<net::HttpResponse> Hello(Self, net::HttpRequest) {
//     co_return net::HttpResponse::Text(200, "hello");
//   }
//   SNOW_ASSIGN_OR_RETURN(net::HttpServer server,
//                         net::HttpServer::Start(self, address, {}, Hello));
//
// Per connection: keep-alive (HTTP/1.1 by default, HTTP/1.0 with "Connection: keep-alive"),
// pipelining (requests are answered one after another, in order; answers to requests that
// arrived together leave in one write), Content-Length and chunked request bodies, "Expect:
// 100-continue", HEAD (the headers of a GET, no body), "Connection: close". A handler gets the
// request by value, with its whole body, and returns the response; the server adds
// Content-Length, Date and Connection. A streamed response (HttpResponse::Streamed) is sent with
// "Transfer-Encoding: chunked", each Write of its producer a chunk as it is made (to an HTTP/1.0
// client: the bytes, then the connection closes).
//
// Limits (HttpServerOptions), each answered and then the connection closed, the server going on:
// a request line and headers over max_header_bytes, or more than max_headers headers: 431; a
// body over max_body_bytes: 413 (at once, from Content-Length, before the body is read); the
// head not received within header_timeout of its first byte (slowloris): 408; an expectation
// other than 100-continue: 417; an HTTP version other than 1.x: 505; anything malformed (request
// line, header, chunk size): 400. A connection with no request under way for idle_timeout is
// closed; one that has served max_requests_per_connection answers the last with "Connection:
// close". The connection cap is TcpServer's (serve.listen.limit).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "snow/core/actor.h"
#include "snow/core/task.h"
#include "snow/net/http.h"
#include "snow/net/server.h"
#include "snow/net/socket_address.h"
#include "snow/net/tls.h"

namespace snow::net {

struct HttpServerOptions {
  ServeOptions serve = {};
  // HTTPS: a server context (TlsRole::kServer with a certificate). None: plain HTTP.
  std::optional<TlsContext> tls = std::nullopt;
  size_t max_header_bytes = 8 * 1024;
  size_t max_headers = 64;
  size_t max_body_bytes = size_t{1} << 20;
  absl::Duration header_timeout = absl::Seconds(10);
  absl::Duration idle_timeout = absl::Seconds(60);
  absl::Duration write_timeout = absl::Seconds(30);
  uint32_t max_requests_per_connection = 100000;
};

// Runs in the connection's actor; the request is the handler's own (taken by value).
using HttpHandler = std::function<Task<HttpResponse>(Self, HttpRequest)>;

class HttpServer {
 public:
  // Binds and starts accepting; errors are TcpServer::Start's.
  static absl::StatusOr<HttpServer> Start(Self self, SocketAddress address,
                                          HttpServerOptions options, HttpHandler handler);

  const SocketAddress& address() const { return tcp_.address(); }
  // Stops accepting; connections already open go on (TcpServer::Stop).
  void Stop() { tcp_.Stop(); }

 private:
  explicit HttpServer(TcpServer tcp) : tcp_(std::move(tcp)) {}
  TcpServer tcp_;
};

}  // namespace snow::net
