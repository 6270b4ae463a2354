// Round trip through canonicalisation: decode as a Term, re-encode, and check that the canonical
// bytes mean the same thing to every decoder — same Term, and the typed decoder accepts the
// canonical form exactly when it accepted the original (and decodes it to the same message).
#include <cstddef>
#include <cstdint>

#include "snow/test/fuzz/fuzz_message.h"

using namespace snow::wire;        // NOLINT
using namespace snow::wire::fuzz;  // NOLINT

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ByteSpan input(data, size);
  absl::StatusOr<Term> term = DecodeTerm(input);
  if (!term.ok()) return 0;
  ByteBuffer canonical;
  FUZZ_CHECK(EncodeTerm(*term, canonical).ok());
  absl::StatusOr<Term> typed_term = Decode<Term>(canonical);
  FUZZ_CHECK(typed_term.ok());
  FUZZ_CHECK(*typed_term == *term);

  Message original, recanonical;
  const absl::Status a = DecodeInto(input, original);
  const absl::Status b = DecodeInto(canonical.view(), recanonical);
  FUZZ_CHECK(a.ok() == b.ok());
  if (a.ok()) {
    FUZZ_CHECK(Bytes(original) == Bytes(recanonical));
  } else {
    FUZZ_CHECK(a.code() == b.code());
  }
  return 0;
}
