#include "snow/wire/internal/utf8.h"

namespace snow::wire_internal {

bool ValidUtf8Slow(const uint8_t* p, size_t n, size_t i, size_t* bad_offset) {
  while (i < n) {
    const uint8_t b0 = p[i];
    if (b0 < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte (Table 3-7)
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      len = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      len = 3;
      if (b0 == 0xE0) lo = 0xA0;  // overlong below U+0800
      if (b0 == 0xED) hi = 0x9F;  // surrogates U+D800..U+DFFF
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      len = 4;
      if (b0 == 0xF0) lo = 0x90;  // overlong below U+10000
      if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      *bad_offset = i;  // continuation byte, C0/C1 overlong lead, or F5..FF
      return false;
    }
    if (i + len > n) {
      *bad_offset = i;
      return false;
    }
    if (p[i + 1] < lo || p[i + 1] > hi) {
      *bad_offset = i;
      return false;
    }
    for (size_t k = 2; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) {
        *bad_offset = i;
        return false;
      }
    }
    i += len;
  }
  return true;
}

}  // namespace snow::wire_internal
