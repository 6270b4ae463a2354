// Interop: two programs built separately, with different declarations of "the same" message,
// exchange bytes (STF.md §7). Simulated with two C++ types that share a wire name.
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "gtest/gtest.h"
#include "snow/test/wire/test_util.h"
#include "snow/wire/wire.h"

namespace snow::wire {
namespace {

using testing::ExpectError;
using testing::FromHex;

namespace v1 {
struct Order {
  static constexpr std::string_view kWireName = "shop.Order";
  int64_t id = 0;
  std::string item;
  int32_t quantity = 0;
  friend auto WireFields(Order& o) {
    return Fields("id", o.id, "item", o.item, "quantity", o.quantity);
  }
};
}  // namespace v1

namespace v2 {
struct Address {
  static constexpr std::string_view kWireName = "shop.Address";
  std::string city;
  friend auto WireFields(Address& a) { return Fields("city", a.city); }
};
// Fields reordered, quantity widened, and three optional fields added (one of them a list of
// nested structs) that v1 never sends.
struct Order {
  static constexpr std::string_view kWireName = "shop.Order";
  std::string item;
  std::optional<std::vector<Address>> ship_to;
  int64_t quantity = 0;
  int64_t id = 0;
  std::optional<std::string> coupon;
  std::unique_ptr<Address> bill_to;
  friend auto WireFields(Order& o) {
    return Fields("item", o.item, "ship_to", o.ship_to, "quantity", o.quantity, "id", o.id,
                  "coupon", o.coupon, "bill_to", o.bill_to);
  }
};
}  // namespace v2

// v1 plus a required field: what happens when a receiver requires what the sender lacks.
namespace v3 {
struct Order {
  static constexpr std::string_view kWireName = "shop.Order";
  int64_t id = 0;
  std::string item;
  int32_t quantity = 0;
  std::string note;  // required, and v1 does not send it
  friend auto WireFields(Order& o) {
    return Fields("id", o.id, "item", o.item, "quantity", o.quantity, "note", o.note);
  }
};
}  // namespace v3

template <class To, class From>
absl::StatusOr<To> Send(const From& v) {
  ByteBuffer buf;
  absl::Status s = Encode(v, buf);
  if (!s.ok()) return s;
  return Decode<To>(buf);
}

TEST(InteropTest, FieldsInAnotherOrderAreMatchedByName) {
  absl::StatusOr<v2::Order> o = Send<v2::Order>(v1::Order{7, "tea", 3});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->id, 7);
  EXPECT_EQ(o->item, "tea");
  EXPECT_EQ(o->quantity, 3);
}

TEST(InteropTest, MissingOptionalFieldsAreLeftEmpty) {
  v2::Order stale;
  stale.coupon = "old";
  stale.bill_to = std::make_unique<v2::Address>(v2::Address{"x"});
  ByteBuffer buf;
  ASSERT_TRUE(Encode(v1::Order{7, "tea", 3}, buf).ok());
  // Decoding into a reused object must clear what the sender did not send, not keep it.
  ASSERT_TRUE(DecodeInto(buf.view(), stale).ok());
  EXPECT_FALSE(stale.coupon.has_value());
  EXPECT_EQ(stale.bill_to, nullptr);
}

TEST(InteropTest, MissingRequiredFieldsAreAClearError) {
  ExpectError(Send<v3::Order>(v1::Order{7, "tea", 3}).status(), absl::StatusCode::kInvalidArgument,
              "missing field 'note' of 'shop.Order'");
}

TEST(InteropTest, ExtraFieldsAreSkipped) {
  v2::Order o;
  o.item = "tea";
  o.ship_to = std::vector<v2::Address>{{"Oslo"}, {"Bergen"}};
  o.quantity = 2;
  o.id = 9;
  o.coupon = "SNOW";
  o.bill_to = std::make_unique<v2::Address>(v2::Address{"Tromsø"});
  absl::StatusOr<v1::Order> old = Send<v1::Order>(o);
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->id, 9);
  EXPECT_EQ(old->item, "tea");
  EXPECT_EQ(old->quantity, 2);
}

TEST(InteropTest, ListsOfStructsAcrossVersionsUseShapesCorrectly) {
  std::vector<v2::Order> orders(3);
  for (int i = 0; i < 3; ++i) {
    orders[i].id = i;
    orders[i].item = "i" + std::to_string(i);
    orders[i].ship_to = std::vector<v2::Address>{{"c" + std::to_string(i)}};
    orders[i].quantity = 10 + i;
  }
  absl::StatusOr<std::vector<v1::Order>> old = Send<std::vector<v1::Order>>(orders);
  ASSERT_TRUE(old.ok()) << old.status();
  ASSERT_EQ(old->size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ((*old)[i].id, i);
    EXPECT_EQ((*old)[i].quantity, 10 + i);
  }
  // And into a receiver that requires more: the error names the element.
  ExpectError(Send<std::vector<v3::Order>>(*old).status(), absl::StatusCode::kInvalidArgument,
              "missing field 'note'", "in [0]");
}

TEST(InteropTest, AValueTooWideForTheReceiverIsAnError) {
  v2::Order o;
  o.quantity = int64_t{1} << 40;
  absl::StatusOr<v1::Order> old = Send<v1::Order>(o);
  ExpectError(old.status(), absl::StatusCode::kInvalidArgument, "out of range for a 32-bit",
              "in .quantity");
}

TEST(InteropTest, ADifferentTypeNameIsAMismatch) {
  ExpectError(Send<v2::Address>(v1::Order{}).status(), absl::StatusCode::kInvalidArgument,
              "expected struct 'shop.Address', found struct 'shop.Order'");
}

// What an independent implementation in another language might send: long forms instead of fix
// forms, an unpacked list of numbers, definitions instead of shape references, fields in its own
// order. All of it must decode.
TEST(InteropTest, AcceptsNonCanonicalEncodingsFromOtherImplementations) {
  const std::string bytes = FromHex(
      "01"
      "0d 0a 73 68 6f 70 2e 4f 72 64 65 72"  // struct "shop.Order", long form
      "03"                                   // 3 fields
      "08 71 75 61 6e 74 69 74 79"           // "quantity"
      "04 69 74 65 6d"                       // "item"
      "02 69 64"                             // "id"
      "03 06"                                // quantity: int 3 as long form (zigzag 6)
      "06 03 74 65 61"                       // item: "tea" as long-form string
      "04 07");                              // id: uint 7
  absl::StatusOr<v1::Order> o = Decode<v1::Order>(bytes);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->id, 7);
  EXPECT_EQ(o->item, "tea");
  EXPECT_EQ(o->quantity, 3);

  // [1, 2] as a plain list of long-form ints, and a repeated struct defined twice.
  absl::StatusOr<std::vector<int>> list = Decode<std::vector<int>>(FromHex("01 09 02 03 02 03 04"));
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(*list, (std::vector<int>{1, 2}));
  absl::StatusOr<std::vector<v2::Address>> addrs = Decode<std::vector<v2::Address>>(
      FromHex("01 42 51 0c 73 68 6f 70 2e 41 64 64 72 65 73 73 04 63 69 74 79 21 61"
              "51 0c 73 68 6f 70 2e 41 64 64 72 65 73 73 04 63 69 74 79 21 62"));
  ASSERT_TRUE(addrs.ok()) << addrs.status();
  EXPECT_EQ((*addrs)[1].city, "b");
}

struct Ping {
  static constexpr std::string_view kWireName = "demo.Ping";
  int64_t n = 0;
  friend auto WireFields(Ping& p) { return Fields("n", p.n); }
};
struct Pong {
  static constexpr std::string_view kWireName = "demo.Pong";
  int64_t n = 0;
  friend auto WireFields(Pong& p) { return Fields("n", p.n); }
};

TEST(InteropTest, AnUntaggedVariantOfStructsPicksByTypeName) {
  // Two structs with identical fields: only the name tells them apart.
  using Message = std::variant<Ping, Pong>;
  absl::StatusOr<Message> m = Send<Message>(Pong{5});
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->index(), 1u);
  EXPECT_EQ(std::get<Pong>(*m).n, 5);
  ExpectError(Send<Message>(v2::Address{}).status(), absl::StatusCode::kInvalidArgument,
              "no alternative of the variant accepts a struct 'shop.Address'");
}

namespace old_shapes {
struct Circle {
  static constexpr std::string_view kWireName = "Circle";
  double r = 0;
  friend auto WireFields(Circle& c) { return Fields("r", c.r); }
};
struct Shape : std::variant<Circle> {
  using variant::variant;
  static constexpr std::string_view kWireName = "geo.Shape";
};
}  // namespace old_shapes
namespace new_shapes {
struct Circle {
  static constexpr std::string_view kWireName = "Circle";
  double r = 0;
  std::string color;
  friend auto WireFields(Circle& c) { return Fields("color", c.color, "r", c.r); }
};
struct Square {
  static constexpr std::string_view kWireName = "Square";
  double side = 0;
  friend auto WireFields(Square& s) { return Fields("side", s.side); }
};
struct Shape : std::variant<Circle, Square> {
  using variant::variant;
  static constexpr std::string_view kWireName = "geo.Shape";
};
}  // namespace new_shapes

TEST(InteropTest, VariantAlternativesMatchByNameAndNewOnesAreRejected) {
  absl::StatusOr<old_shapes::Shape> c =
      Send<old_shapes::Shape>(new_shapes::Shape{new_shapes::Circle{2.0, "red"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(std::get<old_shapes::Circle>(*c).r, 2.0);
  ExpectError(Send<old_shapes::Shape>(new_shapes::Shape{new_shapes::Square{1}}).status(),
              absl::StatusCode::kInvalidArgument, "unknown alternative 'Square' of 'geo.Shape'");
}

}  // namespace
}  // namespace snow::wire
