// wire/internal/tags.h — the STF tag byte values (wire/STF.md §3) and small helpers on them.
//
// Shared by the writer, the reader and the Term codec so that the table exists exactly once.
//
//   uint8_t t = snow::wire_internal::FixIntTag(-1);   // 0x9f
#pragma once

#include <cstdint>

namespace snow::wire_internal {

// The only version this implementation reads and writes (STF.md §2).
inline constexpr uint8_t kVersion1 = 0x01;

// Single tags. 0x1A..0x1F are reserved and always rejected.
inline constexpr uint8_t kTagUnit = 0x00;
inline constexpr uint8_t kTagFalse = 0x01;
inline constexpr uint8_t kTagTrue = 0x02;
inline constexpr uint8_t kTagInt = 0x03;
inline constexpr uint8_t kTagUint = 0x04;
inline constexpr uint8_t kTagFloat = 0x05;
inline constexpr uint8_t kTagString = 0x06;
inline constexpr uint8_t kTagBinary = 0x07;
inline constexpr uint8_t kTagAtom = 0x08;
inline constexpr uint8_t kTagList = 0x09;
inline constexpr uint8_t kTagTuple = 0x0A;
inline constexpr uint8_t kTagMap = 0x0B;
inline constexpr uint8_t kTagSet = 0x0C;
inline constexpr uint8_t kTagStruct = 0x0D;
inline constexpr uint8_t kTagVariant = 0x0E;
inline constexpr uint8_t kTagShapeRef = 0x0F;
inline constexpr uint8_t kTagNone = 0x10;
inline constexpr uint8_t kTagSome = 0x11;
inline constexpr uint8_t kTagOk = 0x12;
inline constexpr uint8_t kTagError = 0x13;
inline constexpr uint8_t kTagPid = 0x14;
inline constexpr uint8_t kTagReference = 0x15;
inline constexpr uint8_t kTagNode = 0x16;
inline constexpr uint8_t kTagIntArray = 0x17;
inline constexpr uint8_t kTagUintArray = 0x18;
inline constexpr uint8_t kTagFloatArray = 0x19;
inline constexpr uint8_t kFirstReservedTag = 0x1A;

// Tag ranges with a small number folded into the low bits.
inline constexpr uint8_t kFixStringBase = 0x20;    // 0x20..0x3F: string of 0..31 bytes
inline constexpr uint8_t kFixListBase = 0x40;      // 0x40..0x4F: list of 0..15 items
inline constexpr uint8_t kFixStructBase = 0x50;    // 0x50..0x5F: struct of 0..15 fields
inline constexpr uint8_t kFixShapeRefBase = 0x60;  // 0x60..0x6F: shape reference 0..15
inline constexpr uint8_t kFixMapBase = 0x70;       // 0x70..0x7F: map of 0..15 entries
inline constexpr uint8_t kFixIntBase = 0x80;       // 0x80..0xFF: int -32..95 (value = tag - 0xA0)

inline constexpr uint32_t kMaxFixString = 31;
inline constexpr uint32_t kMaxFixCount = 15;
inline constexpr int64_t kMinFixInt = -32;
inline constexpr int64_t kMaxFixInt = 95;
inline constexpr int kFixIntZeroTag = 0xA0;

inline constexpr uint8_t FixIntTag(int64_t v) { return static_cast<uint8_t>(v + kFixIntZeroTag); }
inline constexpr int64_t FixIntValue(uint8_t tag) { return int64_t{tag} - kFixIntZeroTag; }

}  // namespace snow::wire_internal
