// Fuzzes the chunked decoding of net/'s HTTP parsers, on both sides: after its first byte (which
// chooses a chunking) the input is a chunked body, sent once after a fixed request head to
// HttpRequestParser and once after a fixed answer head to HttpResponseParser. On each side:
// parsing in those chunks must give exactly what parsing in one piece does; a body is never
// over the limit; and when the input starts with a strictly valid chunked body (as Dechunk below
// reads it), the first message's body, if the parser completes one, is the de-chunked bytes —
// and it completes one when that body is within the limit and has no trailers. http-parser is
// more lenient than Dechunk (a bare CR or LF for a CRLF, anything in an extension, spaces after
// a size): what only it accepts is not compared. Trailers are not required to pass, since
// http-parser reads them as headers (Content-Length or Transfer-Encoding there may be refused).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "snow/net/internal/http_request_parser.h"
#include "snow/test/fuzz/cuts.h"
#include "snow/test/fuzz/http_answers.h"

namespace {

using snow::fuzzing::Check;
using snow::net_internal::HttpLimits;
using snow::net_internal::HttpRequestParser;

constexpr std::string_view kRequestHead =
    "POST / HTTP/1.1\r\nHost: f\r\nTransfer-Encoding: chunked\r\n\r\n";
constexpr std::string_view kAnswerHead = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
constexpr size_t kMaxBody = 4096;

// The reference: a strict reading of a chunked body (RFC 9112 7.1, without optional
// whitespace) at the start of `in`, and what follows it ignored.
//   chunked-body = *chunk last-chunk trailers CRLF
//   chunk        = 1*HEXDIG *( ";" token [ "=" ( token / quoted-string ) ] ) CRLF data CRLF
//   last-chunk   = 1*"0" (the same extensions) CRLF
//   trailers     = *( token ":" *( VCHAR / SP / HTAB ) CRLF )
struct Dechunked {
  std::string body;
  size_t trailers = 0;
};

bool IsToken(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool AtEnd() const { return pos_ == in_.size(); }
  char Peek() const { return in_[pos_]; }
  bool Take(char c) {
    if (AtEnd() || Peek() != c) return false;
    ++pos_;
    return true;
  }
  bool Crlf() { return Take('\r') && Take('\n'); }
  bool Token() {
    const size_t start = pos_;
    while (!AtEnd() && IsToken(Peek())) ++pos_;
    return pos_ > start;
  }
  bool QuotedString() {
    if (!Take('"')) return false;
    while (!AtEnd()) {
      const unsigned char c = static_cast<unsigned char>(in_[pos_++]);
      if (c == '"') return true;
      if (c == '\\') {
        if (AtEnd()) return false;
        const unsigned char escaped = static_cast<unsigned char>(in_[pos_++]);
        if (escaped != '\t' && (escaped < 0x20 || escaped > 0x7e)) return false;
      } else if (c != '\t' && (c < 0x20 || c > 0x7e)) {
        return false;
      }
    }
    return false;
  }
  bool Extensions() {
    while (Take(';')) {
      if (!Token()) return false;
      if (Take('=') && !Token() && !QuotedString()) return false;
    }
    return true;
  }
  // 1*HEXDIG, at most 2^32 (larger is over any limit here).
  std::optional<uint64_t> Size() {
    uint64_t size = 0;
    size_t digits = 0;
    while (!AtEnd() && HexValue(Peek()) >= 0) {
      size = size * 16 + static_cast<uint64_t>(HexValue(Peek()));
      if (size > (uint64_t{1} << 32)) return std::nullopt;
      ++pos_;
      ++digits;
    }
    if (digits == 0) return std::nullopt;
    return size;
  }
  std::optional<std::string_view> Data(uint64_t size) {
    if (in_.size() - pos_ < size) return std::nullopt;
    const std::string_view data = in_.substr(pos_, size);
    pos_ += size;
    return data;
  }
  // A trailer line, after its first byte was seen to be a token's.
  bool Trailer() {
    if (!Token() || !Take(':')) return false;
    while (!AtEnd()) {
      const unsigned char c = static_cast<unsigned char>(Peek());
      if (c != ' ' && c != '\t' && (c < 0x21 || c > 0x7e)) break;
      ++pos_;
    }
    return Crlf();
  }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

std::optional<Dechunked> Dechunk(std::string_view in) {
  Reader r(in);
  Dechunked out;
  for (;;) {
    const std::optional<uint64_t> size = r.Size();
    if (!size || !r.Extensions() || !r.Crlf()) return std::nullopt;
    if (*size == 0) break;
    const std::optional<std::string_view> data = r.Data(*size);
    if (!data || !r.Crlf()) return std::nullopt;
    out.body.append(*data);
  }
  while (!r.AtEnd() && IsToken(r.Peek())) {
    if (!r.Trailer()) return std::nullopt;
    ++out.trailers;
  }
  if (!r.Crlf()) return std::nullopt;
  return out;
}

// The request side: every request flattened (with its body), then how the stream ended.
struct Requests {
  std::vector<std::string> events;
  std::vector<std::string> bodies;
  bool operator==(const Requests&) const = default;
};

Requests RunRequests(std::string_view stream, const HttpLimits& limits,
                     const std::vector<size_t>& cuts) {
  Requests out;
  HttpRequestParser parser(limits);
  size_t pos = 0;
  bool failed = false;
  auto feed = [&](size_t end) {
    while (!failed && pos < end) {
      size_t used = 0;
      const HttpRequestParser::Event e = parser.Parse(stream.substr(pos, end - pos), &used);
      Check(used <= end - pos);
      pos += used;
      switch (e) {
        case HttpRequestParser::Event::kRequest: {
          snow::net::HttpRequest r = parser.TakeRequest();
          Check(r.body.size() <= limits.max_body_bytes);
          Check(r.headers.size() <= limits.max_headers);
          std::string flat = r.method + " " + r.target + (r.keep_alive ? " keep\n" : " close\n");
          for (const auto& h : r.headers) flat += h.name + ": " + h.value + "\n";
          out.events.push_back(flat + "\n" + r.body);
          out.bodies.push_back(std::move(r.body));
          break;
        }
        case HttpRequestParser::Event::kContinue:
          out.events.push_back("continue");
          break;
        case HttpRequestParser::Event::kError: {
          // Which refusal (400, 413, 431) may depend on the cuts (fuzz_http_request.cc says
          // why): only that there was one is compared.
          const int status = parser.error_status();
          Check(status >= 400 && status <= 505);
          size_t again = 1;
          Check(parser.Parse(stream, &again) == HttpRequestParser::Event::kError && again == 0);
          out.events.push_back("error");
          failed = true;
          return;
        }
        case HttpRequestParser::Event::kNeedMore:
          Check(pos == end);
          return;
      }
    }
  };
  for (size_t cut : cuts) feed(cut);
  feed(stream.size());
  return out;
}

// The first message's body against the reference.
void CheckBodies(const std::optional<Dechunked>& expected, const std::vector<std::string>& bodies) {
  if (!expected) return;
  if (!bodies.empty()) Check(bodies.front() == expected->body);
  if (expected->trailers == 0 && expected->body.size() <= kMaxBody) Check(!bodies.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t step = data[0];
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::optional<Dechunked> expected = Dechunk(body);

  const std::string request = std::string(kRequestHead) + std::string(body);
  const HttpLimits request_limits{
      .max_header_bytes = 2048, .max_headers = 16, .max_body_bytes = kMaxBody};
  const Requests requests = RunRequests(request, request_limits, {});
  Check(requests ==
        RunRequests(request, request_limits, snow::fuzzing::Cuts(step, request.size())));
  CheckBodies(expected, requests.bodies);

  const std::string answer = std::string(kAnswerHead) + std::string(body);
  const snow::net_internal::HttpResponseLimits answer_limits{
      .max_header_bytes = 2048, .max_headers = 16, .max_body_bytes = kMaxBody};
  const snow::fuzzing::HttpAnswers answers =
      snow::fuzzing::RunAnswers(answer, answer_limits, {}, 0);
  Check(answers == snow::fuzzing::RunAnswers(answer, answer_limits,
                                             snow::fuzzing::Cuts(step, answer.size()), 0));
  CheckBodies(expected, answers.bodies);
  return 0;
}
