// A shape agreed outside the terms (DefinedShape): the writer refers to it instead of writing the
// header, the reader given the same shape reads such terms as if the header were there, and
// nothing else reads them. A defined shape is untrusted input like any term.
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "snow/wire/codec.h"

namespace snow::wire {
namespace {

struct Item {
  static constexpr std::string_view kWireName = "test.Item";
  uint64_t seq = 0;
  std::string text;
  std::vector<Item> children;
  friend auto WireFields(Item& m) {
    return Fields("seq", m.seq, "text", m.text, "children", m.children);
  }
};

// The same wire type, declared with its fields the other way round.
struct ItemReversed {
  static constexpr std::string_view kWireName = "test.Item";
  std::vector<ItemReversed> children;
  std::string text;
  uint64_t seq = 0;
  friend auto WireFields(ItemReversed& m) {
    return Fields("children", m.children, "text", m.text, "seq", m.seq);
  }
};

struct Other {
  static constexpr std::string_view kWireName = "test.Other";
  int64_t a = 0;
  friend auto WireFields(Other& m) { return Fields("a", m.a); }
};

const void* ItemKey() { return &wire_internal::kShapeKey<Item>; }

// Encodes `item` the way the first message of a connection is: a plain term, whose header becomes
// the shape.
std::unique_ptr<DefinedShape> ShapeOf(const Item& item) {
  ByteBuffer out;
  Writer w(out);
  w.WriteVersion();
  EncodeValue(w, item);
  const void* key = nullptr;
  size_t begin = 0, end = 0;
  EXPECT_TRUE(w.TopLevelDefinition(&key, &begin, &end));
  EXPECT_EQ(key, ItemKey());
  EXPECT_TRUE(w.Finish().ok());
  absl::StatusOr<std::unique_ptr<DefinedShape>> shape =
      DefinedShape::Parse(out.view().subspan(begin, end - begin));
  EXPECT_TRUE(shape.ok()) << shape.status();
  return shape.ok() ? std::move(*shape) : nullptr;
}

ByteBuffer EncodeWithShape(const Item& item) {
  ByteBuffer out;
  EncodeOptions options;
  options.defined_shape = ItemKey();
  EXPECT_TRUE(Encode(item, out, options).ok());
  return out;
}

template <class T>
absl::StatusOr<T> DecodeWithShape(ByteSpan bytes, DefinedShape* shape) {
  T value;
  Reader r(bytes);
  if (shape != nullptr) r.UseDefinedShape(shape);
  if (r.ReadVersion() && DecodeValue(r, value)) r.ExpectEnd();
  if (!r.ok()) return r.status();
  return value;
}

Item Sample() {
  return Item{7, "seven", {Item{1, "one", {}}, Item{2, "two", {Item{3, "three", {}}}}}};
}

TEST(DefinedShapeTest, TermsReferToTheShapeAndReadBackTheSame) {
  std::unique_ptr<DefinedShape> shape = ShapeOf(Item{});
  ASSERT_NE(shape, nullptr);
  EXPECT_EQ(shape->type_name(), "test.Item");
  EXPECT_EQ(shape->field_count(), 3u);
  ByteBuffer plain;
  ASSERT_TRUE(Encode(Sample(), plain).ok());
  ByteBuffer shaped = EncodeWithShape(Sample());
  // The top-level header is gone; the nested items were references already.
  const size_t header =
      std::string_view("test.Item").size() + 1 + std::string_view("seqtextchildren").size() + 3;
  EXPECT_EQ(shaped.size() + header, plain.size());
  for (int i = 0; i < 2; ++i) {  // the second time, the names are known to match
    absl::StatusOr<Item> back = DecodeWithShape<Item>(shaped.view(), shape.get());
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->seq, 7u);
    EXPECT_EQ(back->text, "seven");
    ASSERT_EQ(back->children.size(), 2u);
    EXPECT_EQ(back->children[1].children[0].text, "three");
  }
}

TEST(DefinedShapeTest, ATypeWithTheFieldsInAnotherOrderMatchesByName) {
  std::unique_ptr<DefinedShape> shape = ShapeOf(Item{});
  ByteBuffer shaped = EncodeWithShape(Sample());
  ASSERT_TRUE(DecodeWithShape<Item>(shaped.view(), shape.get()).ok());  // remembered for Item
  absl::StatusOr<ItemReversed> back = DecodeWithShape<ItemReversed>(shaped.view(), shape.get());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->seq, 7u);
  EXPECT_EQ(back->text, "seven");
  EXPECT_EQ(back->children[1].seq, 2u);
}

TEST(DefinedShapeTest, AShapedTermDoesNotReadWithoutItsShape) {
  ByteBuffer shaped = EncodeWithShape(Sample());
  absl::StatusOr<Item> back = DecodeWithShape<Item>(shaped.view(), nullptr);
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(back.status().message().find("shape reference 0"), std::string::npos) << back.status();
}

TEST(DefinedShapeTest, TheShapeOfAnotherTypeIsAMismatchNotACrash) {
  ByteBuffer out;
  Writer w(out);
  w.WriteVersion();
  EncodeValue(w, Other{5});
  const void* key = nullptr;
  size_t begin = 0, end = 0;
  ASSERT_TRUE(w.TopLevelDefinition(&key, &begin, &end));
  ASSERT_TRUE(w.Finish().ok());
  absl::StatusOr<std::unique_ptr<DefinedShape>> other =
      DefinedShape::Parse(out.view().subspan(begin, end - begin));
  ASSERT_TRUE(other.ok()) << other.status();
  ByteBuffer shaped = EncodeWithShape(Sample());
  absl::StatusOr<Item> back = DecodeWithShape<Item>(shaped.view(), other->get());
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.status().code(), absl::StatusCode::kInvalidArgument) << back.status();
}

TEST(DefinedShapeTest, OnlyOneWholeDefinitionHeaderParses) {
  ByteBuffer out;
  Writer w(out);
  w.WriteVersion();
  EncodeValue(w, Sample());
  const void* key = nullptr;
  size_t begin = 0, end = 0;
  ASSERT_TRUE(w.TopLevelDefinition(&key, &begin, &end));
  ASSERT_TRUE(w.Finish().ok());
  const ByteSpan header = out.view().subspan(begin, end - begin);
  ASSERT_TRUE(DefinedShape::Parse(header).ok());
  absl::StatusOr<std::unique_ptr<DefinedShape>> cut = DefinedShape::Parse(header.first(8));
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.status().message().find("ends before its header does"), std::string::npos)
      << cut.status();
  // Cut short, with a byte more, empty, a value that is not a struct, a shape reference, bad
  // UTF-8 in a name, a duplicate field name, over kMaxBytes: each is refused with kDataLoss.
  std::vector<std::vector<uint8_t>> bad;
  bad.emplace_back(header.begin(), header.end() - 1);
  bad.emplace_back(header.begin(), header.end());
  bad.back().push_back(0);
  bad.emplace_back();
  bad.push_back({0x02});  // a scalar's tag
  bad.push_back({0x60});  // fixref 0
  bad.push_back({0x51, 1, 'T', 1, 0xFF});
  bad.push_back({0x52, 1, 'T', 1, 'a', 1, 'a'});
  bad.emplace_back(DefinedShape::kMaxBytes + 1, 0x51);
  for (const std::vector<uint8_t>& b : bad) {
    absl::StatusOr<std::unique_ptr<DefinedShape>> shape =
        DefinedShape::Parse(ByteSpan(b.data(), b.size()));
    ASSERT_FALSE(shape.ok()) << b.size();
    EXPECT_EQ(shape.status().code(), absl::StatusCode::kDataLoss) << shape.status();
  }
}

TEST(DefinedShapeTest, AValueOfAnotherTypeIsWrittenInFull) {
  // The writer refers to the defined shape only for its own key.
  std::unique_ptr<DefinedShape> shape = ShapeOf(Item{});
  ByteBuffer plain, shaped;
  ASSERT_TRUE(Encode(Other{3}, plain).ok());
  EncodeOptions options;
  options.defined_shape = ItemKey();
  ASSERT_TRUE(Encode(Other{3}, shaped, options).ok());
  EXPECT_EQ(shaped.size(), plain.size());
  absl::StatusOr<Other> back = DecodeWithShape<Other>(shaped.view(), shape.get());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->a, 3);
}

}  // namespace
}  // namespace snow::wire
