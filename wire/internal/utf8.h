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

// Slow path for the first non-ASCII byte at or after `start`.
bool ValidUtf8Slow(const uint8_t* p, size_t n, size_t start, size_t* bad_offset);

inline bool ValidUtf8(const void* data, size_t n, size_t* bad_offset) {
  const auto* p = static_cast<const uint8_t*>(data);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    if (ABSL_PREDICT_FALSE(w & 0x8080808080808080ULL)) return ValidUtf8Slow(p, n, i, bad_offset);
  }
  for (; i < n; ++i) {
    if (ABSL_PREDICT_FALSE(p[i] >= 0x80)) return ValidUtf8Slow(p, n, i, bad_offset);
  }
  return true;
}

}  // namespace snow::wire_internal
