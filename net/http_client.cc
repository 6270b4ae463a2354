#include "snow/net/http_client.h"

#include <span>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "snow/core/status.h"
#include "snow/net/internal/http_response_parser.h"
#include "snow/net/stream.h"

namespace snow::net {

struct HttpClient::State {
  State(Stream stream, HttpClientOptions options, std::string host)
      : stream(std::move(stream)),
        options(std::move(options)),
        host(std::move(host)),
        parser({.max_header_bytes = this->options.max_header_bytes,
                .max_body_bytes = this->options.max_body_bytes}) {}

  Stream stream;
  const HttpClientOptions options;
  const std::string host;
  net_internal::HttpResponseParser parser;
  std::string out;             // queued requests, not written yet
  std::deque<bool> expecting;  // for each request sent or queued: whether it is a HEAD
  std::vector<char> buffer = std::vector<char>(16 * 1024);
  size_t begin = 0;  // bytes in buffer[begin, end) are read and not parsed yet
  size_t end = 0;
  bool open = true;
};

Task<absl::StatusOr<HttpClient>> HttpClient::Connect(SocketAddress address,
                                                     HttpClientOptions options) {
  absl::StatusOr<TcpStream> tcp =
      co_await TcpStream::Connect(address, options.connect_timeout, options.tcp);
  SNOW_CO_RETURN_IF_ERROR(tcp.status());
  Stream stream(std::move(*tcp));
  if (options.tls.has_value()) {
    absl::Status secured = co_await stream.StartTls(*options.tls);
    SNOW_CO_RETURN_IF_ERROR(secured);
  }
  std::string host = options.host.empty() ? address.ToString() : options.host;
  HttpClient client(
      std::make_unique<State>(std::move(stream), std::move(options), std::move(host)));
  co_return client;
}

Task<absl::StatusOr<HttpClient>> HttpClient::Connect(SocketAddress address) {
  const HttpClientOptions defaults;
  co_return co_await Connect(address, defaults);
}

HttpClient::HttpClient(std::unique_ptr<State> state) : state_(std::move(state)) {}
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;
HttpClient::~HttpClient() = default;

void HttpClient::Queue(const HttpRequest& request) {
  State& s = *state_;
  absl::StrAppend(&s.out, request.method.empty() ? "GET" : request.method, " ",
                  request.target.empty() ? "/" : request.target, " HTTP/1.1\r\nHost: ", s.host,
                  "\r\n");
  bool has_length = false;
  for (const HttpHeader& h : request.headers) {
    absl::StrAppend(&s.out, h.name, ": ", h.value, "\r\n");
    has_length = has_length || absl::EqualsIgnoreCase(h.name, "Content-Length") ||
                 absl::EqualsIgnoreCase(h.name, "Transfer-Encoding");
  }
  if (!has_length && (!request.body.empty() || request.method == "POST" ||
                      request.method == "PUT" || request.method == "PATCH")) {
    absl::StrAppend(&s.out, "Content-Length: ", request.body.size(), "\r\n");
  }
  if (!request.keep_alive) s.out.append("Connection: close\r\n");
  s.out.append("\r\n");
  s.out.append(request.body);
  s.expecting.push_back(request.method == "HEAD");
}

Task<absl::StatusOr<HttpResponse>> HttpClient::Fetch(const HttpRequest& request) {
  Queue(request);
  co_return co_await Receive();
}

Task<absl::StatusOr<HttpResponse>> HttpClient::Get(std::string_view target) {
  HttpRequest request;
  request.target = std::string(target);
  Queue(request);
  co_return co_await Receive();
}

Task<absl::StatusOr<HttpResponse>> HttpClient::Receive() {
  State& s = *state_;
  if (!s.open) co_return absl::FailedPreconditionError("the connection is closed");
  if (s.expecting.empty()) co_return absl::FailedPreconditionError("no request is waiting");
  if (!s.out.empty()) {
    absl::Status written = co_await s.stream.WriteAll(s.out, s.options.timeout);
    s.out.clear();
    if (!written.ok()) {
      s.open = false;
      co_return written;
    }
  }
  s.parser.ExpectAnswerTo(s.expecting.front());
  const absl::Time deadline = absl::Now() + s.options.timeout;
  for (;;) {
    if (s.begin < s.end) {
      size_t used = 0;
      const auto event =
          s.parser.Parse(std::string_view(s.buffer.data() + s.begin, s.end - s.begin), &used);
      s.begin += used;
      if (event == net_internal::HttpResponseParser::Event::kResponse) break;
      if (event == net_internal::HttpResponseParser::Event::kError) {
        s.open = false;
        co_return absl::DataLossError(s.parser.error());
      }
    } else {
      s.begin = s.end = 0;
      absl::StatusOr<size_t> n = co_await s.stream.ReadSome(
          std::span<char>(s.buffer), std::max(deadline - absl::Now(), absl::ZeroDuration()));
      if (!n.ok()) {
        s.open = false;
        co_return n.status();
      }
      if (*n == 0) {
        // The end of the stream ends a body that runs to the close; anything else is cut short.
        if (s.parser.Finish() != net_internal::HttpResponseParser::Event::kResponse) {
          s.open = false;
          co_return absl::UnavailableError(s.parser.error());
        }
        break;
      }
      s.end = *n;
    }
  }
  s.expecting.pop_front();
  s.open = s.parser.keep_alive();
  co_return s.parser.TakeResponse();
}

size_t HttpClient::pending() const { return state_->expecting.size(); }
bool HttpClient::open() const { return state_->open; }

Stream HttpClient::TakeStream(std::string* unread) {
  State& s = *state_;
  unread->assign(s.buffer.data() + s.begin, s.end - s.begin);
  s.begin = s.end = 0;
  s.open = false;
  return std::move(s.stream);
}

Task<absl::Status> HttpClient::Close() {
  state_->open = false;
  co_return co_await state_->stream.Close();
}

}  // namespace snow::net
