// File: test/fuzz/http_answers.h
//
// What the HTTP answer fuzz targets (fuzz_http_response.cc, fuzz_http_chunked.cc) share: a run
// of net/'s HttpResponseParser over a stream, whole or cut into pieces, that records every
// answer and how the stream ended, and aborts when the parser breaks an invariant:
//   - Parse never reports more bytes taken than it was given, and kNeedMore means all of them;
//   - an answer is within the limits (body, number of headers), has a status of 3 digits, is
//     never an interim 1xx one (those are skipped, but for 101), and has no body when it
//     answers a HEAD or is a 101, 204 or 304;
//   - after kError every later Parse (and Finish) is kError, taking nothing.
// After a 101 the rest of the stream is another protocol: the run stops there and records where.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "snow/net/internal/http_response_parser.h"

namespace snow::fuzzing {

inline void Check(bool ok) {
  if (!ok) std::abort();
}

struct HttpAnswers {
  std::vector<std::string> events;  // each answer flattened, then how the stream ended
  std::vector<std::string> bodies;  // each answer's body
  bool operator==(const HttpAnswers&) const = default;
};

// `head_mask` bit (i % 8) says whether answer i is to a HEAD request.
inline HttpAnswers RunAnswers(std::string_view stream,
                              const net_internal::HttpResponseLimits& limits,
                              const std::vector<size_t>& cuts, uint8_t head_mask) {
  using Event = net_internal::HttpResponseParser::Event;
  HttpAnswers out;
  net_internal::HttpResponseParser parser(limits);
  size_t answers = 0;
  auto to_head = [&] { return ((head_mask >> (answers % 8)) & 1) != 0; };
  parser.ExpectAnswerTo(to_head());
  size_t pos = 0;
  bool stopped = false;  // by an error, or by a 101
  auto take = [&] {
    const bool keep_alive = parser.keep_alive();
    net::HttpResponse r = parser.TakeResponse();
    Check(r.body.size() <= limits.max_body_bytes);
    Check(r.headers.size() <= limits.max_headers);
    Check(r.status >= 200 ? r.status <= 999 : r.status == 101);
    if (to_head() || r.status == 101 || r.status == 204 || r.status == 304) Check(r.body.empty());
    std::string flat = std::to_string(r.status) + (keep_alive ? " keep\n" : " close\n");
    for (const auto& h : r.headers) flat += h.name + ": " + h.value + "\n";
    out.events.push_back(flat + "\n" + r.body);
    out.bodies.push_back(std::move(r.body));
    ++answers;
    parser.ExpectAnswerTo(to_head());
    if (r.status == 101) {
      out.events.push_back("upgraded at " + std::to_string(pos));
      stopped = true;
    }
  };
  auto failed = [&](const char* how) {
    out.events.push_back(how);
    Check(!parser.error().empty());
    size_t used = 1;
    Check(parser.Parse(stream.empty() ? std::string_view("x") : stream, &used) == Event::kError);
    Check(used == 0);
    Check(parser.Finish() == Event::kError);
    stopped = true;
  };
  auto feed = [&](size_t end) {
    while (!stopped && pos < end) {
      size_t used = 0;
      const Event e = parser.Parse(stream.substr(pos, end - pos), &used);  // never empty
      Check(used <= end - pos);
      pos += used;
      switch (e) {
        case Event::kNeedMore:
          Check(pos == end);
          return;
        case Event::kResponse:
          take();
          break;
        case Event::kError:
          failed("error");
          return;
      }
    }
  };
  for (size_t cut : cuts) feed(cut);
  feed(stream.size());
  if (!stopped) {
    switch (parser.Finish()) {
      case Event::kResponse:  // a body that ran to the end of the stream
        take();
        out.events.push_back("finished");
        break;
      case Event::kError:
        failed("closed");
        break;
      case Event::kNeedMore:
        Check(false);
        break;
    }
  }
  return out;
}

}  // namespace snow::fuzzing
