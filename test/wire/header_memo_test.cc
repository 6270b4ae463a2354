// The reader keeps the struct headers it checked, per thread, and reads a byte-identical header
// again without parsing it. Nothing about the result may differ: the same values, the right
// fields for a different C++ type with the same header, and the limits still charged.
#include <string>

#include "gtest/gtest.h"
#include "snow/wire/codec.h"

namespace snow::wire {
namespace {

struct Pair {
  static constexpr std::string_view kWireName = "test.Pair";
  int64_t x = 0;
  std::string y;
  friend auto WireFields(Pair& m) { return Fields("x", m.x, "y", m.y); }
};

// The same wire type, declared with its fields the other way round.
struct PairReversed {
  static constexpr std::string_view kWireName = "test.Pair";
  std::string y;
  int64_t x = 0;
  friend auto WireFields(PairReversed& m) { return Fields("y", m.y, "x", m.x); }
};

ByteBuffer EncodePair(int64_t x, std::string y) {
  ByteBuffer out;
  EXPECT_TRUE(Encode(Pair{x, std::move(y)}, out).ok());
  return out;
}

TEST(HeaderMemoTest, ARepeatedHeaderDecodesAlike) {
  for (int i = 0; i < 3; ++i) {
    ByteBuffer bytes = EncodePair(i, "value " + std::to_string(i));
    absl::StatusOr<Pair> pair = Decode<Pair>(bytes.view());
    ASSERT_TRUE(pair.ok()) << pair.status();
    EXPECT_EQ(pair->x, i);
    EXPECT_EQ(pair->y, "value " + std::to_string(i));
  }
}

TEST(HeaderMemoTest, AnotherTypeWithTheSameHeaderGetsItsOwnFields) {
  ByteBuffer bytes = EncodePair(7, "seven");
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<Pair> pair = Decode<Pair>(bytes.view());
    ASSERT_TRUE(pair.ok()) << pair.status();
    EXPECT_EQ(pair->x, 7);
    absl::StatusOr<PairReversed> reversed = Decode<PairReversed>(bytes.view());
    ASSERT_TRUE(reversed.ok()) << reversed.status();
    EXPECT_EQ(reversed->x, 7);
    EXPECT_EQ(reversed->y, "seven");
  }
}

TEST(HeaderMemoTest, AKnownHeaderIsStillChargedToTheLimits) {
  ByteBuffer bytes = EncodePair(1, "one");
  ASSERT_TRUE(Decode<Pair>(bytes.view()).ok());  // the header is known from here on
  DecodeLimits tight;
  tight.max_total_items = 1;  // the struct's two fields are two items
  absl::StatusOr<Pair> refused = Decode<Pair>(bytes.view(), tight);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted) << refused.status();
  tight.max_count = 1;
  tight.max_total_items = 100;
  refused = Decode<Pair>(bytes.view(), tight);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted) << refused.status();
}

TEST(HeaderMemoTest, AKnownHeaderFollowedByTooLittleInputIsTruncated) {
  ByteBuffer bytes = EncodePair(1, "one");
  ASSERT_TRUE(Decode<Pair>(bytes.view()).ok());
  // The header whole, the values cut: the count no longer fits what is left.
  ByteSpan cut = bytes.view().first(bytes.size() - 5);
  absl::StatusOr<Pair> refused = Decode<Pair>(cut);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kDataLoss) << refused.status();
}

}  // namespace
}  // namespace snow::wire
