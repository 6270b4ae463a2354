// Large binaries by reference (EncodeOptions::borrowed) and supplied from outside the input
// (Reader::SupplyBinary): what dist/ does with a large message on each side. The bytes an encoder
// borrows, put back where it says, give exactly the ordinary encoding; an input without one
// binary's bytes decodes to the same value when they are supplied, and the Binary takes the
// supplied string over instead of copying it.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "snow/wire/codec.h"
#include "snow/wire/reader.h"
#include "snow/wire/writer.h"

namespace snow::wire {
namespace {

struct Parcel {
  static constexpr std::string_view kWireName = "test.Parcel";
  std::string label;
  Binary first;
  int64_t count = 0;
  Binary second;
  Binary small;
  friend auto WireFields(Parcel& m) {
    return Fields("label", m.label, "first", m.first, "count", m.count, "second", m.second, "small",
                  m.small);
  }
};

std::string Pattern(size_t n, int seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed) & 0xff);
  return s;
}

// Encodes `parcel` borrowing binaries of 64 KiB or more into `borrowed`.
ByteBuffer EncodeBorrowing(const Parcel& parcel, std::vector<BorrowedBytes>* borrowed) {
  EncodeOptions options;
  options.borrowed = borrowed;
  options.borrow_from_bytes = 64 * 1024;
  ByteBuffer out;
  EXPECT_TRUE(Encode(parcel, out, options).ok());
  return out;
}

// The borrowed encoding with all but the first borrowed binary put back in place.
std::string AllButTheFirst(const ByteBuffer& holey, const std::vector<BorrowedBytes>& borrowed) {
  std::string input;
  size_t at = 0;
  for (size_t i = 1; i < borrowed.size(); ++i) {
    input.append(holey.chars().substr(at, borrowed[i].offset - at));
    input.append(borrowed[i].bytes);
    at = borrowed[i].offset;
  }
  input.append(holey.chars().substr(at));
  return input;
}

Parcel MakeParcel() {
  Parcel p;
  p.label = "two large, one small";
  p.first.bytes = Pattern(200'000, 1);
  p.count = -7;
  p.second.bytes = Pattern(70'000, 2);
  p.small.bytes = Pattern(100, 3);
  return p;
}

TEST(BorrowTest, BorrowedBytesPutBackGiveTheOrdinaryEncoding) {
  const Parcel parcel = MakeParcel();
  ByteBuffer ordinary;
  ASSERT_TRUE(Encode(parcel, ordinary).ok());

  std::vector<BorrowedBytes> borrowed;
  ByteBuffer holey = EncodeBorrowing(parcel, &borrowed);
  ASSERT_EQ(borrowed.size(), 2u);  // the small binary is copied
  EXPECT_EQ(borrowed[0].bytes.data(), parcel.first.bytes.data()) << "borrowed, not copied";
  EXPECT_EQ(borrowed[1].bytes.data(), parcel.second.bytes.data());
  EXPECT_EQ(holey.size() + borrowed[0].bytes.size() + borrowed[1].bytes.size(), ordinary.size());

  std::string spliced;
  size_t at = 0;
  for (const BorrowedBytes& b : borrowed) {
    spliced.append(holey.chars().substr(at, b.offset - at));
    spliced.append(b.bytes);
    at = b.offset;
  }
  spliced.append(holey.chars().substr(at));
  EXPECT_TRUE(spliced == std::string(ordinary.chars()));
}

TEST(BorrowTest, ASuppliedBinaryDecodesToTheSameValueAndIsTakenOver) {
  const Parcel parcel = MakeParcel();
  std::vector<BorrowedBytes> borrowed;
  ByteBuffer holey = EncodeBorrowing(parcel, &borrowed);
  ASSERT_EQ(borrowed.size(), 2u);
  // Only the first is supplied; the second goes back into the input where it belongs.
  const std::string input = AllButTheFirst(holey, borrowed);
  std::string supplied(borrowed[0].bytes);
  const char* supplied_data = supplied.data();

  Parcel out;
  Reader r(AsBytes(input));
  r.SupplyBinary(borrowed[0].offset, &supplied);
  ASSERT_TRUE(r.ReadVersion() && DecodeValue(r, out) && r.ExpectEnd()) << r.status();
  EXPECT_EQ(out.label, parcel.label);
  EXPECT_EQ(out.count, parcel.count);
  EXPECT_TRUE(out.first == parcel.first);
  EXPECT_TRUE(out.second == parcel.second);
  EXPECT_TRUE(out.small == parcel.small);
  EXPECT_EQ(out.first.bytes.data(), supplied_data) << "the supplied string was copied";
}

TEST(BorrowTest, ASuppliedBinaryThatDoesNotMatchIsAnError) {
  const Parcel parcel = MakeParcel();
  std::vector<BorrowedBytes> borrowed;
  ByteBuffer holey = EncodeBorrowing(parcel, &borrowed);
  ASSERT_EQ(borrowed.size(), 2u);
  const std::string input = AllButTheFirst(holey, borrowed);
  // One byte short: the header says otherwise, so the input is read as it is, and lacks it.
  std::string supplied(borrowed[0].bytes.substr(1));
  Parcel out;
  Reader r(AsBytes(input));
  r.SupplyBinary(borrowed[0].offset, &supplied);
  EXPECT_FALSE(r.ReadVersion() && DecodeValue(r, out) && r.ExpectEnd());
  EXPECT_FALSE(r.status().ok());
}

TEST(BorrowTest, WithoutBorrowingEveryBinaryIsCopied) {
  const Parcel parcel = MakeParcel();
  ByteBuffer a, b;
  ASSERT_TRUE(Encode(parcel, a).ok());
  std::vector<BorrowedBytes> borrowed;
  EncodeOptions options;
  options.borrowed = &borrowed;
  options.borrow_from_bytes = 1 << 20;  // larger than any of them
  ASSERT_TRUE(Encode(parcel, b, options).ok());
  EXPECT_TRUE(borrowed.empty());
  EXPECT_TRUE(std::string(a.chars()) == std::string(b.chars()));
}

}  // namespace
}  // namespace snow::wire
