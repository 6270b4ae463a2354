#include "snow/net/internal/http_response_parser.h"

#include <http_parser.h>

#include "absl/strings/str_cat.h"

namespace snow::net_internal {

namespace {
HttpResponseParser* Owner(http_parser* p) { return static_cast<HttpResponseParser*>(p->data); }
}  // namespace

struct HttpResponseParser::Callbacks {
  static int OnMessageBegin(http_parser* p) {
    HttpResponseParser* self = Owner(p);
    self->started_ = true;
    self->response_ = net::HttpResponse();
    self->head_bytes_.Reset();
    return 0;
  }
  static int OnStatus(http_parser* p, const char*, size_t length) {
    HttpResponseParser* self = Owner(p);
    return self->Check(self->head_bytes_.AddStartLine(length));
  }
  static int OnHeaderField(http_parser* p, const char* at, size_t length) {
    HttpResponseParser* self = Owner(p);
    return self->Check(
        self->head_bytes_.AddName(self->response_.headers, std::string_view(at, length)));
  }
  static int OnHeaderValue(http_parser* p, const char* at, size_t length) {
    HttpResponseParser* self = Owner(p);
    return self->Check(
        self->head_bytes_.AddValue(self->response_.headers, std::string_view(at, length)));
  }
  static int OnHeadersComplete(http_parser* p) {
    HttpResponseParser* self = Owner(p);
    if (p->http_major != 1) return self->Fail("not an HTTP/1.x answer");
    const int status = p->status_code;
    // http-parser takes any number of digits up to 999.
    if (status < 100) return self->Fail("malformed answer: a status code under 100");
    self->response_.status = status;
    // 1 tells http-parser that no body follows, whatever Content-Length says: the answer to a
    // HEAD, and 1xx, 204 and 304 answers never have one (a 304's Content-Length is the size of
    // what it did not send). http-parser itself would read a Content-Length body after them.
    if (self->head_ || status < 200 || status == 204 || status == 304) return 1;
    if (p->content_length != ULLONG_MAX && p->content_length > self->limits_.max_body_bytes) {
      return self->Fail("the answer's body is larger than max_body_bytes");
    }
    return 0;
  }
  static int OnBody(http_parser* p, const char* at, size_t length) {
    HttpResponseParser* self = Owner(p);
    if (self->response_.body.size() + length > self->limits_.max_body_bytes) {
      return self->Fail("the answer's body is larger than max_body_bytes");
    }
    self->response_.body.append(at, length);
    return 0;
  }
  static int OnMessageComplete(http_parser* p) {
    HttpResponseParser* self = Owner(p);
    const int status = p->status_code;
    if (status >= 100 && status < 200 && status != 101) {
      self->started_ = false;  // an interim answer (100 Continue): the real one follows
      return 0;
    }
    self->complete_ = true;
    self->keep_alive_ = status != 101 && http_should_keep_alive(p) != 0;
    http_parser_pause(p, 1);  // one answer at a time
    return 0;
  }
  static const http_parser_settings& Settings() {
    static const http_parser_settings settings = [] {
      http_parser_settings s;
      http_parser_settings_init(&s);
      s.on_message_begin = OnMessageBegin;
      s.on_status = OnStatus;
      s.on_header_field = OnHeaderField;
      s.on_header_value = OnHeaderValue;
      s.on_headers_complete = OnHeadersComplete;
      s.on_body = OnBody;
      s.on_message_complete = OnMessageComplete;
      return s;
    }();
    return settings;
  }
};

HttpResponseParser::HttpResponseParser(HttpResponseLimits limits)
    : limits_(limits),
      parser_(std::make_unique<http_parser>()),
      head_bytes_({.max_bytes = limits.max_header_bytes, .max_headers = limits.max_headers}) {
  Reset();
}

HttpResponseParser::~HttpResponseParser() = default;

void HttpResponseParser::Reset() {
  http_parser_init(parser_.get(), HTTP_RESPONSE);
  parser_->data = this;
  response_ = net::HttpResponse();
  head_bytes_.Reset();
  started_ = false;
  complete_ = false;
  keep_alive_ = false;
}

int HttpResponseParser::Check(HttpHead::Result result) {
  switch (result) {
    case HttpHead::kOk:
      return 0;
    case HttpHead::kTooLong:
      return Fail("the answer's head is too long");
    case HttpHead::kTooManyHeaders:
      return Fail("too many headers");
  }
  return Fail("unknown head result");
}

int HttpResponseParser::Fail(std::string why) {
  failed_ = true;
  error_ = std::move(why);
  return -1;
}

HttpResponseParser::Event HttpResponseParser::Run(const char* bytes, size_t length,
                                                  size_t* consumed) {
  *consumed = 0;
  if (failed_) return Event::kError;
  const size_t n = http_parser_execute(parser_.get(), &Callbacks::Settings(), bytes, length);
  *consumed = n;
  const http_errno error = HTTP_PARSER_ERRNO(parser_.get());
  if (error == HPE_PAUSED) {
    http_parser_pause(parser_.get(), 0);
  } else if (error != HPE_OK) {
    if (!failed_) Fail(absl::StrCat("malformed answer: ", http_errno_description(error)));
    return Event::kError;
  }
  return complete_ ? Event::kResponse : Event::kNeedMore;
}

HttpResponseParser::Event HttpResponseParser::Parse(std::string_view bytes, size_t* consumed) {
  return Run(bytes.data(), bytes.size(), consumed);
}

HttpResponseParser::Event HttpResponseParser::Finish() {
  size_t unused = 0;
  const bool was_mid = started_;
  const Event event = Run(nullptr, 0, &unused);
  if (event == Event::kNeedMore) {
    Fail(was_mid ? "the connection closed in the middle of an answer"
                 : "the connection closed before an answer");
    return Event::kError;
  }
  return event;
}

net::HttpResponse HttpResponseParser::TakeResponse() {
  net::HttpResponse taken = std::move(response_);
  Reset();
  return taken;
}

}  // namespace snow::net_internal
