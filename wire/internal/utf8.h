// wire/internal/utf8.h — strict UTF-8 validation (STF.md §5), shared by encoder and decoder.
//
// Accepts exactly the well-formed sequences of Unicode Table 3-7: no overlong forms, no UTF-16
// surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no truncated or stray continuation bytes.
// U+0000 is allowed. ASCII runs are checked eight bytes at a time.
//
//   size_t bad;
//   if (!snow::wire_internal::ValidUtf8(s.data(), s.size(), &bad)) { /* s[bad] starts the error */
//   }
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "absl/base/optimization.h"

namespace snow::wire_internal {

// Slow path from `start`, which must begin a character (an ASCII run ends just before it).
bool ValidUtf8Slow(const uint8_t* p, size_t n, size_t start, size_t* bad_offset);

inline uint64_t Load64(const uint8_t* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}
inline uint32_t Load32(const uint8_t* p) {
  uint32_t w;
  std::memcpy(&w, p, 4);
  return w;
}

// True if the n bytes at p are all ASCII. Short inputs use overlapping word loads instead of a
// byte loop: names and map keys are mostly a few bytes long.
inline bool IsAscii(const uint8_t* p, size_t n, size_t* first_chunk) {
  constexpr uint64_t kHigh64 = 0x8080808080808080ULL;
  *first_chunk = 0;
  if (n >= 8) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      if (ABSL_PREDICT_FALSE(Load64(p + i) & kHigh64)) {
        *first_chunk = i;
        return false;
      }
    }
    *first_chunk = i;
    return i == n || (Load64(p + n - 8) & kHigh64) == 0;
  }
  if (n >= 4) return ((Load32(p) | Load32(p + n - 4)) & 0x80808080u) == 0;
  if (n == 0) return true;
  return ((p[0] | p[n / 2] | p[n - 1]) & 0x80) == 0;
}

inline bool ValidUtf8(const void* data, size_t n, size_t* bad_offset) {
  const auto* p = static_cast<const uint8_t*>(data);
  size_t start;
  if (ABSL_PREDICT_TRUE(IsAscii(p, n, &start))) return true;
  return ValidUtf8Slow(p, n, start, bad_offset);
}

// Copies n <= 32 bytes with a few fixed-size (overlapping) moves instead of a memcpy call.
inline void CopySmall(uint8_t* dst, const void* src_void, size_t n) {
  const auto* src = static_cast<const uint8_t*>(src_void);
  if (n >= 16) {
    uint8_t a[16], b[16];
    std::memcpy(a, src, 16);
    std::memcpy(b, src + n - 16, 16);
    std::memcpy(dst, a, 16);
    std::memcpy(dst + n - 16, b, 16);
  } else if (n >= 8) {
    const uint64_t a = Load64(src), b = Load64(src + n - 8);
    std::memcpy(dst, &a, 8);
    std::memcpy(dst + n - 8, &b, 8);
  } else if (n >= 4) {
    const uint32_t a = Load32(src), b = Load32(src + n - 4);
    std::memcpy(dst, &a, 4);
    std::memcpy(dst + n - 4, &b, 4);
  } else if (n > 0) {
    const uint8_t a = src[0], b = src[n / 2], c = src[n - 1];
    dst[0] = a;
    dst[n / 2] = b;
    dst[n - 1] = c;
  }
}

}  // namespace snow::wire_internal
