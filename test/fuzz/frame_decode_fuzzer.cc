// Fuzzes the incremental frame decoder: the first bytes choose a maximum frame size and a chunking;
// feeding the rest in those chunks must give exactly the frames (and the status) of feeding it in
// one piece. Each frame is then handed to the term decoder, as dist/ will.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "snow/test/fuzz/cuts.h"
#include "snow/test/fuzz/fuzz_message.h"

using namespace snow::wire;  // NOLINT

namespace {

struct Outcome {
  std::vector<std::string> frames;
  absl::Status status;
  absl::Status finish;
};

Outcome Run(ByteSpan stream, uint32_t max_frame, const std::vector<size_t>& cuts) {
  Outcome out;
  FrameDecoder d(max_frame);
  auto collect = [&out](ByteSpan f) {
    out.frames.emplace_back(AsChars(f));
    (void)DecodeTerm(f);
    return out.frames.size() < 1000 ? absl::OkStatus() : absl::ResourceExhaustedError("enough");
  };
  size_t pos = 0;
  for (size_t cut : cuts) {
    if (!out.status.ok()) break;
    out.status = d.Feed(stream.subspan(pos, cut - pos), collect);
    pos = cut;
  }
  if (out.status.ok()) out.status = d.Feed(stream.subspan(pos), collect);
  out.finish = d.Finish();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint32_t max_frame = data[0] < 128 ? data[0] : (uint32_t{data[0]} << 8);
  const uint8_t step = data[1];
  const ByteSpan stream(data + 2, size - 2);
  const std::vector<size_t> cuts = snow::fuzzing::Cuts(step, stream.size());
  const Outcome whole = Run(stream, max_frame, {});
  const Outcome chunked = Run(stream, max_frame, cuts);
  FUZZ_CHECK(whole.frames == chunked.frames);
  FUZZ_CHECK(whole.status == chunked.status);
  FUZZ_CHECK(whole.finish.ok() == chunked.finish.ok());
  for (const std::string& f : whole.frames) FUZZ_CHECK(f.size() <= max_frame);
  return 0;
}
