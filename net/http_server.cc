#include "snow/net/http_server.h"

#include <ctime>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
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

// What a connection turns into after a 101 answer: the other protocol, and the bytes that
// followed the request.
struct Switch {
  std::shared_ptr<HttpUpgrade> upgrade;
  std::string leftover;
};

// Appends the answer to a request that cannot be served, after which the connection closes.
void AppendError(int status, const std::string& why, std::string& out) {
  Serialize(ErrorResponse(status, why), false, false, 1, out);
}

// A streamed answer that declares a Content-Length that is not a number is the handler's
// mistake, answered plainly rather than with a head that lies.
void RefuseBadStreamedLength(HttpResponse& response) {
  if (response.streamed_body != nullptr && response.Header("Content-Length") &&
      !StreamedLength(response)) {
    response = ErrorResponse(500, "the streamed response's Content-Length is not a number");
  }
}

// Sends a streamed answer: its head (after the answers waiting in `out`) now, its body as the
// producer makes it. Whether the connection may go on.
Task<bool> SendStreamed(Self self, Stream& stream, HttpResponse response, bool keep_alive,
                        int minor, std::string& out, absl::Duration write_timeout) {
  const std::optional<uint64_t> length = StreamedLength(response);
  const bool chunked = minor >= 1 && !length;
  const bool delimited = chunked || length.has_value();
  Serialize(response, false, keep_alive && delimited, minor, out);
  absl::Status status = co_await stream.WriteAll(out, write_timeout);
  out.clear();
  if (!status.ok()) co_return false;
  HttpBodyWriter writer(stream, chunked, write_timeout);
  status = co_await response.streamed_body(self, writer);
  if (status.ok()) status = co_await writer.Finish();
  // A producer that failed, or wrote other than its length, leaves the body wrong: only closing
  // tells the peer.
  const bool whole = status.ok() && (!length || writer.written() == *length);
  const bool go_on = whole && keep_alive && delimited;
  co_return go_on;
}

// Serves requests until the connection is to close, or until one switches protocols. Its frame
// lives only while requests are served (what it needs only now and then is in the helpers).
Task<Switch> ServeRequests(Self self, Stream& stream, const Service& service) {
  const HttpServerOptions& options = service.options;
  net_internal::HttpRequestParser parser({.max_header_bytes = options.max_header_bytes,
                                          .max_headers = options.max_headers,
                                          .max_body_bytes = options.max_body_bytes});
  // Small until a read fills it (most heads are far smaller), then large for bodies and deep
  // pipelines.
  std::vector<char> buffer(1024);
  size_t begin = 0;
  size_t end = 0;
  std::string out;  // answers not written yet (pipelined requests' answers go together)
  uint32_t served = 0;
  absl::Time head_deadline = absl::InfiniteFuture();
  absl::Status status;
  bool open = true;
  bool fresh = true;  // the first bytes are there (ServeHttp waited for them)
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
      // The first read takes what is known to be there without a loop turn, so that a request
      // answered at once (an upgrade) holds this frame only for the time it is served.
      absl::StatusOr<size_t> n = size_t{0};
      bool read = false;
      if (std::exchange(fresh, false)) {
        n = stream.ReadSomeNow(std::span<char>(buffer));
        read = n.ok() || !absl::IsDeadlineExceeded(n.status());
      }
      if (!read) n = co_await stream.ReadSome(std::span<char>(buffer), wait);
      if (!n.ok()) {
        if (absl::IsDeadlineExceeded(n.status()) && parser.mid_request() &&
            !parser.head_complete()) {
          AppendError(408, "the request's head did not arrive in time", out);
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
        AppendError(parser.error_status(), parser.error(), out);
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
        HttpResponse response = co_await service.handler(self, std::move(request));
        if (response.status == 101 && response.upgrade != nullptr) {
          // The connection is the other protocol's from here; what followed the request is its.
          std::shared_ptr<HttpUpgrade> upgrade = std::move(response.upgrade);
          Serialize(response, false, true, minor, out);
          // A fresh connection's buffer takes a short answer at once.
          absl::StatusOr<size_t> taken = stream.WriteSomeNow(out);
          status = taken.status();
          if (taken.ok() && *taken < out.size()) {
            status = co_await stream.WriteAll(std::string_view(out).substr(*taken),
                                              options.write_timeout);
          }
          out.clear();
          if (status.ok()) {
            Switch next{std::move(upgrade), std::string(buffer.data() + begin, end - begin)};
            co_return next;
          }
          open = false;
          break;
        }
        RefuseBadStreamedLength(response);
        if (response.streamed_body != nullptr && !head && !HasNoBody(response.status)) {
          open = co_await SendStreamed(self, stream, std::move(response), keep_alive, minor, out,
                                       options.write_timeout);
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
  co_return Switch{};
}

// A new connection until it closes or switches protocols; then the other protocol's task, not
// yet started (an empty task when there is none).
Task<Task<absl::Status>> ServeHttp(Self self, Stream& stream,
                                   std::shared_ptr<const Service> service) {
  if (service->options.tls.has_value()) {
    absl::Status secured = co_await stream.StartTls(*service->options.tls);
    if (!secured.ok()) co_return Task<absl::Status>();  // a failed handshake ends only this one
  }
  // Nothing is made for requests until the first bytes arrive: a server that thousands connect
  // to at once (a WebSocket server after a restart) holds little for each meanwhile.
  absl::Status readable = co_await stream.WaitReadable(service->options.idle_timeout);
  if (!readable.ok()) co_return Task<absl::Status>();
  Switch next = co_await ServeRequests(self, stream, *service);
  if (next.upgrade == nullptr) co_return Task<absl::Status>();
  co_return next.upgrade->Run(self, stream, std::move(next.leftover));
}

Task<absl::Status> HttpConnection(Self self, TcpStream tcp,
                                  std::shared_ptr<const Service> service) {
  Stream stream(std::move(tcp));
  // The other protocol, if the connection switches, runs from this small frame, without the
  // HTTP parser, buffers, request, answer or upgrade: a WebSocket may hold it for hours.
  Task<absl::Status> protocol = co_await ServeHttp(self, stream, std::move(service));
  if (protocol.valid()) (void)co_await std::move(protocol);
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
