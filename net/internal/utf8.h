// File: net/internal/utf8.h
//
// Utf8Validator: checks UTF-8 as it arrives in pieces (WebSocket text is validated frame by
// frame, a character possibly cut between two frames). Rejects what RFC 3629 forbids: overlong
// forms, surrogates (U+D800-U+DFFF), code points above U+10FFFF, stray continuation bytes,
// bytes 0xC0, 0xC1 and 0xF5-0xFF.
//
//   Utf8Validator v;
//   bool ok = v.Feed(piece1) && v.Feed(piece2) && v.complete();
#pragma once

#include <cstdint>
#include <string_view>

namespace snow::net_internal {

class Utf8Validator {
 public:
  // False once the bytes so far cannot begin valid UTF-8 (and from then on).
  bool Feed(std::string_view bytes) {
    for (unsigned char c : bytes) {
      if (!Step(c)) {
        failed_ = true;
        return false;
      }
    }
    return !failed_;
  }
  // Whether everything fed is valid and no character is left unfinished.
  bool complete() const { return !failed_ && needed_ == 0; }
  void Reset() { *this = Utf8Validator(); }

 private:
  bool Step(unsigned char c) {
    if (failed_) return false;
    if (needed_ == 0) {
      if (c < 0x80) return true;
      if (c < 0xC2) return false;  // a continuation byte, or an overlong 2-byte lead
      if (c < 0xE0) {
        needed_ = 1;
      } else if (c < 0xF0) {
        needed_ = 2;
        // E0: the next byte must be A0-BF (no overlong); ED: 80-9F (no surrogates).
        low_ = c == 0xE0 ? 0xA0 : 0x80;
        high_ = c == 0xED ? 0x9F : 0xBF;
        return true;
      } else if (c < 0xF5) {
        needed_ = 3;
        // F0: 90-BF (no overlong); F4: 80-8F (nothing above U+10FFFF).
        low_ = c == 0xF0 ? 0x90 : 0x80;
        high_ = c == 0xF4 ? 0x8F : 0xBF;
        return true;
      } else {
        return false;
      }
      low_ = 0x80;
      high_ = 0xBF;
      return true;
    }
    if (c < low_ || c > high_) return false;
    low_ = 0x80;
    high_ = 0xBF;
    --needed_;
    return true;
  }

  uint8_t needed_ = 0;  // continuation bytes still expected
  uint8_t low_ = 0x80;  // the range the next continuation byte must fall in
  uint8_t high_ = 0xBF;
  bool failed_ = false;
};

}  // namespace snow::net_internal
