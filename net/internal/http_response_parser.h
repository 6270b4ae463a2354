// File: net/internal/http_response_parser.h
//
// HttpResponseParser: HTTP/1.x answers out of a connection's bytes, one at a time, for the
// client (net/http_client.h). Debian's http-parser (2.9) parses; this class gathers a status,
// headers and the whole body (Content-Length, chunked, or up to the end of the stream), skips
// interim 1xx answers (but not 101, which ends the HTTP part of the connection), reads no body
// after the answer to a HEAD or a 1xx, 204 or 304 answer (whatever Content-Length says), and
// bounds the head and the body.
//
//   HttpResponseParser parser(limits);
//   parser.ExpectAnswerTo(/*head=*/false);   // before each answer: a HEAD's has no body
//   switch (parser.Parse(bytes, &used)) {    // bytes.substr(used) is for the next call
//     case Event::kNeedMore: ...             // read more (at the end of the stream: Finish())
//     case Event::kResponse: ...             // parser.TakeResponse()
//     case Event::kError: ...                // parser.error()
//   }
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "snow/net/http.h"
#include "snow/net/internal/http_head.h"

struct http_parser;

namespace snow::net_internal {

struct HttpResponseLimits {
  size_t max_header_bytes = 64 * 1024;  // status line and headers
  size_t max_headers = 128;
  size_t max_body_bytes = size_t{64} << 20;
};

class HttpResponseParser {
 public:
  enum class Event : uint8_t { kNeedMore, kResponse, kError };

  explicit HttpResponseParser(HttpResponseLimits limits);
  ~HttpResponseParser();
  HttpResponseParser(const HttpResponseParser&) = delete;
  HttpResponseParser& operator=(const HttpResponseParser&) = delete;

  // Whether the next answer is to a HEAD request (its head only, whatever its headers say).
  void ExpectAnswerTo(bool head) { head_ = head; }
  // Never with no bytes: the end of the stream is Finish().
  Event Parse(std::string_view bytes, size_t* consumed);
  // The peer closed: completes an answer whose body runs to the end of the stream, or fails.
  Event Finish();
  // After kResponse: the answer, and the parser is ready for the next one.
  net::HttpResponse TakeResponse();
  // After kResponse: whether the connection may carry another request.
  bool keep_alive() const { return keep_alive_; }
  // Whether any byte of an answer has been taken.
  bool mid_response() const { return started_; }
  const std::string& error() const { return error_; }

 private:
  struct Callbacks;
  void Reset();
  int Fail(std::string why);
  int Check(HttpHead::Result result);  // 0, or Fail with why
  Event Run(const char* bytes, size_t length, size_t* consumed);

  HttpResponseLimits limits_;
  std::unique_ptr<::http_parser> parser_;
  net::HttpResponse response_;
  HttpHead head_bytes_;
  bool head_ = false;
  bool started_ = false;
  bool complete_ = false;
  bool keep_alive_ = false;
  bool failed_ = false;
  std::string error_;
};

}  // namespace snow::net_internal
