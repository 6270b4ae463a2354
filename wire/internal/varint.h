// wire/internal/varint.h — LEB128 varints and zigzag, the integer encoding of STF (STF.md §4).
//
// Encoding writes into memory the caller has already reserved (at most kMaxVarintBytes).
// Decoding is strict: a varint must be minimal (no redundant 0x80 ... 0x00 padding) and must fit
// in 64 bits; anything else is an error the caller reports with the offset.
//
//   uint8_t buf[snow::wire_internal::kMaxVarintBytes];
//   uint8_t* end = snow::wire_internal::PutVarint(buf, 300);   // buf = ac 02
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/base/optimization.h"

namespace snow::wire_internal {

inline constexpr size_t kMaxVarintBytes = 10;

inline constexpr uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline constexpr int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
}

inline constexpr size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// Writes v at p (which must have kMaxVarintBytes of room) and returns the byte after it.
inline uint8_t* PutVarint(uint8_t* p, uint64_t v) {
  if (ABSL_PREDICT_TRUE(v < 0x80)) {
    *p = static_cast<uint8_t>(v);
    return p + 1;
  }
  do {
    *p++ = static_cast<uint8_t>(v | 0x80);
    v >>= 7;
  } while (v >= 0x80);
  *p++ = static_cast<uint8_t>(v);
  return p;
}

// Decodes a varint whose first byte is >= 0x80 from p, which must have kMaxVarintBytes readable
// bytes. Returns the byte after it, or nullptr if it is overlong or overflows (the caller then
// re-parses with GetVarint for the precise error).
inline const uint8_t* GetVarintUnchecked(const uint8_t* p, uint64_t* out) {
  uint64_t result = p[0] & 0x7F;
  for (size_t i = 1; i < kMaxVarintBytes; ++i) {
    const uint64_t byte = p[i];
    result |= (byte & 0x7F) << (7 * i);
    if (byte < 0x80) {
      if (byte == 0 || (i == kMaxVarintBytes - 1 && byte > 1)) return nullptr;
      *out = result;
      return p + i + 1;
    }
  }
  return nullptr;
}

enum class VarintError : uint8_t { kNone, kTruncated, kOverlong, kOverflow };

// Decodes one varint from [p, end). On success stores the value and returns the byte after it; on
// failure returns nullptr and says why in *error. Never reads outside [p, end).
inline const uint8_t* GetVarint(const uint8_t* p, const uint8_t* end, uint64_t* out,
                                VarintError* error) {
  if (ABSL_PREDICT_TRUE(p < end && *p < 0x80)) {
    *out = *p;
    return p + 1;
  }
  // The unrolled path needs no bounds checks when a full-length varint fits in what is left.
  const size_t avail = static_cast<size_t>(end - p);
  const size_t limit = avail < kMaxVarintBytes ? avail : kMaxVarintBytes;
  uint64_t result = 0;
  for (size_t i = 0; i < limit; ++i) {
    const uint64_t byte = p[i];
    if (i == kMaxVarintBytes - 1 && byte > 1) {
      *error = VarintError::kOverflow;  // the 10th byte may only hold bit 63
      return nullptr;
    }
    result |= (byte & 0x7F) << (7 * i);
    if (byte < 0x80) {
      if (byte == 0 && i > 0) {
        *error = VarintError::kOverlong;
        return nullptr;
      }
      *out = result;
      return p + i + 1;
    }
  }
  *error = limit == kMaxVarintBytes ? VarintError::kOverflow : VarintError::kTruncated;
  return nullptr;
}

}  // namespace snow::wire_internal
