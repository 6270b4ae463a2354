// The typed path: every supported C++ type round-trips, nested and empty, at its extremes; views
// decode without copying; encode-side refusals; the Codec customisation point.
#include "snow/wire/codec.h"

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "gtest/gtest.h"
#include "snow/test/wire/test_util.h"
#include "snow/wire/term.h"

namespace snow::wire {
namespace {

using testing::ExpectError;
using testing::FromHex;
using testing::Hex;

template <class T>
T RoundTrip(const T& v) {
  ByteBuffer buf;
  absl::Status s = Encode(v, buf);
  EXPECT_TRUE(s.ok()) << s;
  absl::StatusOr<T> back = Decode<T>(buf);
  EXPECT_TRUE(back.ok()) << back.status() << " bytes: " << Hex(buf.view());
  // The dynamic decoder must accept whatever the typed encoder wrote.
  absl::StatusOr<Term> term = DecodeTerm(buf.view());
  EXPECT_TRUE(term.ok()) << term.status();
  return back.ok() ? *std::move(back) : T{};
}

template <class T>
void ExpectRoundTrip(const T& v) {
  EXPECT_TRUE(RoundTrip(v) == v);
}

struct Inner {
  static constexpr std::string_view kWireName = "test.Inner";
  std::string name;
  std::vector<int32_t> values;
  friend auto WireFields(Inner& i) { return Fields("name", i.name, "values", i.values); }
  friend bool operator==(const Inner&, const Inner&) = default;
};

enum class Mood : int8_t { kSad = -1, kOk = 0, kHappy = 1 };

struct Everything {
  static constexpr std::string_view kWireName = "test.Everything";
  bool b = false;
  int8_t i8 = 0;
  int16_t i16 = 0;
  int32_t i32 = 0;
  int64_t i64 = 0;
  uint8_t u8 = 0;
  uint16_t u16 = 0;
  uint32_t u32 = 0;
  uint64_t u64 = 0;
  float f = 0;
  double d = 0;
  Mood mood = Mood::kOk;
  std::string s;
  Binary bin;
  std::vector<uint8_t> bytes;
  Unit unit;
  Atom atom;
  NodeName node;
  Pid pid;
  Reference ref;
  std::vector<Inner> inners;
  std::array<int16_t, 3> arr{};
  std::set<std::string> set;
  std::unordered_set<int64_t> uset;
  absl::flat_hash_set<uint32_t> fset;
  std::map<std::string, Inner> map;
  std::unordered_map<int64_t, std::string> umap;
  absl::flat_hash_map<std::string, std::vector<double>> fmap;
  std::pair<int, std::string> pair;
  std::tuple<bool, double, std::optional<int>> tuple;
  std::optional<Inner> opt;
  std::unique_ptr<Inner> ptr;
  std::variant<std::monostate, int64_t, std::string, Inner> var;
  absl::Status status;
  absl::StatusOr<std::vector<int>> status_or = std::vector<int>{};
  std::vector<bool> bools;

  friend auto WireFields(Everything& e) {
    return Fields("b", e.b, "i8", e.i8, "i16", e.i16, "i32", e.i32, "i64", e.i64, "u8", e.u8, "u16",
                  e.u16, "u32", e.u32, "u64", e.u64, "f", e.f, "d", e.d, "mood", e.mood, "s", e.s,
                  "bin", e.bin, "bytes", e.bytes, "unit", e.unit, "atom", e.atom, "node", e.node,
                  "pid", e.pid, "ref", e.ref, "inners", e.inners, "arr", e.arr, "set", e.set,
                  "uset", e.uset, "fset", e.fset, "map", e.map, "umap", e.umap, "fmap", e.fmap,
                  "pair", e.pair, "tuple", e.tuple, "opt", e.opt, "ptr", e.ptr, "var", e.var,
                  "status", e.status, "status_or", e.status_or, "bools", e.bools);
  }
  friend bool operator==(const Everything& a, const Everything& b) {
    const bool ptrs = (a.ptr == nullptr) == (b.ptr == nullptr) && (!a.ptr || *a.ptr == *b.ptr);
    const bool floats =
        std::memcmp(&a.f, &b.f, sizeof(float)) == 0 && std::memcmp(&a.d, &b.d, sizeof(double)) == 0;
    auto tie = [](const Everything& e) {
      return std::tie(e.b, e.i8, e.i16, e.i32, e.i64, e.u8, e.u16, e.u32, e.u64, e.mood, e.s, e.bin,
                      e.bytes, e.unit, e.atom, e.node, e.pid, e.ref, e.inners, e.arr, e.set, e.uset,
                      e.fset, e.map, e.umap, e.fmap, e.pair, e.opt, e.var, e.status, e.status_or,
                      e.bools);
    };
    return ptrs && floats && tie(a) == tie(b) && std::get<0>(a.tuple) == std::get<0>(b.tuple) &&
           std::get<2>(a.tuple) == std::get<2>(b.tuple);
  }
};

Everything Full() {
  Everything e;
  e.b = true;
  e.i8 = std::numeric_limits<int8_t>::min();
  e.i16 = std::numeric_limits<int16_t>::max();
  e.i32 = std::numeric_limits<int32_t>::min();
  e.i64 = std::numeric_limits<int64_t>::min();
  e.u8 = 255;
  e.u16 = 65535;
  e.u32 = std::numeric_limits<uint32_t>::max();
  e.u64 = std::numeric_limits<uint64_t>::max();
  e.f = -1.5f;
  e.d = std::nan("");
  e.mood = Mood::kSad;
  e.s = "snow \xE2\x9D\x84 \xF0\x9F\x98\x80";  // ❄ 😀
  e.bin.bytes = std::string("\x00\x01\xfe\xff", 4);
  e.bytes = {0, 128, 255};
  e.atom.name = "ok";
  e.node.name = "b@127.0.0.1:4370";
  e.pid = Pid{"b@127.0.0.1:4370", 0xFFFFFFFF, 7, std::numeric_limits<uint64_t>::max()};
  e.ref = Reference{"c@h", 3, {1, 2, std::numeric_limits<uint64_t>::max(), 0}};
  e.inners = {{"a", {1, -2, 3}}, {"", {}}, {"c", {std::numeric_limits<int32_t>::min()}}};
  e.arr = {-1, 0, 32767};
  e.set = {"x", "y", ""};
  e.uset = {1, -1, 1LL << 40};
  e.fset = {0, 99};
  e.map = {{"k", {"v", {9}}}, {"", {}}};
  e.umap = {{-5, "minus five"}, {5, ""}};
  e.fmap = {{"e", {}}, {"pi", {3.14159, -0.0}}};
  e.pair = {42, "answer"};
  e.tuple = {true, 2.5, std::nullopt};
  e.opt = Inner{"o", {1}};
  e.ptr = std::make_unique<Inner>(Inner{"p", {2, 3}});
  e.var = Inner{"v", {4}};
  e.status = absl::PermissionDeniedError("no \xE2\x9D\x84 for you");
  e.status_or = absl::UnavailableError("down");
  e.bools = {true, false, true};
  return e;
}

TEST(CodecTest, RoundTripsEveryTypeInOneStruct) {
  const Everything e = Full();
  EXPECT_TRUE(RoundTrip(e) == e);
}

TEST(CodecTest, RoundTripsEveryTypeEmptyOrDefault) {
  const Everything e;
  EXPECT_TRUE(RoundTrip(e) == e);
}

TEST(CodecTest, RoundTripsIntegerExtremes) {
  for (int64_t v : {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::min() + 1,
                    int64_t{-33}, int64_t{-32}, int64_t{-1}, int64_t{0}, int64_t{95}, int64_t{96},
                    int64_t{1} << 62, std::numeric_limits<int64_t>::max()}) {
    EXPECT_EQ(RoundTrip(v), v);
  }
  for (uint64_t v : {uint64_t{0}, uint64_t{127}, uint64_t{128}, uint64_t{1} << 63,
                     std::numeric_limits<uint64_t>::max()}) {
    EXPECT_EQ(RoundTrip(v), v);
  }
  ExpectRoundTrip(std::numeric_limits<int8_t>::min());
  ExpectRoundTrip(std::numeric_limits<uint32_t>::max());
  ExpectRoundTrip(std::vector<int64_t>{std::numeric_limits<int64_t>::min(), 0,
                                       std::numeric_limits<int64_t>::max()});
  ExpectRoundTrip(std::vector<uint64_t>{std::numeric_limits<uint64_t>::max(), 0});
  ExpectRoundTrip(std::vector<int8_t>{-128, 127});
}

TEST(CodecTest, RoundTripsFloatsBitForBit) {
  const double values[] = {0.0,
                           -0.0,
                           std::numeric_limits<double>::infinity(),
                           -std::numeric_limits<double>::infinity(),
                           std::numeric_limits<double>::quiet_NaN(),
                           -std::numeric_limits<double>::quiet_NaN(),
                           std::numeric_limits<double>::signaling_NaN(),
                           std::numeric_limits<double>::denorm_min(),
                           std::numeric_limits<double>::max(),
                           std::numeric_limits<double>::lowest()};
  for (double v : values) {
    const double back = RoundTrip(v);
    EXPECT_EQ(std::memcmp(&back, &v, 8), 0) << v;
  }
  std::vector<double> all(std::begin(values), std::end(values));
  const std::vector<double> back = RoundTrip(all);
  ASSERT_EQ(back.size(), all.size());
  EXPECT_EQ(std::memcmp(back.data(), all.data(), 8 * all.size()), 0);
  EXPECT_EQ(RoundTrip(std::vector<float>{1.5f, -0.0f}), (std::vector<float>{1.5f, -0.0f}));
}

TEST(CodecTest, RoundTripsNestedEmptyContainers) {
  ExpectRoundTrip(std::vector<std::vector<std::vector<int>>>{{}, {{}}, {{}, {1}}});
  ExpectRoundTrip(std::map<std::string, std::map<int, std::set<std::string>>>{
      {"", {}}, {"a", {{1, {}}, {2, {""}}}}});
  ExpectRoundTrip(
      std::optional<std::optional<std::vector<int>>>{std::optional<std::vector<int>>{}});
  ExpectRoundTrip(std::tuple<>{});
  ExpectRoundTrip(std::tuple<std::tuple<>, std::vector<std::tuple<>>>{{}, {{}, {}}});
  ExpectRoundTrip(std::string());
  ExpectRoundTrip(Binary{});
  ExpectRoundTrip(std::vector<std::string>{"", "", ""});
}

TEST(CodecTest, RoundTripsLongStringsAndBinaries) {
  ExpectRoundTrip(std::string(100000, 'x'));
  std::string bytes(1 << 20, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 131);
  ExpectRoundTrip(Binary{bytes});
  ExpectRoundTrip(std::vector<std::byte>{std::byte{0}, std::byte{255}});
  ExpectRoundTrip(std::vector<char>{'a', '\0'});
}

struct Tree {
  static constexpr std::string_view kWireName = "test.Tree";
  int64_t value = 0;
  std::vector<Tree> kids;
  std::unique_ptr<Tree> extra;
  friend auto WireFields(Tree& t) {
    return Fields("value", t.value, "kids", t.kids, "extra", t.extra);
  }
  Tree() = default;
  Tree(const Tree& o) : value(o.value), kids(o.kids) {
    if (o.extra) extra = std::make_unique<Tree>(*o.extra);
  }
  Tree(Tree&&) = default;
  friend bool operator==(const Tree& a, const Tree& b) {
    return a.value == b.value && a.kids == b.kids && (a.extra == nullptr) == (b.extra == nullptr) &&
           (!a.extra || *a.extra == *b.extra);
  }
};

TEST(CodecTest, RoundTripsRecursiveStructsWithShapeReferences) {
  Tree t;
  t.value = 1;
  for (int i = 0; i < 3; ++i) {
    Tree k;
    k.value = 10 + i;
    k.kids.resize(static_cast<size_t>(i));
    t.kids.push_back(k);
  }
  t.extra = std::make_unique<Tree>();
  t.extra->value = -7;
  ExpectRoundTrip(t);

  ByteBuffer buf;
  ASSERT_TRUE(Encode(t, buf).ok());
  // One definition, then every other Tree is a one-byte reference (0x60).
  const std::string hex = Hex(buf.view());
  EXPECT_EQ(hex.find("09 74 65 73 74 2e 54 72 65 65"), hex.rfind("09 74 65 73 74 2e 54 72 65 65"));
}

TEST(CodecTest, DecodesStringViewsAndBinaryViewsWithoutCopying) {
  ByteBuffer buf;
  ASSERT_TRUE(
      Encode(std::tuple<std::string, Binary, Pid>{"hello", {"\x01\x02"}, {"n@h", 1, 2, 3}}, buf)
          .ok());
  absl::StatusOr<std::tuple<std::string_view, BinaryView, PidView>> v =
      Decode<std::tuple<std::string_view, BinaryView, PidView>>(buf);
  ASSERT_TRUE(v.ok()) << v.status();
  const auto* begin = reinterpret_cast<const char*>(buf.data());
  const auto* end = begin + buf.size();
  auto inside = [&](std::string_view s) { return s.data() >= begin && s.data() + s.size() <= end; };
  EXPECT_EQ(std::get<0>(*v), "hello");
  EXPECT_TRUE(inside(std::get<0>(*v)));
  EXPECT_EQ(std::get<1>(*v).bytes, "\x01\x02");
  EXPECT_TRUE(inside(std::get<1>(*v).bytes));
  EXPECT_EQ(std::get<2>(*v).node, "n@h");
  EXPECT_TRUE(inside(std::get<2>(*v).node));
  EXPECT_EQ(std::get<2>(*v).serial, 3u);
}

TEST(CodecTest, AcceptsIntAndUintInterchangeablyWhenTheValueFits) {
  ByteBuffer buf;
  ASSERT_TRUE(Encode(uint64_t{5}, buf).ok());
  EXPECT_EQ(*Decode<int32_t>(buf), 5);
  buf.clear();
  ASSERT_TRUE(Encode(int64_t{5}, buf).ok());
  EXPECT_EQ(*Decode<uint16_t>(buf), 5u);
  buf.clear();
  ASSERT_TRUE(Encode(std::vector<uint64_t>{1, 2}, buf).ok());
  EXPECT_EQ(*Decode<std::vector<int>>(buf), (std::vector<int>{1, 2}));
}

TEST(CodecTest, RejectsIntegersOutOfRangeOfTheTarget) {
  ByteBuffer buf;
  ASSERT_TRUE(Encode(int64_t{300}, buf).ok());
  ExpectError(Decode<int8_t>(buf).status(), absl::StatusCode::kInvalidArgument, "out of range",
              "offset 1");
  buf.clear();
  ASSERT_TRUE(Encode(int64_t{-1}, buf).ok());
  ExpectError(Decode<uint64_t>(buf).status(), absl::StatusCode::kInvalidArgument, "negative");
  buf.clear();
  ASSERT_TRUE(Encode(std::numeric_limits<uint64_t>::max(), buf).ok());
  ExpectError(Decode<int64_t>(buf).status(), absl::StatusCode::kInvalidArgument, "does not fit");
  buf.clear();
  ASSERT_TRUE(Encode(std::vector<int64_t>{1, 2, 1000}, buf).ok());
  ExpectError(Decode<std::vector<int8_t>>(buf).status(), absl::StatusCode::kInvalidArgument,
              "out of range", "offset 5");
  buf.clear();
  ASSERT_TRUE(Encode(1e300, buf).ok());
  ExpectError(Decode<float>(buf).status(), absl::StatusCode::kInvalidArgument, "float");
}

// Same wire name as Inner, but `values` declared as strings.
struct Wrong {
  static constexpr std::string_view kWireName = "test.Inner";
  std::string name;
  std::vector<std::string> values;
  friend auto WireFields(Wrong& w) { return Fields("name", w.name, "values", w.values); }
};

struct Dup {
  static constexpr std::string_view kWireName = "Dup";
  int a = 0, b = 0;
  friend auto WireFields(Dup& d) { return Fields("a", d.a, "a", d.b); }
};

TEST(CodecTest, RejectsAKindMismatchWithThePath) {
  ByteBuffer buf;
  Inner in{"x", {1}};
  ASSERT_TRUE(Encode(std::vector<Inner>{in, in}, buf).ok());
  absl::Status s = Decode<std::vector<std::string>>(buf).status();
  ExpectError(s, absl::StatusCode::kInvalidArgument, "expected string, found struct", "offset 2",
              "[0]");
  s = Decode<std::vector<Wrong>>(buf).status();
  ExpectError(s, absl::StatusCode::kInvalidArgument, "expected a list of", "found a packed int",
              "in [0].values");
}

TEST(CodecTest, PicksTheMatchingAlternativeOfAnUntaggedVariant) {
  using V = std::variant<bool, int64_t, std::string, Inner, std::vector<int>, std::optional<int>>;
  for (const V& v : {V(true), V(int64_t{-9}), V(std::string("s")), V(Inner{"i", {}}),
                     V(std::vector<int>{1}), V(std::optional<int>(3))}) {
    EXPECT_TRUE(RoundTrip(v) == v) << v.index();
  }
  ByteBuffer buf;
  ASSERT_TRUE(Encode(1.5, buf).ok());
  ExpectError(Decode<V>(buf).status(), absl::StatusCode::kInvalidArgument,
              "no alternative of the variant accepts a float");
}

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
struct Empty {
  static constexpr std::string_view kWireName = "Empty";
  friend auto WireFields(Empty&) { return Fields(); }
  friend bool operator==(const Empty&, const Empty&) = default;
};
struct Shape : std::variant<Circle, Square, Empty> {
  using variant::variant;
  static constexpr std::string_view kWireName = "geo.Shape";
};

TEST(CodecTest, RoundTripsNamedVariants) {
  const std::vector<Shape> shapes{Circle{1}, Square{2}, Empty{}, Circle{3}, Empty{}};
  const std::vector<Shape> back = RoundTrip(shapes);
  ASSERT_EQ(back.size(), shapes.size());
  for (size_t i = 0; i < shapes.size(); ++i) {
    using Base = std::variant<Circle, Square, Empty>;
    EXPECT_TRUE(static_cast<const Base&>(back[i]) == static_cast<const Base&>(shapes[i]));
  }
  absl::StatusOr<Term> t = ToTerm(shapes[1]);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->ToString(), "geo.Shape::Square{side: 2.0}");
}

TEST(CodecTest, RejectsAnUnknownAlternative) {
  const Term t = Term::Variant("geo.Shape", "Hexagon", {{"side", Term::Float(1)}});
  ExpectError(FromTerm<Shape>(t).status(), absl::StatusCode::kInvalidArgument,
              "unknown alternative 'Hexagon' of 'geo.Shape'", "offset 1");
}

TEST(CodecTest, RefusesToEncodeInvalidUtf8AndLeavesTheBufferAsItWas) {
  ByteBuffer buf;
  buf.Append(std::string_view("keep"));
  absl::Status s = Encode(std::vector<std::string>{"ok", "bad \xC0\x80"}, buf);
  ExpectError(s, absl::StatusCode::kInvalidArgument, "not valid UTF-8");
  EXPECT_EQ(buf.chars(), "keep");
  s = Encode(Atom{std::string(256, 'a')}, buf);
  ExpectError(s, absl::StatusCode::kInvalidArgument, "exceeds 255");
  EXPECT_EQ(buf.chars(), "keep");
}

TEST(CodecTest, SendsStatusMessagesThatAreNotUtf8WithReplacementCharacters) {
  ByteBuffer buf;
  ASSERT_TRUE(Encode(absl::InternalError("bad \xFF byte"), buf).ok());
  absl::StatusOr<absl::Status> s = Decode<absl::Status>(buf);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->code(), absl::StatusCode::kInternal);
  EXPECT_EQ(s->message(), "bad \xEF\xBF\xBD byte");
}

TEST(CodecTest, MapsUnknownStatusCodesToUnknown) {
  absl::StatusOr<absl::Status> s = FromTerm<absl::Status>(Term::Error(99, "future"));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->code(), absl::StatusCode::kUnknown);
  EXPECT_EQ(s->message(), "future");
}

TEST(CodecTest, RefusesToEncodeDeeperThanMaxDepth) {
  Tree t;
  Tree* cur = &t;
  for (int i = 0; i < 200; ++i) {
    cur->extra = std::make_unique<Tree>();
    cur = cur->extra.get();
  }
  ByteBuffer buf;
  ExpectError(Encode(t, buf), absl::StatusCode::kInvalidArgument, "max_depth 128");
  EXPECT_TRUE(buf.empty());
  // Raised on both sides, it goes through.
  ASSERT_TRUE(Encode(t, buf, EncodeOptions{.max_depth = 500}).ok());
  ExpectError(Decode<Tree>(buf).status(), absl::StatusCode::kResourceExhausted, "max_depth");
  absl::StatusOr<Tree> back = Decode<Tree>(buf, DecodeLimits{.max_depth = 500});
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back == t);
}

TEST(CodecTest, RejectsDuplicateFieldNamesWhenEncoding) {
  ByteBuffer buf;
  ExpectError(Encode(Dup{}, buf), absl::StatusCode::kInvalidArgument, "same name");
}

TEST(CodecTest, RejectsDuplicateSetElementsAndMapKeys) {
  const Term set = Term::Set({Term::Int(1), Term::Int(1)});
  ExpectError(FromTerm<std::set<int>>(set).status(), absl::StatusCode::kDataLoss,
              "duplicate set element", "offset 4");
  const Term map =
      Term::Map({{Term::String("k"), Term::Int(1)}, {Term::String("k"), Term::Int(2)}});
  ExpectError(FromTerm<absl::flat_hash_map<std::string, int>>(map).status(),
              absl::StatusCode::kDataLoss, "duplicate map key", "offset 5");
  // The dynamic decoder keeps them (STF.md §6.2).
  EXPECT_TRUE(ToTerm(0).ok());
}

TEST(CodecTest, RejectsAnArrayOfTheWrongSizeAndATupleOfTheWrongArity) {
  ByteBuffer buf;
  ASSERT_TRUE(Encode(std::vector<int>{1, 2}, buf).ok());
  ExpectError(Decode<std::array<int, 3>>(buf).status(), absl::StatusCode::kInvalidArgument,
              "exactly 3");
  buf.clear();
  ASSERT_TRUE(Encode(std::tuple<int, int>{1, 2}, buf).ok());
  ExpectError(Decode<std::tuple<int, int, int>>(buf).status(), absl::StatusCode::kInvalidArgument,
              "tuple of 3");
}

// A type wire does not own, mapped by a Codec specialisation, with a context: how dist/ plugs in
// core's 64-bit snow::Pid (node slot, shard, serial) using its node table.
struct ForeignPid {
  uint64_t bits = 0;  // slot:16 shard:16 serial:32
  friend bool operator==(const ForeignPid&, const ForeignPid&) = default;
};

class NodeTable : public CodecContext {
 public:
  std::vector<std::pair<std::string, uint32_t>> nodes;  // slot -> name, creation
};

}  // namespace

template <>
struct Codec<ForeignPid> {
  static constexpr KindMask kKinds = KindBit(Kind::kPid);
  static void Encode(Writer& w, const ForeignPid& p) {
    auto* table = dynamic_cast<NodeTable*>(w.context());
    const size_t slot = p.bits >> 48;
    if (table == nullptr || slot >= table->nodes.size()) {
      w.Fail(absl::FailedPreconditionError("pid of an unknown node"));
      return;
    }
    w.WritePid(PidView{table->nodes[slot].first, table->nodes[slot].second,
                       static_cast<uint32_t>((p.bits >> 32) & 0xFFFF), p.bits & 0xFFFFFFFF});
  }
  static bool Decode(Reader& r, ForeignPid& out) {
    PidView v;
    if (!r.ReadPid(&v)) return false;
    auto* table = dynamic_cast<NodeTable*>(r.context());
    for (size_t slot = 0; table != nullptr && slot < table->nodes.size(); ++slot) {
      if (table->nodes[slot].first == v.node && table->nodes[slot].second == v.creation) {
        out.bits = (uint64_t{slot} << 48) | (uint64_t{v.shard} << 32) | v.serial;
        return true;
      }
    }
    return r.Fail(absl::StatusCode::kNotFound, "pid of an unknown node incarnation");
  }
};

namespace {

// A codec that refuses without saying why.
struct Picky {
  int64_t v = 0;
};

}  // namespace

template <>
struct Codec<Picky> {
  static void Encode(Writer& w, const Picky& p) { w.WriteInt(p.v); }
  static bool Decode(Reader& r, Picky& p) { return r.ReadInt(&p.v) && p.v != 13; }
};

namespace {

TEST(CodecTest, ACodecThatRefusesSilentlyStillFailsTheDecode) {
  ByteBuffer buf;
  ASSERT_TRUE(Encode(std::vector<Picky>{{1}, {13}}, buf).ok());
  ExpectError(Decode<std::vector<Picky>>(buf).status(), absl::StatusCode::kInvalidArgument,
              "refused the value", "Picky", "in [1]");
}

struct Hello {
  static constexpr std::string_view kWireName = "test.Hello";
  ForeignPid from;
  std::string text;
  friend auto WireFields(Hello& h) { return Fields("from", h.from, "text", h.text); }
};

TEST(CodecTest, AForeignTypeWithACodecSpecialisationUsesTheContext) {
  NodeTable table;
  table.nodes = {{"a@h:1", 5}, {"b@h:2", 9}};
  const Hello h{ForeignPid{(uint64_t{1} << 48) | (uint64_t{3} << 32) | 77}, "hi"};
  ByteBuffer buf;
  ASSERT_TRUE(Encode(h, buf, EncodeOptions{.context = &table}).ok());
  // On the wire it is a plain pid, readable by anyone.
  absl::StatusOr<Term> t = DecodeTerm(buf.view());
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->ToString(), "test.Hello{from: <b@h:2#9.3.77>, text: \"hi\"}");
  absl::StatusOr<Hello> back = Decode<Hello>(buf, {}, &table);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->from, h.from);
  // An earlier incarnation of the node does not resolve.
  table.nodes[1].second = 10;
  ExpectError(Decode<Hello>(buf, {}, &table).status(), absl::StatusCode::kNotFound,
              "unknown node incarnation", "in .from");
  // Without the context the encoder refuses rather than guessing.
  ByteBuffer other;
  ExpectError(Encode(h, other), absl::StatusCode::kFailedPrecondition, "unknown node");
}

TEST(CodecTest, WireableIsAConceptUsableAtCompileTime) {
  static_assert(Wireable<int>);
  static_assert(Wireable<std::vector<std::map<std::string, Inner>>>);
  static_assert(Wireable<Shape>);
  static_assert(Wireable<ForeignPid>);
  static_assert(wire_internal::KindsOf<ForeignPid>() == KindBit(Kind::kPid));
  static_assert(!Wireable<int*>);
  static_assert(!Wireable<void (*)()>);
  static_assert(!Wireable<int Inner::*>);
  auto lambda = [] {};
  static_assert(!Wireable<decltype(lambda)>);
  static_assert(!Wireable<std::function<void()>>);
  static_assert(!Wireable<std::shared_ptr<int>>);
}

// The short form and the long form of one struct write the same bytes: the short form only
// spares the hook.
struct ShortNote {
  int64_t n = 0;
  std::vector<std::string> words;
  std::optional<Inner> inner;
  static constexpr Struct kWire{"test.Note", "n", "words", "inner"};
  bool operator==(const ShortNote&) const = default;
};
struct LongNote {
  static constexpr std::string_view kWireName = "test.Note";
  int64_t n = 0;
  std::vector<std::string> words;
  std::optional<Inner> inner;
  friend auto WireFields(LongNote& m) {
    return Fields("n", m.n, "words", m.words, "inner", m.inner);
  }
};
struct Thin {
  int64_t n = 0;
  static constexpr Struct kWire{"test.Note", "n"};
};
struct Empty0 {
  static constexpr Struct kWire{"test.Empty0"};
  bool operator==(const Empty0&) const = default;
};

TEST(CodecTest, ShortFormWritesWhatTheLongFormWrites) {
  ShortNote short_note{7, {"a", "b"}, Inner{"i", {1, 2}}};
  LongNote long_note{.n = 7, .words = {"a", "b"}, .inner = Inner{"i", {1, 2}}};
  ByteBuffer short_bytes, long_bytes;
  ASSERT_TRUE(Encode(short_note, short_bytes).ok());
  ASSERT_TRUE(Encode(long_note, long_bytes).ok());
  EXPECT_EQ(Hex(short_bytes.view()), Hex(long_bytes.view()));
  absl::StatusOr<ShortNote> back = Decode<ShortNote>(long_bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, short_note);
  ExpectRoundTrip(Empty0{});
}

TEST(CodecTest, ShortFormLeavesAnAbsentOptionalEmptyAndNamesAMissingField) {
  LongNote long_note{.n = 3, .words = {}, .inner = std::nullopt};
  ByteBuffer bytes;
  ASSERT_TRUE(Encode(long_note, bytes).ok());
  absl::StatusOr<ShortNote> back = Decode<ShortNote>(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->n, 3);
  EXPECT_FALSE(back->inner.has_value());
  // A struct of the same name that lacks the required field "words".
  ByteBuffer thin;
  ASSERT_TRUE(Encode(Thin{5}, thin).ok());
  absl::StatusOr<ShortNote> missing = Decode<ShortNote>(thin);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("words"), std::string_view::npos) << missing.status();
}

}  // namespace
}  // namespace snow::wire
