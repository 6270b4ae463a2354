// Fuzzes the dynamic decoder: any input gives a Term or a status with a known code; the skip path
// agrees on acceptance; anything accepted re-encodes, decodes equal, and re-encodes to the same
// bytes; and printing it does not crash.
#include <cstddef>
#include <cstdint>

#include "snow/test/fuzz/fuzz_message.h"

using namespace snow::wire;  // NOLINT

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ByteSpan input(data, size);
  absl::StatusOr<Term> term = DecodeTerm(input);

  Reader r(input);
  if (r.ReadVersion() && r.Skip()) r.ExpectEnd();
  FUZZ_CHECK(term.ok() == r.ok());
  if (!term.ok()) {
    const auto code = term.status().code();
    FUZZ_CHECK(code == absl::StatusCode::kDataLoss || code == absl::StatusCode::kResourceExhausted);
    FUZZ_CHECK(code == r.status().code());
    FUZZ_CHECK(term.status().message().find("at offset ") != absl::string_view::npos);
    return 0;
  }
  (void)term->ToString();
  ByteBuffer once;
  FUZZ_CHECK(EncodeTerm(*term, once).ok());
  absl::StatusOr<Term> again = DecodeTerm(once.view());
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == *term);
  ByteBuffer twice;
  FUZZ_CHECK(EncodeTerm(*again, twice).ok());
  FUZZ_CHECK(once.chars() == twice.chars());
  return 0;
}
