// Fuzzes the typed decoder on a representative message: any input gives a Message or a status
// with a known code; an accepted message re-encodes, decodes to the same bytes, and is accepted
// by the dynamic decoder too (typed and dynamic agree).
#include <cstddef>
#include <cstdint>

#include "snow/test/fuzz/fuzz_message.h"

using namespace snow::wire;        // NOLINT
using namespace snow::wire::fuzz;  // NOLINT

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ByteSpan input(data, size);
  Message m;
  const absl::Status s = DecodeInto(input, m);
  if (!s.ok()) {
    const auto code = s.code();
    FUZZ_CHECK(code == absl::StatusCode::kDataLoss || code == absl::StatusCode::kInvalidArgument ||
               code == absl::StatusCode::kResourceExhausted);
    FUZZ_CHECK(s.message().find("at offset ") != absl::string_view::npos);
    // Malformed for the typed decoder means malformed for the dynamic one — except duplicate set
    // elements and map keys, which only a keyed container can see (STF.md §6.2).
    const bool keyed_duplicate =
        s.message().find("duplicate set element") != absl::string_view::npos ||
        s.message().find("duplicate map key") != absl::string_view::npos;
    if (code == absl::StatusCode::kDataLoss && !keyed_duplicate)
      FUZZ_CHECK(!DecodeTerm(input).ok());
    return 0;
  }
  FUZZ_CHECK(DecodeTerm(input).ok());
  const std::string bytes = Bytes(m);
  Message back;
  FUZZ_CHECK(DecodeInto(std::string_view(bytes), back).ok());
  FUZZ_CHECK(Bytes(back) == bytes);
  absl::StatusOr<Term> t = DecodeTerm(bytes);
  FUZZ_CHECK(t.ok());
  ByteBuffer dynamic;
  FUZZ_CHECK(EncodeTerm(*t, dynamic).ok());
  Message via_term;
  FUZZ_CHECK(DecodeInto(dynamic.view(), via_term).ok());
  FUZZ_CHECK(Bytes(via_term) == bytes);
  return 0;
}
