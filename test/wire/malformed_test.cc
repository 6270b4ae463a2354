// Malformed input: one test per class of bad bytes (STF.md §8). Each case is checked with the
// dynamic decoder, and again buried as an unknown field of a struct so that the typed decoder's
// skip path must reject it identically (same code, same offset + 5). Offsets are asserted exactly.
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <new>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "snow/test/wire/test_util.h"
#include "snow/wire/wire.h"

// Largest single operator-new request since the last reset: proves forged lengths and counts are
// rejected before anything is sized by them.
namespace {
std::atomic<size_t> g_largest_allocation{0};
void* CountedNew(size_t n) {
  size_t seen = g_largest_allocation.load(std::memory_order_relaxed);
  while (n > seen && !g_largest_allocation.compare_exchange_weak(seen, n)) {
  }
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
}  // namespace
void* operator new(size_t n) { return CountedNew(n); }
void* operator new[](size_t n) { return CountedNew(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }

namespace snow::wire {
namespace {

using testing::ExpectError;
using testing::FromHex;

constexpr auto kDataLoss = absl::StatusCode::kDataLoss;
constexpr auto kExhausted = absl::StatusCode::kResourceExhausted;

// Decodes the "W" struct below while ignoring its field "a": the skip path.
struct W {
  static constexpr std::string_view kWireName = "W";
  std::optional<int64_t> b;
  friend auto WireFields(W& w) { return Fields("b", w.b); }
};

// `value_hex` is one value without the version byte; `offset` is where the top-level decoder
// must report the error.
// Shape indices are term-wide, so cases that reference shapes by index pass embed = false.
void ExpectRejected(const std::string& value_hex, absl::StatusCode code, size_t offset,
                    std::string_view what, bool embed = true) {
  SCOPED_TRACE(value_hex);
  const std::string top = FromHex("01 " + value_hex);
  ExpectError(DecodeTerm(top).status(), code, what, "at offset " + std::to_string(offset));
  // Exact offset: the message says "at offset N" followed by the end or ", in".
  const std::string msg(DecodeTerm(top).status().message());
  const std::string at = "at offset " + std::to_string(offset);
  const size_t pos = msg.find(at);
  ASSERT_NE(pos, std::string::npos) << msg;
  EXPECT_TRUE(pos + at.size() == msg.size() || msg[pos + at.size()] == ',') << msg;

  if (!embed) return;
  // W{a: value} = 51 01 57 01 61 <value>: the value starts 5 bytes later.
  const std::string nested = FromHex("01 51 01 57 01 61 " + value_hex);
  const absl::Status skipped = Decode<W>(nested).status();
  ExpectError(skipped, code, what, "at offset " + std::to_string(offset + 5));
  const absl::Status as_term = DecodeTerm(nested).status();
  EXPECT_EQ(as_term.code(), code) << as_term;
}

TEST(MalformedTest, RejectsABadVersionByteAndEmptyInput) {
  ExpectError(DecodeTerm(FromHex("02 00")).status(), kDataLoss, "bad version byte 0x02",
              "offset 0");
  ExpectError(DecodeTerm(FromHex("83 61")).status(), kDataLoss, "bad version byte 0x83");
  ExpectError(DecodeTerm(std::string_view()).status(), kDataLoss, "empty input", "offset 0");
  ExpectError(Decode<int>(FromHex("00 a0")).status(), kDataLoss, "bad version byte 0x00");
}

TEST(MalformedTest, RejectsTrailingBytes) {
  ExpectError(DecodeTerm(FromHex("01 00 00")).status(), kDataLoss, "trailing bytes: 1 bytes",
              "offset 2");
  ExpectError(Decode<int>(FromHex("01 a1 a1 a1")).status(), kDataLoss, "trailing", "offset 2");
}

TEST(MalformedTest, RejectsReservedTags) {
  for (const char* tag : {"1a", "1b", "1c", "1d", "1e", "1f"}) {
    ExpectRejected(tag, kDataLoss, 1, std::string("bad tag 0x") + tag);
  }
  ExpectRejected("42 a1 1f", kDataLoss, 3, "bad tag 0x1f");
  // A typed decoder reports a reserved tag as malformed too, not as a kind mismatch.
  ExpectError(Decode<std::string>(FromHex("01 1c")).status(), kDataLoss, "bad tag");
}

TEST(MalformedTest, RejectsTruncatedInput) {
  ExpectRejected("", kDataLoss, 1, "truncated input: expected a value");
  ExpectRejected("03", kDataLoss, 2, "truncated varint");
  ExpectRejected("03 80", kDataLoss, 2, "truncated varint");
  ExpectRejected("05 00 00 00", kDataLoss, 2, "truncated input: expected 8 bytes of float64");
  ExpectRejected("42 21 61", kDataLoss, 4, "truncated input: expected a value");
  ExpectRejected("52 01 50 03 61 62 63", kDataLoss, 8, "truncated input: expected field name");
  ExpectRejected("14 01 6e 01", kDataLoss, 5, "truncated varint");
  ExpectRejected("15 01 6e 01", kDataLoss, 5, "truncated input: expected reference word count");
  ExpectRejected("11", kDataLoss, 2, "truncated input");
}

TEST(MalformedTest, EveryProperPrefixOfAValidTermIsRejected) {
  const Term t = Term::Struct(
      "demo.T", {{"s", Term::String("h\xC3\xA9llo, world, this is long enough")},
                 {"l", Term::List({Term::Int(1000), Term::Float(1.5), Term::Binary("xyz")})},
                 {"p", Term::Pid(Pid{"a@h", 1, 2, 3})},
                 {"r", Term::Reference(Reference{"a@h", 1, {9}})},
                 {"m", Term::Map({{Term::Atom("k"), Term::Some(Term::Error(5, "x"))}})},
                 {"v", Term::Variant("V", "A", {})},
                 {"again", Term::Variant("V", "A", {})}});
  ByteBuffer buf;
  ASSERT_TRUE(EncodeTerm(t, buf).ok());
  for (size_t n = 0; n < buf.size(); ++n) {
    const absl::Status s = DecodeTerm(buf.view().subspan(0, n)).status();
    EXPECT_EQ(s.code(), kDataLoss) << n << ": " << s;
  }
  EXPECT_TRUE(DecodeTerm(buf.view()).ok());
}

TEST(MalformedTest, RejectsOverlongVarints) {
  ExpectRejected("04 80 00", kDataLoss, 2, "overlong varint");
  ExpectRejected("03 ff 80 00", kDataLoss, 2, "overlong varint");
  ExpectRejected("06 80 00", kDataLoss, 2, "overlong varint");     // in a length
  ExpectRejected("09 81 00", kDataLoss, 2, "overlong varint");     // in a count
  ExpectRejected("17 01 80 00", kDataLoss, 3, "overlong varint");  // in a packed item
  ExpectRejected("0f 80 00", kDataLoss, 2, "overlong varint");     // in a shape index
}

TEST(MalformedTest, RejectsVarintsThatOverflow64Bits) {
  ExpectRejected("04 ff ff ff ff ff ff ff ff ff 02", kDataLoss, 2, "overflows 64 bits");
  ExpectRejected("04 ff ff ff ff ff ff ff ff ff ff 01", kDataLoss, 2, "overflows 64 bits");
  ExpectRejected("03 80 80 80 80 80 80 80 80 80 80", kDataLoss, 2, "overflows 64 bits");
  // The largest legal one is fine.
  EXPECT_TRUE(DecodeTerm(FromHex("01 04 ff ff ff ff ff ff ff ff ff 01")).ok());
}

TEST(MalformedTest, RejectsLengthsPastTheEnd) {
  ExpectRejected("06 05 61", kDataLoss, 2, "string length 5 runs past the end");
  ExpectRejected("25 61", kDataLoss, 1, "string length 5 runs past the end");
  ExpectRejected("07 03 00", kDataLoss, 2, "binary length 3 runs past the end");
  ExpectRejected("08 05 61", kDataLoss, 2, "atom length 5 runs past the end");
  ExpectRejected("16 ff", kDataLoss, 2, "node name length 255 runs past the end");
  ExpectRejected("50 09 61", kDataLoss, 2, "type name length 9 runs past the end");
  ExpectRejected("13 02 05 61", kDataLoss, 3, "error message length 5 runs past the end");
}

TEST(MalformedTest, RejectsInvalidUtf8) {
  struct Case {
    const char* hex;
    size_t offset;
  };
  const Case cases[] = {
      {"22 c0 80", 2},                           // overlong NUL
      {"22 c1 bf", 2},                           // overlong
      {"23 e0 80 80", 2},                        // overlong 3-byte
      {"23 e0 9f bf", 2},                        // overlong U+07FF
      {"24 f0 80 80 80", 2},                     // overlong 4-byte
      {"24 f0 8f bf bf", 2},                     // overlong U+FFFF
      {"23 ed a0 80", 2},                        // surrogate U+D800
      {"23 ed bf bf", 2},                        // surrogate U+DFFF
      {"24 f4 90 80 80", 2},                     // U+110000
      {"24 f5 80 80 80", 2},                     // lead byte beyond U+10FFFF
      {"21 80", 2},                              // lone continuation
      {"21 ff", 2},                              // never valid
      {"22 e2 82", 2},                           // truncated sequence
      {"23 61 e2 82", 3},                        // truncated at the end, after ASCII
      {"23 c3 a9 80", 4},                        // valid é then a stray continuation
      {"2a 61 61 61 61 61 61 61 61 61 c3", 11},  // after an 8-byte ASCII run
  };
  for (const Case& c : cases) ExpectRejected(c.hex, kDataLoss, c.offset, "invalid UTF-8");
  ExpectRejected("06 02 c0 80", kDataLoss, 3, "invalid UTF-8 in string");
  ExpectRejected("08 02 c0 80", kDataLoss, 3, "invalid UTF-8 in atom");
  ExpectRejected("16 01 ff", kDataLoss, 3, "invalid UTF-8 in node name");
  ExpectRejected("51 01 50 01 ff a0", kDataLoss, 5, "invalid UTF-8 in field name");
  ExpectRejected("50 02 61 ff", kDataLoss, 4, "invalid UTF-8 in type name");
  ExpectRejected("13 02 01 ff", kDataLoss, 4, "invalid UTF-8 in string");
  // What is valid stays valid: U+0000, the largest code points of each length, U+10FFFF.
  EXPECT_TRUE(DecodeTerm(FromHex("01 2d 00 7f c2 80 df bf ef bf bf f4 8f bf bf")).ok());
}

TEST(MalformedTest, RejectsADepthBombWithoutRecursingIntoIt) {
  // A million nested one-item lists: two megabytes of input, rejected at the 129th level.
  std::string bomb = FromHex("01");
  bomb.append(1'000'000, '\x41');
  bomb.push_back('\xa0');
  ExpectError(DecodeTerm(bomb).status(), kExhausted, "nesting deeper than max_depth 128",
              "at offset 129");
  ExpectError(Decode<Term>(bomb).status(), kExhausted, "max_depth 128", "at offset 129");
  std::string somes = FromHex("01");
  somes.append(100'000, '\x11');
  somes.push_back('\xa0');
  ExpectError(DecodeTerm(somes).status(), kExhausted, "max_depth", "at offset 129");
  // Skipped as an unknown field, the bomb goes no deeper: the struct is level 1.
  std::string nested = FromHex("01 51 01 57 01 61");
  nested.append(100'000, '\x41');
  ExpectError(Decode<W>(nested).status(), kExhausted, "max_depth", "at offset 133");
  // max_depth is configurable, and capped so that no caller can ask for a stack overflow.
  ExpectError(DecodeTerm(bomb, DecodeLimits{.max_depth = 5}).status(), kExhausted, "max_depth 5",
              "at offset 6");
  ExpectError(DecodeTerm(bomb, DecodeLimits{.max_depth = 1'000'000'000}).status(), kExhausted,
              "max_depth 1000", "at offset 1001");
}

TEST(MalformedTest, RejectsCountBombsBeforeAllocating) {
  g_largest_allocation = 0;
  ExpectRejected("09 ff ff ff ff 0f", kDataLoss, 2, "count 4294967295 needs at least");
  ExpectRejected("0a ff ff ff ff 0f a0", kDataLoss, 2, "count 4294967295 needs at least");
  ExpectRejected("0c ff ff ff ff 0f a0", kDataLoss, 2, "count 4294967295");
  ExpectRejected("0b 02 a0 a0 a0", kDataLoss, 2, "count 2 needs at least 4 bytes");
  ExpectRejected("4f a0", kDataLoss, 1, "count 15 needs at least 15 bytes but only 1");
  ExpectRejected("7f a0", kDataLoss, 1, "count 15 needs at least 30 bytes");
  ExpectRejected("17 ff ff ff ff ff ff ff ff 7f 00", kDataLoss, 2, "count");
  ExpectRejected("19 02 00 00 00 00 00 00 00 00", kDataLoss, 2, "count 2 needs at least 16");
  ExpectRejected("0d 01 50 ff ff ff ff 0f", kDataLoss, 4, "count 4294967295");
  ExpectRejected("0e 01 50 01 41 ff ff 03", kDataLoss, 6, "count 65535");
  // A reference to a shape promises its field values too.
  ExpectRejected("42 53 01 50 01 61 01 62 01 63 a0 a0 a0 60", kDataLoss, 14, "count 3",
                 /*embed=*/false);
  EXPECT_LT(g_largest_allocation.load(), 4096u);

  // Typed targets with forged counts: same story.
  g_largest_allocation = 0;
  const std::string forged_list = FromHex("01 17 ff ff ff ff 0f 00 00");
  ExpectError(Decode<std::vector<int64_t>>(forged_list).status(), kDataLoss, "count 4294967295");
  const std::string forged_map = FromHex("01 0b ff ff ff 7f 21 61 a0");
  ExpectError(Decode<std::map<std::string, int>>(forged_map).status(), kDataLoss, "count");
  EXPECT_LT(g_largest_allocation.load(), 4096u);
}

TEST(MalformedTest, RejectsAForgedHugeLengthWithoutAllocatingIt) {
  g_largest_allocation = 0;
  const std::string forged = FromHex("01 07 ff ff ff ff 0f 00 01 02");  // 4 GiB binary
  ExpectError(DecodeTerm(forged).status(), kDataLoss, "binary length 4294967295 runs past the end",
              "at offset 2");
  ExpectError(Decode<Binary>(forged).status(), kDataLoss, "binary length 4294967295");
  ExpectError(Decode<std::vector<uint8_t>>(forged).status(), kDataLoss, "binary length");
  const std::string forged_string = FromHex("01 06 ff ff ff ff ff ff ff ff 7f 61");
  ExpectError(Decode<std::string>(forged_string).status(), kDataLoss, "string length");
  EXPECT_LT(g_largest_allocation.load(), 4096u);
}

TEST(MalformedTest, EnforcesConfigurableSizeAndCountLimits) {
  ByteBuffer buf;
  ASSERT_TRUE(Encode(std::vector<std::string>{"abc", std::string(100, 'x')}, buf).ok());
  ExpectError(DecodeTerm(buf.view(), DecodeLimits{.max_string_bytes = 99}).status(), kExhausted,
              "string length 100 exceeds max_string_bytes 99", "at offset 7");
  ExpectError(DecodeTerm(buf.view(), DecodeLimits{.max_input_bytes = 50}).status(), kExhausted,
              "input of 108 bytes exceeds max_input_bytes 50", "at offset 0");
  ExpectError(DecodeTerm(buf.view(), DecodeLimits{.max_count = 1}).status(), kExhausted,
              "count 2 exceeds max_count 1", "at offset 1");
  buf.clear();
  ASSERT_TRUE(Encode(std::vector<std::vector<int>>(10, std::vector<int>{1, 2, 3}), buf).ok());
  ExpectError(DecodeTerm(buf.view(), DecodeLimits{.max_total_items = 30}).status(), kExhausted,
              "more than max_total_items 30");
  EXPECT_TRUE(DecodeTerm(buf.view(), DecodeLimits{.max_total_items = 40}).ok());
  ExpectError(
      Decode<std::vector<std::vector<int>>>(buf, DecodeLimits{.max_total_items = 30}).status(),
      kExhausted, "max_total_items");
}

TEST(MalformedTest, RejectsDuplicateFieldNames) {
  ExpectRejected("52 01 50 01 78 01 78 a1 a2", kDataLoss, 1, "duplicate field name");
  // The long path (more than 16 names) sorts; it must agree.
  std::string hex = "0d 01 50 11";
  for (int i = 0; i < 16; ++i) hex += " 01 " + absl::StrFormat("%02x", 0x61 + i);
  hex += " 01 61";
  for (int i = 0; i < 17; ++i) hex += " a0";
  ExpectRejected(hex, kDataLoss, 1, "duplicate field name");
}

TEST(MalformedTest, RejectsBadShapeReferences) {
  ExpectRejected("60", kDataLoss, 1, "shape reference 0, but only 0 shapes are defined",
                 /*embed=*/false);
  ExpectRejected("0f 05", kDataLoss, 1, "shape reference 5", /*embed=*/false);
  ExpectRejected("42 50 01 50 61", kDataLoss, 5, "shape reference 1, but only 1",
                 /*embed=*/false);
  // A shape defined inside a skipped value still counts (and so may be referenced).
  // W{a: Q{}, c: <ref to Q>, b: some(5)}: W is shape 0, Q shape 1.
  absl::StatusOr<W> w = Decode<W>(FromHex("01 53 01 57 01 61 01 63 01 62 50 01 51 61 11 a5"));
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->b, 5);
}

TEST(MalformedTest, RejectsOutOfRangeFieldsOfPidsReferencesAndErrors) {
  ExpectRejected("14 01 6e 80 80 80 80 10 00 00", kDataLoss, 4, "does not fit in 32 bits");
  ExpectRejected("14 01 6e 00 80 80 80 80 10 00", kDataLoss, 4, "does not fit in 32 bits");
  ExpectRejected("15 01 6e 00 05 01 02 03 04 05", kDataLoss, 5,
                 "reference has 5 id words (0..4 allowed)");
  EXPECT_TRUE(DecodeTerm(FromHex("01 15 01 6e 00 00")).ok());
  ExpectRejected("13 00 00", kDataLoss, 2, "error result code 0");
  ExpectRejected("13 80 80 80 80 10 00", kDataLoss, 2, "error result code 4294967296");
}

TEST(MalformedTest, TypedMismatchesAreInvalidArgumentNotDataLoss) {
  const std::string bytes = FromHex("01 22 68 69");  // "hi"
  ExpectError(Decode<int>(bytes).status(), absl::StatusCode::kInvalidArgument,
              "expected int, found string", "at offset 1");
  ExpectError(Decode<W>(bytes).status(), absl::StatusCode::kInvalidArgument,
              "expected struct, found string");
  ExpectError(Decode<W>(FromHex("01 50 01 58")).status(), absl::StatusCode::kInvalidArgument,
              "expected struct 'W', found struct 'X'", "at offset 1");
}

}  // namespace
}  // namespace snow::wire
