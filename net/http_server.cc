#include "snow/net/http_server.h"

#include <ctime>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "snow/core/status.h"
#include "snow/net/internal/http_request_parser.h"
#include "snow/net/stream.h"

namespace snow::net {
namespace {

struct Service {
  HttpServerOptions options;
  HttpHandler handler;
};

// "Date: Thu, 03 Dec 2026 10:00:00 GMT\r\n", made again at most once a second per thread.
std::string_view DateHeader() {
  thread_local std::time_t made = 0;
  thread_local char line[64];
  thread_local size_t length = 0;
  const std::time_t now = std::time(nullptr);
  if (now != made) {
    std::tm utc;
    gmtime_r(&now, &utc);
    length = std::strftime(line, sizeof line, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &utc);
    made = now;
  }
  return std::string_view(line, length);
}

bool HasNoBody(int status) { return status < 200 || status == 204 || status == 304; }

// The length a streamed response declares in its own Content-Length header, if it does.
std::optional<uint64_t> StreamedLength(const HttpResponse& response) {
  uint64_t length = 0;
  std::optional<std::string_view> declared = response.Header("Content-Length");
  if (!declared || !absl::SimpleAtoi(AbslView(*declared), &length)) return std::nullopt;
  return length;
}

// Appends `response` to `out` as the answer to a request (HEAD: without the body).
void Serialize(const HttpResponse& response, bool head, bool keep_alive, int request_minor,
               std::string& out) {
  absl::StrAppend(&out, "HTTP/1.1 ", response.status, " ", AbslView(HttpReason(response.status)),
                  "\r\n");
  for (const HttpHeader& h : response.headers) absl::StrAppend(&out, h.name, ": ", h.value, "\r\n");
  if (HasNoBody(response.status)) {
    // No body, and no length.
  } else if (response.streamed_body == nullptr) {
    absl::StrAppend(&out, "Content-Length: ", response.body.size(), "\r\n");
  } else if (request_minor >= 1 && !StreamedLength(response)) {
    out.append("Transfer-Encoding: chunked\r\n");
  }  // else the producer's Content-Length, or (HTTP/1.0) the body ends with the connection
  out.append(DateHeader());
  if (!keep_alive) {
    out.append("Connection: close\r\n");
  } else if (request_minor == 0) {
    out.append("Connection: keep-alive\r\n");
  }
  out.append("\r\n");
  if (!head && !HasNoBody(response.status)) out.append(response.body);
}

HttpResponse ErrorResponse(int status, const std::string& why) {
  return HttpResponse::Text(
      status, absl::StrCat(status, " ", AbslView(HttpReason(status)), ": ", why, "\n"));
}

Task<absl::Status> HttpConnection(Self self, TcpStream tcp,
                                  std::shared_ptr<const Service> service) {
  const HttpServerOptions& options = service->options;
  Stream stream(std::move(tcp));
  if (options.tls.has_value()) {
    absl::Status secured = co_await stream.StartTls(*options.tls);
    if (!secured.ok()) co_return absl::OkStatus();  // a failed handshake ends only this connection
  }
  net_internal::HttpRequestParser parser({.max_header_bytes = options.max_header_bytes,
                                          .max_headers = options.max_headers,
                                          .max_body_bytes = options.max_body_bytes});
  // Small until a read fills it (most heads are far smaller; a WebSocket holds this frame for
  // its life), then large for bodies and deep pipelines.
  std::vector<char> buffer(2 * 1024);
  size_t begin = 0;
  size_t end = 0;
  std::string out;  // answers not written yet (pipelined requests' answers go together)
  uint32_t served = 0;
  absl::Time head_deadline = absl::InfiniteFuture();
  absl::Status status;
  bool open = true;
  while (open) {
    if (begin == end) {
      if (!out.empty()) {
        status = co_await stream.WriteAll(out, options.write_timeout);
        out.clear();
        if (!status.ok()) break;
      }
      begin = end = 0;
      absl::Duration wait = options.idle_timeout;
      if (parser.mid_request() && !parser.head_complete()) {
        wait = std::max(head_deadline - absl::Now(), absl::ZeroDuration());
      }
      absl::StatusOr<size_t> n = co_await stream.ReadSome(std::span<char>(buffer), wait);
      if (!n.ok()) {
        if (absl::IsDeadlineExceeded(n.status()) && parser.mid_request() &&
            !parser.head_complete()) {
          Serialize(ErrorResponse(408, "the request's head did not arrive in time"), false, false,
                    1, out);
          (void)co_await stream.WriteAll(out, options.write_timeout);
        }
        break;  // idle, reset, or timed out
      }
      if (*n == 0) break;  // the peer closed
      end = *n;
      if (end == buffer.size() && buffer.size() < 16 * 1024) buffer.resize(16 * 1024);
    }
    size_t used = 0;
    const auto event = parser.Parse(std::string_view(buffer.data() + begin, end - begin), &used);
    begin += used;
    if (parser.mid_request() && head_deadline == absl::InfiniteFuture()) {
      head_deadline = absl::Now() + options.header_timeout;
    }
    switch (event) {
      case net_internal::HttpRequestParser::Event::kNeedMore:
        break;
      case net_internal::HttpRequestParser::Event::kContinue:
        out.append("HTTP/1.1 100 Continue\r\n\r\n");
        status = co_await stream.WriteAll(out, options.write_timeout);
        out.clear();
        open = status.ok();
        break;
      case net_internal::HttpRequestParser::Event::kError:
        Serialize(ErrorResponse(parser.error_status(), parser.error()), false, false, 1, out);
        status = co_await stream.WriteAll(out, options.write_timeout);
        out.clear();
        open = false;
        break;
      case net_internal::HttpRequestParser::Event::kRequest: {
        HttpRequest request = parser.TakeRequest();
        head_deadline = absl::InfiniteFuture();
        ++served;
        const bool keep_alive = request.keep_alive && served < options.max_requests_per_connection;
        const bool head = request.method == "HEAD";
        const int minor = request.version_minor;
        HttpResponse response = co_await service->handler(self, std::move(request));
        if (response.status == 101 && response.upgrade != nullptr) {
          // The connection is the other protocol's from here; what followed the request is its.
          std::shared_ptr<HttpUpgrade> upgrade = std::move(response.upgrade);
          Serialize(response, false, true, minor, out);
          status = co_await stream.WriteAll(out, options.write_timeout);
          out.clear();
          if (status.ok()) {
            std::string leftover(buffer.data() + begin, end - begin);
            // The other protocol reads with buffers of its own: these stay small while it runs.
            std::vector<char>().swap(buffer);
            std::string().swap(out);
            status = co_await upgrade->Run(self, stream, std::move(leftover));
          }
          open = false;
          break;
        }
        if (response.streamed_body != nullptr && response.Header("Content-Length") &&
            !StreamedLength(response)) {
          // The handler's mistake, answered plainly rather than with a head that lies.
          response = ErrorResponse(500, "the streamed response's Content-Length is not a number");
        }
        if (response.streamed_body != nullptr && !head && !HasNoBody(response.status)) {
          // The head (after any answers still waiting) goes now; the body as it is made.
          const std::optional<uint64_t> length = StreamedLength(response);
          const bool chunked = minor >= 1 && !length;
          const bool delimited = chunked || length.has_value();
          Serialize(response, head, keep_alive && delimited, minor, out);
          status = co_await stream.WriteAll(out, options.write_timeout);
          out.clear();
          if (!status.ok()) break;
          HttpBodyWriter writer(stream, chunked, options.write_timeout);
          status = co_await response.streamed_body(self, writer);
          if (status.ok()) status = co_await writer.Finish();
          // A producer that failed, or wrote other than its length, leaves the body wrong:
          // only closing tells the peer.
          const bool whole = status.ok() && (!length || writer.written() == *length);
          open = whole && keep_alive && delimited;
          break;
        }
        Serialize(response, head, keep_alive, minor, out);
        if (!keep_alive) {
          status = co_await stream.WriteAll(out, options.write_timeout);
          out.clear();
          open = false;
        } else if (out.size() >= 64 * 1024) {
          status = co_await stream.WriteAll(out, options.write_timeout);
          out.clear();
          open = status.ok();
        }
        break;
      }
    }
  }
  (void)co_await stream.Close();
  co_return absl::OkStatus();
}

}  // namespace

absl::StatusOr<HttpServer> HttpServer::Start(Self self, SocketAddress address,
                                             HttpServerOptions options, HttpHandler handler) {
  auto service = std::make_shared<const Service>(Service{options, std::move(handler)});
  SNOW_ASSIGN_OR_RETURN(TcpServer tcp,
                        TcpServer::Start(self, address, options.serve, HttpConnection, service));
  return HttpServer(std::move(tcp));
}

}  // namespace snow::net
