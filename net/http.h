// File: net/http.h
//
// HTTP/1.1 messages: a request, parsed and with its whole body, and a response, with its body in
// a buffer or written piece by piece by a coroutine. The server (net/http_server.h) hands a
// handler the request and takes the response back; the client (net/http_client.h) sends a
// request (method, target, headers, body) and gets the response (status, headers, body).
//
//   Task<net::HttpResponse> Hello(Self, net::HttpRequest request) {
//     if (request.method != "GET") co_return net::HttpResponse::Text(405, "GET only\n");
//     co_return net::HttpResponse::Text(200, "hello");
//   }
//
//   Task<absl::Status> Count(Self, net::HttpBodyWriter& body) {   // a streamed body
//     for (int i = 0; i < 3; ++i) SNOW_CO_RETURN_IF_ERROR(co_await body.Write("tick\n"));
//     co_return absl::OkStatus();
//   }
//   co_return net::HttpResponse::Streamed(200, Count);
//
// Header names keep the case the peer sent; Header() compares them case-insensitively.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace snow {
class Self;
template <typename T>
class Task;
}  // namespace snow

namespace snow::net {

class Stream;
class HttpBodyWriter;

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

// A body produced while it is sent. It runs in the connection's actor after the head is written;
// failing ends the connection without the body's end, so the peer sees it cut short.
using HttpBodyProducer = std::function<Task<absl::Status>(Self, HttpBodyWriter&)>;

// What takes a connection over after a "101 Switching Protocols" answer (net/websocket.h makes
// one). The connection's actor calls Run once, with the bytes that followed the request, lets go
// of this object, and then awaits the task Run returned: that task must own what it uses. So Run
// is best a plain function handing its members by value to a coroutine, not a coroutine itself.
class HttpUpgrade {
 public:
  virtual ~HttpUpgrade() = default;
  virtual Task<absl::Status> Run(Self self, Stream& stream, std::string leftover) = 0;
};

struct HttpResponse {
  int status = 200;
  std::vector<HttpHeader> headers = {};  // Content-Length, Date and Connection are the server's
  std::string body = {};
  // Instead of `body`: a body written piece by piece, sent chunked (to an HTTP/1.0 client, as
  // it comes, then the connection closes). With a Content-Length header, sent as it comes under
  // that length, which the producer must write exactly (or the connection is closed). The
  // server's only; a client's answer is whole.
  HttpBodyProducer streamed_body = nullptr;
  // With status 101: the protocol the connection switches to once this answer is written.
  std::shared_ptr<HttpUpgrade> upgrade = nullptr;

  // `status` with `body` as text/plain; charset=utf-8.
  static HttpResponse Text(int status, std::string body);
  // `status` with a body that `producer` writes as it goes.
  static HttpResponse Streamed(int status, HttpBodyProducer producer);
  HttpResponse& With(std::string name, std::string value) {
    headers.push_back({std::move(name), std::move(value)});
    return *this;
  }
  // The value of the first header called `name` (in any case), if there is one.
  std::optional<std::string_view> Header(std::string_view name) const;
};

// Where a streamed body's pieces go: each Write is sent at once (as one chunk when chunked).
class HttpBodyWriter {
 public:
  HttpBodyWriter(Stream& stream, bool chunked, absl::Duration timeout)
      : stream_(stream), chunked_(chunked), timeout_(timeout) {}
  // Sends `piece` (nothing when it is empty); fails once the peer is gone or stops reading.
  Task<absl::Status> Write(std::string_view piece);
  uint64_t written() const { return written_; }  // body bytes so far
  // The end of a chunked body (the server's, after the producer).
  Task<absl::Status> Finish();

 private:
  Stream& stream_;
  const bool chunked_;
  const absl::Duration timeout_;
  std::string buffer_;
  uint64_t written_ = 0;
};

// Whether a comma-separated header value ("keep-alive, Upgrade") holds `token`, in any case.
bool HeaderHasToken(std::optional<std::string_view> value, std::string_view token);

// "OK", "Not Found", ... ("" for a code it does not know).
std::string_view HttpReason(int status);

}  // namespace snow::net
