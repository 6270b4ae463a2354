#include "snow/net/internal/http_request_parser.h"

#include <http_parser.h>
#include <strings.h>

#include <climits>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "snow/core/status.h"

namespace snow::net_internal {

namespace {
HttpRequestParser* Owner(http_parser* p) { return static_cast<HttpRequestParser*>(p->data); }
}  // namespace

// http-parser calls these; each returns 0 to go on, nonzero to stop with an error (the reason
// is set first, by Fail).
struct HttpRequestParser::Callbacks {
  static int OnMessageBegin(http_parser* p) {
    HttpRequestParser* self = Owner(p);
    self->started_ = true;
    return 0;
  }
  static int OnUrl(http_parser* p, const char* at, size_t length) {
    HttpRequestParser* self = Owner(p);
    if (const int failed = self->Check(self->head_bytes_.AddStartLine(length))) return failed;
    self->request_.target.append(at, length);
    return 0;
  }
  static int OnHeaderField(http_parser* p, const char* at, size_t length) {
    HttpRequestParser* self = Owner(p);
    return self->Check(
        self->head_bytes_.AddName(self->request_.headers, std::string_view(at, length)));
  }
  static int OnHeaderValue(http_parser* p, const char* at, size_t length) {
    HttpRequestParser* self = Owner(p);
    return self->Check(
        self->head_bytes_.AddValue(self->request_.headers, std::string_view(at, length)));
  }
  static int OnHeadersComplete(http_parser* p) {
    HttpRequestParser* self = Owner(p);
    net::HttpRequest& r = self->request_;
    if (p->http_major != 1) return self->Fail(505, "only HTTP versions 1.0 and 1.1 are served");
    r.method = http_method_str(static_cast<http_method>(p->method));
    r.version_minor = p->http_minor;
    r.keep_alive = http_should_keep_alive(p) != 0;
    const size_t question = r.target.find('?');
    r.path = r.target.substr(0, question);
    r.query = question == std::string::npos ? "" : r.target.substr(question + 1);
    self->head_complete_ = true;
    const bool chunked = (p->flags & F_CHUNKED) != 0;
    const bool has_length = p->content_length != ULLONG_MAX;
    if (has_length && p->content_length > self->limits_.max_body_bytes) {
      return self->Fail(413, "the body is larger than the server takes");
    }
    std::optional<std::string_view> expect = r.Header("Expect");
    if (expect && (chunked || (has_length && p->content_length > 0))) {
      if (!absl::EqualsIgnoreCase(AbslView(*expect), "100-continue")) {
        return self->Fail(417, "the only expectation served is 100-continue");
      }
      self->continue_ = true;
      http_parser_pause(p, 1);
    }
    return 0;
  }
  static int OnBody(http_parser* p, const char* at, size_t length) {
    HttpRequestParser* self = Owner(p);
    if (self->request_.body.size() + length > self->limits_.max_body_bytes) {
      return self->Fail(413, "the body is larger than the server takes");
    }
    self->request_.body.append(at, length);
    return 0;
  }
  static int OnChunkHeader(http_parser* p) {
    HttpRequestParser* self = Owner(p);
    // p->content_length is the size the chunk announces.
    if (p->content_length > self->limits_.max_body_bytes - self->request_.body.size()) {
      return self->Fail(413, "the body is larger than the server takes");
    }
    return 0;
  }
  static int OnMessageComplete(http_parser* p) {
    HttpRequestParser* self = Owner(p);
    self->complete_ = true;
    http_parser_pause(p, 1);  // one request at a time: the next waits in the bytes
    return 0;
  }
  static const http_parser_settings& Settings() {
    static const http_parser_settings settings = [] {
      http_parser_settings s;
      http_parser_settings_init(&s);
      s.on_message_begin = OnMessageBegin;
      s.on_url = OnUrl;
      s.on_header_field = OnHeaderField;
      s.on_header_value = OnHeaderValue;
      s.on_headers_complete = OnHeadersComplete;
      s.on_body = OnBody;
      s.on_chunk_header = OnChunkHeader;
      s.on_message_complete = OnMessageComplete;
      return s;
    }();
    return settings;
  }
};

HttpRequestParser::HttpRequestParser(HttpLimits limits)
    : limits_(limits),
      parser_(std::make_unique<http_parser>()),
      head_bytes_({.max_bytes = limits.max_header_bytes, .max_headers = limits.max_headers}) {
  Reset();
}

HttpRequestParser::~HttpRequestParser() = default;

void HttpRequestParser::Reset() {
  http_parser_init(parser_.get(), HTTP_REQUEST);
  parser_->data = this;
  request_ = net::HttpRequest();
  head_bytes_.Reset();
  started_ = false;
  head_complete_ = false;
  complete_ = false;
  continue_ = false;
}

int HttpRequestParser::Check(HttpHead::Result result) {
  switch (result) {
    case HttpHead::kOk:
      return 0;
    case HttpHead::kTooLong:
      return Fail(431, "the request line and headers are too long");
    case HttpHead::kTooManyHeaders:
      return Fail(431, "too many headers");
  }
  return Fail(400, "unknown head result");
}

int HttpRequestParser::Fail(int status, std::string why) {
  error_status_ = status;
  error_ = std::move(why);
  return -1;
}

HttpRequestParser::Event HttpRequestParser::Parse(std::string_view bytes, size_t* consumed) {
  *consumed = 0;
  if (error_status_ != 0) return Event::kError;
  const size_t n =
      http_parser_execute(parser_.get(), &Callbacks::Settings(), bytes.data(), bytes.size());
  *consumed = n;
  const http_errno error = HTTP_PARSER_ERRNO(parser_.get());
  if (error == HPE_PAUSED) {
    http_parser_pause(parser_.get(), 0);
    if (complete_) return Event::kRequest;
    if (continue_) {
      continue_ = false;
      return Event::kContinue;
    }
  } else if (error != HPE_OK) {
    if (error_status_ == 0) {
      if (error == HPE_HEADER_OVERFLOW) {
        Fail(431, "the request line and headers are too long");
      } else {
        Fail(400, absl::StrCat("malformed request: ", http_errno_description(error)));
      }
    }
    return Event::kError;
  }
  return complete_ ? Event::kRequest : Event::kNeedMore;
}

net::HttpRequest HttpRequestParser::TakeRequest() {
  net::HttpRequest taken = std::move(request_);
  Reset();
  return taken;
}

}  // namespace snow::net_internal
