// File: net/internal/http_head.h
//
// HttpHead: what both HTTP parsers (requests and answers) keep of a message's head as
// http-parser reports it in pieces (a name or a value may come in several calls): the headers,
// and a count of the head's bytes as sent, bounded by the limits.
//
//   HttpHead head({.max_bytes = 8192, .max_headers = 64});
//   switch (head.AddName(headers, piece)) { case HttpHead::kOk: ... case kTooLong: ... }
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "snow/net/http.h"

namespace snow::net_internal {

class HttpHead {
 public:
  struct Limits {
    size_t max_bytes;  // the start line and the headers, as sent
    size_t max_headers;
  };
  enum Result : uint8_t { kOk, kTooLong, kTooManyHeaders };

  explicit HttpHead(Limits limits) : limits_(limits) {}

  // The start line's pieces (target, reason phrase): only counted.
  Result AddStartLine(size_t length) {
    bytes_ += length;
    return bytes_ > limits_.max_bytes ? kTooLong : kOk;
  }
  Result AddName(std::vector<net::HttpHeader>& headers, std::string_view piece) {
    if (in_value_ || headers.empty()) {
      if (headers.size() == limits_.max_headers) return kTooManyHeaders;
      headers.emplace_back();
      bytes_ += kHeaderOverhead;
      in_value_ = false;
    }
    bytes_ += piece.size();
    if (bytes_ > limits_.max_bytes) return kTooLong;
    headers.back().name.append(piece);
    return kOk;
  }
  Result AddValue(std::vector<net::HttpHeader>& headers, std::string_view piece) {
    in_value_ = true;
    bytes_ += piece.size();
    if (bytes_ > limits_.max_bytes) return kTooLong;
    headers.back().value.append(piece);
    return kOk;
  }
  // For the next message.
  void Reset() {
    bytes_ = 0;
    in_value_ = false;
  }

 private:
  static constexpr size_t kHeaderOverhead = 4;  // ": " and CRLF

  Limits limits_;
  size_t bytes_ = 0;
  bool in_value_ = false;  // the last piece was a value
};

}  // namespace snow::net_internal
