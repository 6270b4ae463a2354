// Golden vectors: the exact bytes of STF.md §12, for the typed and the dynamic encoder, so the
// format cannot drift silently. If one of these fails, the format changed: bump the version.
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "gtest/gtest.h"
#include "snow/test/wire/test_util.h"
#include "snow/wire/wire.h"

namespace snow::wire {
namespace {

using testing::FromHex;
using testing::Hex;

struct P {
  static constexpr std::string_view kWireName = "P";
  int64_t x = 0;
  int64_t y = 0;
  friend auto WireFields(P& p) { return Fields("x", p.x, "y", p.y); }
  friend bool operator==(const P&, const P&) = default;
};

struct Circle {
  static constexpr std::string_view kWireName = "Circle";
  double r = 0;
  friend auto WireFields(Circle& c) { return Fields("r", c.r); }
  friend bool operator==(const Circle&, const Circle&) = default;
};
struct Square {
  static constexpr std::string_view kWireName = "Square";
  double side = 0;
  friend auto WireFields(Square& s) { return Fields("side", s.side); }
  friend bool operator==(const Square&, const Square&) = default;
};
struct Shape : std::variant<Circle, Square> {
  using variant::variant;
  static constexpr std::string_view kWireName = "Shape";
};

std::string Repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

template <class T>
std::string TypedHex(const T& v) {
  ByteBuffer buf;
  absl::Status s = Encode(v, buf);
  EXPECT_TRUE(s.ok()) << s;
  return Hex(buf.view());
}

std::string TermHex(const Term& t) {
  ByteBuffer buf;
  absl::Status s = EncodeTerm(t, buf);
  EXPECT_TRUE(s.ok()) << s;
  return Hex(buf.view());
}

// Checks the typed encoding of `v`, the dynamic encoding of `t`, and that the bytes decode back
// to both.
template <class T>
void ExpectGolden(const T& v, const Term& t, const std::string& hex) {
  EXPECT_EQ(TypedHex(v), hex) << t.ToString();
  EXPECT_EQ(TermHex(t), hex) << t.ToString();
  const std::string bytes = FromHex(hex);
  absl::StatusOr<Term> term = DecodeTerm(bytes);
  ASSERT_TRUE(term.ok()) << term.status();
  EXPECT_EQ(*term, t);
  absl::StatusOr<T> typed = Decode<T>(bytes);
  ASSERT_TRUE(typed.ok()) << typed.status();
  EXPECT_TRUE(*typed == v) << hex;
}

TEST(GoldenTest, Scalars) {
  ExpectGolden(Unit{}, Term::Unit(), "01 00");
  ExpectGolden(true, Term::Bool(true), "01 02");
  ExpectGolden(false, Term::Bool(false), "01 01");
  ExpectGolden(int64_t{0}, Term::Int(0), "01 a0");
  ExpectGolden(int64_t{-1}, Term::Int(-1), "01 9f");
  ExpectGolden(int64_t{95}, Term::Int(95), "01 ff");
  ExpectGolden(int64_t{-32}, Term::Int(-32), "01 80");
  ExpectGolden(int64_t{96}, Term::Int(96), "01 03 c0 01");
  ExpectGolden(int64_t{-33}, Term::Int(-33), "01 03 41");
  ExpectGolden(std::numeric_limits<int64_t>::min(), Term::Int(std::numeric_limits<int64_t>::min()),
               "01 03 ff ff ff ff ff ff ff ff ff 01");
  ExpectGolden(std::numeric_limits<int64_t>::max(), Term::Int(std::numeric_limits<int64_t>::max()),
               "01 03 fe ff ff ff ff ff ff ff ff 01");
  ExpectGolden(uint64_t{0}, Term::Uint(0), "01 04 00");
  ExpectGolden(uint64_t{300}, Term::Uint(300), "01 04 ac 02");
  ExpectGolden(std::numeric_limits<uint64_t>::max(),
               Term::Uint(std::numeric_limits<uint64_t>::max()),
               "01 04 ff ff ff ff ff ff ff ff ff 01");
  ExpectGolden(1.0, Term::Float(1.0), "01 05 00 00 00 00 00 00 f0 3f");
  ExpectGolden(-0.0, Term::Float(-0.0), "01 05 00 00 00 00 00 00 00 80");
  ExpectGolden(std::numeric_limits<double>::infinity(),
               Term::Float(std::numeric_limits<double>::infinity()),
               "01 05 00 00 00 00 00 00 f0 7f");
}

TEST(GoldenTest, NarrowIntegersUseTheSameEncodingAsInt64) {
  EXPECT_EQ(TypedHex(int8_t{-1}), "01 9f");
  EXPECT_EQ(TypedHex(int32_t{96}), "01 03 c0 01");
  EXPECT_EQ(TypedHex(uint8_t{7}), "01 04 07");
  enum class Color : uint16_t { kRed = 3 };
  EXPECT_EQ(TypedHex(Color::kRed), "01 04 03");
}

TEST(GoldenTest, TextAndNames) {
  ExpectGolden(std::string(), Term::String(""), "01 20");
  ExpectGolden(std::string("hi"), Term::String("hi"), "01 22 68 69");
  const std::string a31(31, 'a'), a32(32, 'a');
  ExpectGolden(a31, Term::String(a31), "01 3f" + Repeat(" 61", 31));
  const std::string hex32 = "01 06 20" + Repeat(" 61", 32);
  ExpectGolden(a32, Term::String(a32), hex32);
  ExpectGolden(Binary{std::string("\x00\xff", 2)}, Term::Binary(std::string("\x00\xff", 2)),
               "01 07 02 00 ff");
  ExpectGolden(Atom{"ok"}, Term::Atom("ok"), "01 08 02 6f 6b");
  ExpectGolden(NodeName{"a@h"}, Term::Node("a@h"), "01 16 03 61 40 68");
}

TEST(GoldenTest, Collections) {
  ExpectGolden(std::vector<int64_t>{}, Term::List({}), "01 40");
  ExpectGolden(std::vector<int64_t>{1, -1, 300},
               Term::List({Term::Int(1), Term::Int(-1), Term::Int(300)}), "01 17 03 02 01 d8 04");
  ExpectGolden(std::vector<uint64_t>{1}, Term::List({Term::Uint(1)}), "01 18 01 01");
  ExpectGolden(std::vector<double>{1.0}, Term::List({Term::Float(1.0)}),
               "01 19 01 00 00 00 00 00 00 f0 3f");
  ExpectGolden(std::tuple<bool, std::string>{true, "x"},
               Term::Tuple({Term::Bool(true), Term::String("x")}), "01 0a 02 02 21 78");
  ExpectGolden(std::tuple<int, std::string>{1, "x"}, Term::Tuple({Term::Int(1), Term::String("x")}),
               "01 0a 02 a1 21 78");
  ExpectGolden(std::set<int>{}, Term::Set({}), "01 0c 00");
  ExpectGolden(std::map<std::string, int>{{"a", 1}}, Term::Map({{Term::String("a"), Term::Int(1)}}),
               "01 71 21 61 a1");
  ExpectGolden(std::vector<std::variant<bool, std::string>>{true, "x"},
               Term::List({Term::Bool(true), Term::String("x")}), "01 42 02 21 78");
  std::vector<std::vector<int>> sixteen(16);
  std::vector<Term> sixteen_terms(16, Term::List({}));
  ExpectGolden(sixteen, Term::List(sixteen_terms), "01 09 10" + Repeat(" 40", 16));
}

TEST(GoldenTest, OptionalAndResult) {
  ExpectGolden(std::optional<int>(), Term::None(), "01 10");
  ExpectGolden(std::optional<int>(5), Term::Some(Term::Int(5)), "01 11 a5");
  ExpectGolden(absl::OkStatus(), Term::Ok(Term::Unit()), "01 12 00");
  ExpectGolden(absl::NotFoundError("x"), Term::Error(5, "x"), "01 13 05 01 78");
  ExpectGolden(absl::StatusOr<int>(7), Term::Ok(Term::Int(7)), "01 12 a7");
}

TEST(GoldenTest, PidReferenceNode) {
  ExpectGolden(Pid{"a@h", 1, 2, 300}, Term::Pid(Pid{"a@h", 1, 2, 300}),
               "01 14 03 61 40 68 01 02 ac 02");
  Reference ref{"a@h", 1, {7}};
  ExpectGolden(ref, Term::Reference(ref), "01 15 03 61 40 68 01 01 07");
}

TEST(GoldenTest, StructsAndShapes) {
  const Term p12 = Term::Struct("P", {{"x", Term::Int(1)}, {"y", Term::Int(2)}});
  const Term p34 = Term::Struct("P", {{"x", Term::Int(3)}, {"y", Term::Int(4)}});
  ExpectGolden(P{1, 2}, p12, "01 52 01 50 01 78 01 79 a1 a2");
  ExpectGolden(std::vector<P>{{1, 2}, {3, 4}}, Term::List({p12, p34}),
               "01 42 52 01 50 01 78 01 79 a1 a2 60 a3 a4");
  ExpectGolden(Shape{Circle{1.0}}, Term::Variant("Shape", "Circle", {{"r", Term::Float(1.0)}}),
               "01 0e 05 53 68 61 70 65 06 43 69 72 63 6c 65 01 01 72 05 00 00 00 00 00 00 f0 3f");
}

TEST(GoldenTest, SeventeenthShapeUsesTheLongReferenceForm) {
  // Shapes 0..16 are A..Q; the last item refers back to Q, index 16: "0f 10".
  std::vector<Term> items;
  for (int i = 0; i < 17; ++i) items.push_back(Term::Struct(std::string(1, 'A' + i), {}));
  items.push_back(Term::Struct("Q", {}));
  ByteBuffer buf;
  ASSERT_TRUE(EncodeTerm(Term::List(items), buf).ok());
  const std::string hex = Hex(buf.view());
  EXPECT_EQ(hex.substr(hex.size() - 5), "0f 10");
  absl::StatusOr<Term> back = DecodeTerm(buf.view());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, Term::List(items));
}

TEST(GoldenTest, Frame) {
  ByteBuffer buf;
  ASSERT_TRUE(EncodeFrame(Unit{}, buf).ok());
  EXPECT_EQ(Hex(buf.view()), "00 00 00 02 01 00");
}

}  // namespace
}  // namespace snow::wire
