// File: net/internal/http_request_parser.h
//
// HttpRequestParser: HTTP/1.1 requests out of a connection's bytes, one at a time, within the
// server's limits. Debian's http-parser (2.9) does the parsing (request line, headers,
// Content-Length and chunked bodies, keep-alive rules); this class gathers what it reports into
// an HttpRequest, counts what the limits bound, and stops after each request so that pipelined
// requests are answered one by one, in order.
//
//   HttpRequestParser parser(limits);
//   size_t used = 0;
//   switch (parser.Parse(bytes, &used)) {  // bytes.substr(used) is for the next call
//     case Event::kNeedMore: ...            // read more, call again with them
//     case Event::kContinue: ...            // send "100 Continue", call again
//     case Event::kRequest: ...             // parser.TakeRequest()
//     case Event::kError: ...               // parser.error_status() (400, 413 or 431)
//   }
//
// Never call Parse with no bytes (http-parser reads that as the end of the stream).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "snow/net/http.h"
#include "snow/net/internal/http_head.h"

struct http_parser;  // Debian's http-parser (http_parser.h), kept out of this header

namespace snow::net_internal {

struct HttpLimits {
  size_t max_header_bytes = 8 * 1024;  // request line and headers, as sent
  size_t max_headers = 64;
  size_t max_body_bytes = 1 << 20;
};

class HttpRequestParser {
 public:
  enum class Event : uint8_t {
    kNeedMore,  // every byte given was taken, and the request is not whole yet
    kContinue,  // the head asks "Expect: 100-continue" before its body: answer, call again
    kRequest,   // a whole request: TakeRequest
    kError,     // error_status() and error(); the connection cannot go on
  };

  explicit HttpRequestParser(HttpLimits limits);
  ~HttpRequestParser();
  HttpRequestParser(const HttpRequestParser&) = delete;
  HttpRequestParser& operator=(const HttpRequestParser&) = delete;

  Event Parse(std::string_view bytes, size_t* consumed);
  // After kRequest: the request, and the parser is ready for the next one.
  net::HttpRequest TakeRequest();
  // Whether any byte of the next request has been taken (a request is under way).
  bool mid_request() const { return started_; }
  // Whether the request under way has all its head (request line and headers).
  bool head_complete() const { return head_complete_; }
  int error_status() const { return error_status_; }
  const std::string& error() const { return error_; }

 private:
  struct Callbacks;
  void Reset();
  int Fail(int status, std::string why);
  int Check(HttpHead::Result result);  // 0, or Fail with 431

  HttpLimits limits_;
  std::unique_ptr<::http_parser> parser_;
  net::HttpRequest request_;
  HttpHead head_bytes_;
  bool started_ = false;
  bool head_complete_ = false;
  bool complete_ = false;
  bool continue_ = false;
  int error_status_ = 0;
  std::string error_;
};

}  // namespace snow::net_internal
