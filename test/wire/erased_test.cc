// The type-erased path: what cannot cross the wire is a clear run-time status there, because a
// type-erased holder cannot be checked at compile time.
#include "snow/wire/erased.h"

#include <functional>
#include <string>

#include "gtest/gtest.h"
#include "snow/test/wire/test_util.h"
#include "snow/wire/term.h"

namespace snow::wire {
namespace {

using testing::ExpectError;

struct Ping {
  static constexpr std::string_view kWireName = "demo.Ping";
  int64_t n = 0;
  friend auto WireFields(Ping& p) { return Fields("n", p.n); }
};

int Twice(int x) { return 2 * x; }

TEST(ErasedTest, EncodesAndDecodesAWireableType) {
  constexpr ErasedCodec kCodec = ErasedCodecFor<Ping>();
  static_assert(kCodec.wireable());
  const Ping p{41};
  ByteBuffer buf;
  ASSERT_TRUE(EncodeErased(kCodec, &p, buf).ok());
  Ping back;
  ASSERT_TRUE(DecodeErased(kCodec, buf, &back).ok());
  EXPECT_EQ(back.n, 41);
  EXPECT_EQ(DecodeTerm(buf.view())->ToString(), "demo.Ping{n: 41}");
}

TEST(ErasedTest, RejectsClosuresAtRunTimeWithTheTypeName) {
  int captured = 3;
  auto closure = [captured](int x) { return x + captured; };
  constexpr ErasedCodec kCodec = ErasedCodecFor<decltype(closure)>();
  static_assert(!kCodec.wireable());
  ByteBuffer buf;
  buf.Append(std::string_view("keep"));
  ExpectError(EncodeErased(kCodec, &closure, buf), absl::StatusCode::kInvalidArgument,
              "cannot cross the wire", "lambda");
  EXPECT_EQ(buf.chars(), "keep");
}

TEST(ErasedTest, RejectsFunctionObjectsFunctionPointersAndRawPointers) {
  const std::function<int(int)> fn = Twice;
  int (*fp)(int) = &Twice;
  int x = 0;
  int* raw = &x;
  ByteBuffer buf;
  ExpectError(EncodeErased(ErasedCodecFor<std::function<int(int)>>(), &fn, buf),
              absl::StatusCode::kInvalidArgument, "std::function");
  ExpectError(EncodeErased(ErasedCodecFor<int (*)(int)>(), &fp, buf),
              absl::StatusCode::kInvalidArgument, "int (*)(int)");
  // g++ spells it "int*", clang "int *".
  ExpectError(EncodeErased(ErasedCodecFor<int*>(), &raw, buf), absl::StatusCode::kInvalidArgument,
              "type 'int", "cannot cross the wire");
  int out = 0;
  ExpectError(DecodeErased(ErasedCodecFor<int*>(), AsBytes(std::string("\x01\xa0", 2)), &out),
              absl::StatusCode::kInvalidArgument, "cannot cross the wire");
  EXPECT_TRUE(buf.empty());
}

}  // namespace
}  // namespace snow::wire
