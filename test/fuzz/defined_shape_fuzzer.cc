// Fuzzes a shape agreed outside the term (wire::DefinedShape) and the terms read with it, as dist/
// reads a peer's DEFINE_SHAPE and SEND_SHAPED frames. Input: a little-endian u16 length n, n bytes
// of header, then a term. The header is refused with kDataLoss or accepted; a term read with an
// accepted shape gives a Message or a status with a known code, and reading it again (now that
// the shape may remember the C++ type its names matched) gives the same; an accepted Message
// re-encodes and reads back alike.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "snow/test/fuzz/fuzz_message.h"

using namespace snow::wire;        // NOLINT
using namespace snow::wire::fuzz;  // NOLINT

namespace {

absl::Status ReadWithShape(ByteSpan term, DefinedShape* shape, Message& out) {
  Reader r(term);
  r.UseDefinedShape(shape);
  if (r.ReadVersion() && DecodeValue(r, out)) r.ExpectEnd();
  return r.status();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t n = std::min<size_t>(size - 2, data[0] | size_t{data[1]} << 8);
  const ByteSpan header(data + 2, n);
  const ByteSpan term(data + 2 + n, size - 2 - n);
  absl::StatusOr<std::unique_ptr<DefinedShape>> shape = DefinedShape::Parse(header);
  if (!shape.ok()) {
    FUZZ_CHECK(shape.status().code() == absl::StatusCode::kDataLoss);
    return 0;
  }
  FUZZ_CHECK(*shape != nullptr);
  Message first;
  const absl::Status s = ReadWithShape(term, shape->get(), first);
  if (!s.ok()) {
    const auto code = s.code();
    FUZZ_CHECK(code == absl::StatusCode::kDataLoss || code == absl::StatusCode::kInvalidArgument ||
               code == absl::StatusCode::kResourceExhausted);
  }
  Message second;
  const absl::Status again = ReadWithShape(term, shape->get(), second);
  FUZZ_CHECK(again == s);
  if (!s.ok()) return 0;
  const std::string bytes = Bytes(first);
  FUZZ_CHECK(Bytes(second) == bytes);
  Message back;
  FUZZ_CHECK(DecodeInto(std::string_view(bytes), back).ok());
  FUZZ_CHECK(Bytes(back) == bytes);
  return 0;
}
