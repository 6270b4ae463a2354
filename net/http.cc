#include "snow/net/http.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "snow/core/status.h"
#include "snow/core/task.h"
#include "snow/net/stream.h"

namespace snow::net {

namespace {
std::optional<std::string_view> Find(const std::vector<HttpHeader>& headers,
                                     std::string_view name) {
  for (const HttpHeader& h : headers) {
    if (absl::EqualsIgnoreCase(h.name, AbslView(name))) return std::string_view(h.value);
  }
  return std::nullopt;
}
}  // namespace

std::optional<std::string_view> HttpRequest::Header(std::string_view name) const {
  return Find(headers, name);
}

std::optional<std::string_view> HttpRequest::Param(std::string_view name) const {
  for (const HttpHeader& p : params) {
    if (p.name == name) return std::string_view(p.value);
  }
  return std::nullopt;
}

std::optional<std::string_view> HttpResponse::Header(std::string_view name) const {
  return Find(headers, name);
}

HttpResponse HttpResponse::Streamed(int status, HttpBodyProducer producer) {
  HttpResponse r;
  r.status = status;
  r.streamed_body = std::move(producer);
  return r;
}

Task<absl::Status> HttpBodyWriter::Write(std::string_view piece) {
  if (piece.empty()) co_return absl::OkStatus();
  written_ += piece.size();
  if (!chunked_) co_return co_await stream_.WriteAll(piece, timeout_);
  buffer_.clear();
  absl::StrAppend(&buffer_, absl::Hex(piece.size()), "\r\n", AbslView(piece), "\r\n");
  co_return co_await stream_.WriteAll(buffer_, timeout_);
}

Task<absl::Status> HttpBodyWriter::Finish() {
  if (!chunked_) co_return absl::OkStatus();
  const std::string_view last = "0\r\n\r\n";
  co_return co_await stream_.WriteAll(last, timeout_);
}

HttpResponse HttpResponse::Text(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.headers.push_back({"Content-Type", "text/plain; charset=utf-8"});
  r.body = std::move(body);
  return r;
}

bool HeaderHasToken(std::optional<std::string_view> value, std::string_view token) {
  if (!value) return false;
  for (absl::string_view part : absl::StrSplit(AbslView(*value), ',')) {
    if (absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(part), AbslView(token))) return true;
  }
  return false;
}

std::string_view HttpReason(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 417:
      return "Expectation Failed";
    case 426:
      return "Upgrade Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "";
  }
}

}  // namespace snow::net
