// File: net/http.h
//
// HTTP/1.1 messages as net/'s HTTP server hands them to a handler and takes them back
// (net/http_server.h): a request, parsed and with its whole body; a response, with its body in
// a buffer.
//
//   Task<net::HttpResponse> Hello(Self, net::HttpRequest request) {
//     if (request.method != "GET") co_return net::HttpResponse::Text(405, "GET only\n");
//     co_return net::HttpResponse::Text(200, "hello");
//   }
//
// Header names keep the case the peer sent; Header() compares them case-insensitively.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace snow {
class Self;
template <typename T>
class Task;
}  // namespace snow

namespace snow::net {

class Stream;

struct HttpHeader {
  std::string name;
  std::string value;
};

struct HttpRequest {
  std::string method;     // "GET", "POST", ... as sent
  std::string target;     // the request target as sent: "/rooms/7?since=3"
  std::string path;       // its path, not percent-decoded: "/rooms/7"
  std::string query;      // what follows '?', without it: "since=3"
  int version_minor = 1;  // HTTP/1.<version_minor>
  std::vector<HttpHeader> headers;
  std::string body;  // the whole body, de-chunked
  // Whether the connection stays open after the answer (HTTP/1.1 unless "Connection: close";
  // HTTP/1.0 only with "Connection: keep-alive").
  bool keep_alive = true;
  // What a route's ":name" and "*name" segments matched (net/http_router.h), percent-decoded.
  std::vector<HttpHeader> params;

  // The value of the first header called `name` (in any case), if there is one.
  std::optional<std::string_view> Header(std::string_view name) const;
  // The route parameter `name`, if the route has one ("" when it matched nothing).
  std::optional<std::string_view> Param(std::string_view name) const;
};

// What takes a connection over after a "101 Switching Protocols" answer (net/websocket.h makes
// one). Run goes on in the connection's actor, with the bytes that followed the request.
class HttpUpgrade {
 public:
  virtual ~HttpUpgrade() = default;
  virtual Task<absl::Status> Run(Self self, Stream& stream, std::string leftover) = 0;
};

struct HttpResponse {
  int status = 200;
  std::vector<HttpHeader> headers = {};  // Content-Length, Date and Connection are the server's
  std::string body = {};
  // With status 101: the protocol the connection switches to once this answer is written.
  std::shared_ptr<HttpUpgrade> upgrade = nullptr;

  // `status` with `body` as text/plain; charset=utf-8.
  static HttpResponse Text(int status, std::string body);
  HttpResponse& With(std::string name, std::string value) {
    headers.push_back({std::move(name), std::move(value)});
    return *this;
  }
};

// "OK", "Not Found", ... ("" for a code it does not know).
std::string_view HttpReason(int status);

}  // namespace snow::net
