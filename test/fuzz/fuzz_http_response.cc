// Fuzzes net/'s HTTP answer parser (http-parser underneath, with the client's limits, HEAD
// answers, interim 1xx answers, 101 and bodies that run to the end of the stream): the first
// byte says which answers are to HEAD requests, the second chooses a chunking; parsing the rest
// in those chunks must give exactly the answers (status, headers, body, keep-alive) and the end
// (an error, an upgrade at the same byte, or the end of the stream) of parsing it in one piece,
// and every answer must keep the invariants http_answers.h lists. The limits are small, so that
// inputs reach them.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "snow/test/fuzz/cuts.h"
#include "snow/test/fuzz/http_answers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const snow::net_internal::HttpResponseLimits limits{
      .max_header_bytes = 2048, .max_headers = 16, .max_body_bytes = 4096};
  const uint8_t head_mask = data[0];
  const uint8_t step = data[1];
  const std::string_view stream(reinterpret_cast<const char*>(data + 2), size - 2);
  const std::vector<size_t> cuts = snow::fuzzing::Cuts(step, stream.size());
  const snow::fuzzing::HttpAnswers whole = snow::fuzzing::RunAnswers(stream, limits, {}, head_mask);
  const snow::fuzzing::HttpAnswers pieces =
      snow::fuzzing::RunAnswers(stream, limits, cuts, head_mask);
  snow::fuzzing::Check(whole == pieces);
  return 0;
}
