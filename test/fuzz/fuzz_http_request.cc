// Fuzzes net/'s HTTP request parser (http-parser underneath, with Snow's limits, pauses and
// chunked bodies): the first bytes choose the limits and a chunking; parsing the rest in those
// chunks must give exactly the requests of parsing it in one piece, refused (or not) alike, and
// every request must be within the limits. Which refusal may differ: a request both malformed
// and over a limit is reported as whichever the parser meets first, and http-parser reports a
// header name cut by a read at the cut (so its count can reach the limit before its bad byte).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "snow/net/internal/http_request_parser.h"
#include "snow/test/fuzz/cuts.h"

namespace {

using snow::net_internal::HttpLimits;
using snow::net_internal::HttpRequestParser;

struct Outcome {
  std::vector<std::string> requests;  // each flattened
  int error_status = 0;
  bool operator==(const Outcome& o) const {
    return requests == o.requests && (error_status == 0) == (o.error_status == 0);
  }
};

std::string Flatten(const snow::net::HttpRequest& r) {
  std::string s = r.method + " " + r.target + " " + r.path + "?" + r.query + " " +
                  std::to_string(r.version_minor) + (r.keep_alive ? " keep\n" : " close\n");
  for (const auto& h : r.headers) s += h.name + ": " + h.value + "\n";
  return s + "\n" + r.body;
}

void Check(bool ok) {
  if (!ok) std::abort();
}

Outcome Run(std::string_view stream, const HttpLimits& limits, const std::vector<size_t>& cuts) {
  Outcome out;
  HttpRequestParser parser(limits);
  size_t pos = 0;
  auto feed = [&](size_t end) {
    while (pos < end && out.error_status == 0) {
      size_t used = 0;
      const HttpRequestParser::Event e = parser.Parse(stream.substr(pos, end - pos), &used);
      Check(used <= end - pos);
      pos += used;
      switch (e) {
        case HttpRequestParser::Event::kRequest: {
          snow::net::HttpRequest r = parser.TakeRequest();
          Check(r.body.size() <= limits.max_body_bytes);
          Check(r.headers.size() <= limits.max_headers);
          out.requests.push_back(Flatten(r));
          break;
        }
        case HttpRequestParser::Event::kError:
          out.error_status = parser.error_status();
          Check(out.error_status >= 400 && out.error_status <= 505);
          return;
        case HttpRequestParser::Event::kContinue:
          break;
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const HttpLimits limits{.max_header_bytes = 64 + size_t{data[0]} * 16,
                          .max_headers = size_t{1} + data[0] % 16,
                          .max_body_bytes = size_t{data[1]} * 8};
  const uint8_t step = data[1];
  const std::string_view stream(reinterpret_cast<const char*>(data + 2), size - 2);
  const std::vector<size_t> cuts = snow::fuzzing::Cuts(step, stream.size());
  const Outcome whole = Run(stream, limits, {});
  const Outcome pieces = Run(stream, limits, cuts);
  Check(whole == pieces);
  return 0;
}
