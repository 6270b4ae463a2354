// Term: construction, access, equality, text form, encode/decode round trips and the encoder's
// refusals on the dynamic path.
#include "snow/wire/term.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "snow/test/wire/test_util.h"

namespace snow::wire {
namespace {

using testing::ExpectError;
using testing::Hex;

Term RoundTrip(const Term& t) {
  ByteBuffer buf;
  absl::Status s = EncodeTerm(t, buf);
  EXPECT_TRUE(s.ok()) << s;
  absl::StatusOr<Term> back = DecodeTerm(buf.view());
  EXPECT_TRUE(back.ok()) << back.status();
  return back.ok() ? *back : Term();
}

Term Sample() {
  return Term::Struct(
      "demo.Everything",
      {{"unit", Term::Unit()},
       {"bool", Term::Bool(false)},
       {"int", Term::Int(std::numeric_limits<int64_t>::min())},
       {"uint", Term::Uint(std::numeric_limits<uint64_t>::max())},
       {"float", Term::Float(-0.0)},
       {"nan", Term::Float(std::nan(""))},
       {"string", Term::String("h\xC3\xA9llo\n\"")},
       {"binary", Term::Binary(std::string("\x00\xff", 2))},
       {"atom", Term::Atom("ok")},
       {"odd atom", Term::Atom("Hello World")},
       {"node", Term::Node("a@h:1")},
       {"list", Term::List({Term::Int(1), Term::String("x"), Term::List({})})},
       {"ints", Term::List({Term::Int(1), Term::Int(-2)})},
       {"uints", Term::List({Term::Uint(1)})},
       {"floats", Term::List({Term::Float(0.5)})},
       {"tuple", Term::Tuple({})},
       {"set", Term::Set({Term::Atom("a"), Term::Atom("b")})},
       {"map", Term::Map({{Term::Int(1), Term::Map({})}, {Term::Atom("k"), Term::None()}})},
       {"variant", Term::Variant("Shape", "Circle", {{"r", Term::Float(2)}})},
       {"same shape", Term::Variant("Shape", "Circle", {{"r", Term::Float(3)}})},
       {"some", Term::Some(Term::Some(Term::Unit()))},
       {"ok", Term::Ok(Term::Unit())},
       {"error", Term::Error(absl::NotFoundError("gone"))},
       {"odd error", Term::Error(77, "")},
       {"pid", Term::Pid(Pid{"a@h:1", 3, 1, 99})},
       {"ref", Term::Reference(Reference{"a@h:1", 3, {1, 2, 3}})},
       {"empty struct", Term::Struct("E", {})}});
}

TEST(TermTest, RoundTripsEveryKind) {
  const Term t = Sample();
  EXPECT_EQ(RoundTrip(t), t);
}

TEST(TermTest, RoundTripsNestedEmptyContainers) {
  const Term t =
      Term::List({Term::List({}), Term::Tuple({Term::Set({})}), Term::Map({}), Term::Struct("", {}),
                  Term::Some(Term::List({Term::List({})})), Term::String(""), Term::Binary("")});
  EXPECT_EQ(RoundTrip(t), t);
}

TEST(TermTest, KindsAndAccessors) {
  const Term t = Sample();
  EXPECT_EQ(t.kind(), Kind::kStruct);
  EXPECT_EQ(t.type_name(), "demo.Everything");
  EXPECT_EQ(t.FindField("int")->int_value(), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(t.FindField("uint")->uint_value(), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(t.FindField("binary")->string_value(), std::string("\x00\xff", 2));
  EXPECT_EQ(t.FindField("list")->items().size(), 3u);
  EXPECT_EQ(t.FindField("map")->entries()[1].first.string_value(), "k");
  EXPECT_EQ(t.FindField("variant")->alternative(), "Circle");
  EXPECT_TRUE(t.FindField("some")->has_value());
  EXPECT_FALSE(t.FindField("error")->is_ok());
  EXPECT_EQ(t.FindField("error")->error_code(), 5u);
  EXPECT_EQ(t.FindField("pid")->pid().serial, 99u);
  EXPECT_EQ(t.FindField("ref")->reference().words.size(), 3u);
  EXPECT_EQ(t.FindField("nope"), nullptr);
  EXPECT_EQ(KindName(Kind::kReference), "reference");
}

TEST(TermTest, WrongKindAccessIsAProgrammingErrorThatAborts) {
  EXPECT_DEATH((void)Term::Int(1).string_value(),
               "string_value\\(\\) called on a term of kind int");
}

TEST(TermTest, ComparesFloatsBitwiseAndKindsStrictly) {
  EXPECT_EQ(Term::Float(std::nan("")), Term::Float(std::nan("")));
  EXPECT_NE(Term::Float(0.0), Term::Float(-0.0));
  EXPECT_NE(Term::Int(1), Term::Uint(1));
  EXPECT_NE(Term::String("a"), Term::Atom("a"));
  EXPECT_NE(Term::List({}), Term::Tuple({}));
  EXPECT_NE(Term::None(), Term::Some(Term::Unit()));
  EXPECT_NE(Term::Ok(Term::Unit()), Term::Error(2, ""));
  EXPECT_NE(Term::Struct("A", {}), Term::Variant("A", "", {}));
}

TEST(TermTest, PrintsAsText) {
  EXPECT_EQ(
      Term::Struct("demo.Ping", {{"n", Term::Int(42)}, {"tags", Term::List({Term::Atom("a")})}})
          .ToString(),
      "demo.Ping{n: 42, tags: [a]}");
  EXPECT_EQ(Term::Unit().ToString(), "()");
  EXPECT_EQ(Term::Uint(7).ToString(), "7u");
  EXPECT_EQ(Term::Float(1).ToString(), "1.0");
  EXPECT_EQ(Term::Float(0.1).ToString(), "0.1");
  EXPECT_EQ(Term::Float(-std::numeric_limits<double>::infinity()).ToString(), "-inf");
  EXPECT_EQ(Term::Float(2.5e-7).ToString(), "2.5e-07");
  EXPECT_EQ(Term::String("a\"b\\\n\x01").ToString(), "\"a\\\"b\\\\\\n\\x01\"");
  EXPECT_EQ(Term::Binary(std::string("\x00\xff", 2)).ToString(), "<<00 ff>>");
  EXPECT_EQ(Term::Binary(std::string(40, 'a')).ToString().substr(0, 8), "<<61 61 ");
  EXPECT_NE(Term::Binary(std::string(40, 'a')).ToString().find("...(40 bytes)"), std::string::npos);
  EXPECT_EQ(Term::Atom("Hello World").ToString(), "'Hello World'");
  EXPECT_EQ(Term::Atom("true").ToString(), "'true'");
  EXPECT_EQ(Term::Tuple({Term::Int(1), Term::Bool(true)}).ToString(), "{1, true}");
  EXPECT_EQ(Term::Set({Term::Int(1)}).ToString(), "#set{1}");
  EXPECT_EQ(Term::Map({{Term::String("k"), Term::None()}}).ToString(), "#{\"k\" => none}");
  EXPECT_EQ(Term::Variant("Shape", "Circle", {{"r", Term::Float(2)}}).ToString(),
            "Shape::Circle{r: 2.0}");
  EXPECT_EQ(Term::Some(Term::Ok(Term::Unit())).ToString(), "some(ok(()))");
  EXPECT_EQ(Term::Error(absl::NotFoundError("gone")).ToString(), "error(NOT_FOUND, \"gone\")");
  EXPECT_EQ(Term::Error(77, "x").ToString(), "error(77, \"x\")");
  EXPECT_EQ(Term::Pid(Pid{"b@h:1", 2, 3, 4}).ToString(), "<b@h:1#2.3.4>");
  EXPECT_EQ(Term::Reference(Reference{"b@h:1", 2, {5, 6}}).ToString(), "#Ref<b@h:1#2.5.6>");
  EXPECT_EQ(Term::Node("b@h:1").ToString(), "#Node<b@h:1>");
}

TEST(TermTest, EncoderRefusesWhatTheFormatCannotCarry) {
  ByteBuffer buf;
  ExpectError(EncodeTerm(Term::String("\xED\xA0\x80"), buf), absl::StatusCode::kInvalidArgument,
              "UTF-8");
  ExpectError(EncodeTerm(Term::Atom(std::string(256, 'x')), buf),
              absl::StatusCode::kInvalidArgument, "255");
  ExpectError(EncodeTerm(Term::Node("\xFF"), buf), absl::StatusCode::kInvalidArgument, "UTF-8");
  ExpectError(EncodeTerm(Term::Struct("S", {{"a", Term::Unit()}, {"a", Term::Unit()}}), buf),
              absl::StatusCode::kInvalidArgument, "same name");
  ExpectError(EncodeTerm(Term::Error(0, "ok?"), buf), absl::StatusCode::kInvalidArgument,
              "code OK");
  ExpectError(EncodeTerm(Term::Reference(Reference{"n", 1, {1, 2, 3, 4, 5}}), buf),
              absl::StatusCode::kInvalidArgument, "0..4 id words, not 5");
  Term deep = Term::Unit();
  for (int i = 0; i < 129; ++i) deep = Term::List({std::move(deep)});
  ExpectError(EncodeTerm(deep, buf), absl::StatusCode::kInvalidArgument, "max_depth 128");
  EXPECT_TRUE(buf.empty());
}

TEST(TermTest, DepthLimitIsExactOnBothSides) {
  // 128 nested lists is the deepest term the default limits accept.
  Term deep = Term::Int(1);
  for (int i = 0; i < 128; ++i) deep = Term::List({std::move(deep)});
  ByteBuffer buf;
  ASSERT_TRUE(EncodeTerm(deep, buf).ok());
  ASSERT_TRUE(DecodeTerm(buf.view()).ok());
  ExpectError(DecodeTerm(buf.view(), DecodeLimits{.max_depth = 127}).status(),
              absl::StatusCode::kResourceExhausted, "max_depth 127", "offset 128");
}

struct Envelope {
  static constexpr std::string_view kWireName = "demo.Envelope";
  std::string to;
  Term payload;
  friend auto WireFields(Envelope& e) { return Fields("to", e.to, "payload", e.payload); }
};

TEST(TermTest, ATermFieldCarriesAnyValueOnTheTypedPath) {
  const Envelope e{"router", Sample()};
  ByteBuffer buf;
  ASSERT_TRUE(Encode(e, buf).ok());
  absl::StatusOr<Envelope> back = Decode<Envelope>(buf);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->payload, e.payload);
}

TEST(TermTest, DynamicListsOfNumbersArePackedLikeTypedVectors) {
  ByteBuffer buf;
  ASSERT_TRUE(EncodeTerm(Term::List({Term::Int(1), Term::Int(2)}), buf).ok());
  EXPECT_EQ(Hex(buf.view()), "01 17 02 02 04");
  buf.clear();
  // Mixed kinds cannot be packed.
  ASSERT_TRUE(EncodeTerm(Term::List({Term::Int(1), Term::Uint(2)}), buf).ok());
  EXPECT_EQ(Hex(buf.view()), "01 42 a1 04 02");
}

}  // namespace
}  // namespace snow::wire
