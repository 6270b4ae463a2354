// Framing: frames split at every possible position, many frames per chunk, oversize lengths
// rejected before buffering, empty frames, truncated streams.
#include "snow/wire/frame.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "snow/test/wire/test_util.h"
#include "snow/wire/term.h"

namespace snow::wire {
namespace {

using testing::ExpectError;
using testing::Hex;

// Feeds `stream` in the given chunk sizes (the last chunk takes the rest) and collects frames.
absl::Status FeedInChunks(FrameDecoder& d, ByteSpan stream, const std::vector<size_t>& cuts,
                          std::vector<std::string>& frames) {
  size_t pos = 0;
  auto collect = [&frames](ByteSpan f) {
    frames.emplace_back(AsChars(f));
    return absl::OkStatus();
  };
  for (size_t cut : cuts) {
    absl::Status s = d.Feed(stream.subspan(pos, cut - pos), collect);
    if (!s.ok()) return s;
    pos = cut;
  }
  return d.Feed(stream.subspan(pos), collect);
}

ByteBuffer ThreeFrames(std::vector<std::string>& payloads) {
  ByteBuffer stream;
  const std::vector<Term> terms = {Term::String("first"), Term::List({}),
                                   Term::Struct("T", {{"x", Term::Binary(std::string(40, 'b'))}})};
  for (const Term& t : terms) {
    ByteBuffer one;
    EXPECT_TRUE(EncodeTerm(t, one).ok());
    payloads.emplace_back(one.chars());
    EXPECT_TRUE(AppendFrame(one.view(), stream).ok());
  }
  EXPECT_TRUE(AppendFrame(ByteSpan(), stream).ok());  // an empty frame (heartbeat)
  payloads.emplace_back();
  return stream;
}

TEST(FrameTest, DeliversFramesSplitAtEveryPosition) {
  std::vector<std::string> payloads;
  const ByteBuffer stream = ThreeFrames(payloads);
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    FrameDecoder d;
    std::vector<std::string> frames;
    ASSERT_TRUE(FeedInChunks(d, stream.view(), {cut}, frames).ok()) << cut;
    EXPECT_EQ(frames, payloads) << cut;
    EXPECT_TRUE(d.Finish().ok());
    EXPECT_EQ(d.buffered_bytes(), 0u);
  }
}

TEST(FrameTest, DeliversFramesSplitAtEveryPairOfPositions) {
  std::vector<std::string> payloads;
  const ByteBuffer stream = ThreeFrames(payloads);
  for (size_t a = 0; a <= stream.size(); ++a) {
    for (size_t b = a; b <= stream.size(); ++b) {
      FrameDecoder d;
      std::vector<std::string> frames;
      ASSERT_TRUE(FeedInChunks(d, stream.view(), {a, b}, frames).ok());
      ASSERT_EQ(frames, payloads) << a << " " << b;
    }
  }
}

TEST(FrameTest, DeliversFramesOneByteAtATime) {
  std::vector<std::string> payloads;
  const ByteBuffer stream = ThreeFrames(payloads);
  std::vector<size_t> cuts;
  for (size_t i = 1; i < stream.size(); ++i) cuts.push_back(i);
  FrameDecoder d;
  std::vector<std::string> frames;
  ASSERT_TRUE(FeedInChunks(d, stream.view(), cuts, frames).ok());
  EXPECT_EQ(frames, payloads);
  EXPECT_EQ(d.frames_decoded(), payloads.size());
}

TEST(FrameTest, PassesFramesInsideAChunkWithoutCopying) {
  ByteBuffer stream;
  ASSERT_TRUE(EncodeFrame(std::string("zero copy"), stream).ok());
  FrameDecoder d;
  const uint8_t* seen = nullptr;
  ASSERT_TRUE(d.Feed(stream.view(), [&](ByteSpan f) {
                 seen = f.data();
                 return absl::OkStatus();
               }).ok());
  EXPECT_EQ(seen, stream.data() + kFrameHeaderBytes);
}

TEST(FrameTest, RejectsAnOversizeLengthBeforeBufferingItsPayload) {
  FrameDecoder d(/*max_frame_bytes=*/1000);
  const std::string header = testing::FromHex("00 00 03 e9");  // 1001
  int calls = 0;
  auto count = [&calls](ByteSpan) {
    ++calls;
    return absl::OkStatus();
  };
  // The header alone, even split, is enough to refuse.
  ASSERT_TRUE(d.Feed(AsBytes(header.substr(0, 2)), count).ok());
  absl::Status s = d.Feed(AsBytes(header.substr(2)), count);
  ExpectError(s, absl::StatusCode::kResourceExhausted,
              "length 1001 at stream offset 0 exceeds max_frame_bytes 1000");
  EXPECT_EQ(d.buffered_bytes(), 0u);
  // The decoder stays failed.
  ExpectError(d.Feed(AsBytes(std::string("more")), count), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(calls, 0);
}

TEST(FrameTest, RejectsAForgedFourGigabyteLengthAfterGoodFrames) {
  ByteBuffer stream;
  ASSERT_TRUE(EncodeFrame(Unit{}, stream).ok());
  stream.Append(testing::FromHex("ff ff ff ff 01 02 03"));
  FrameDecoder d;
  int calls = 0;
  absl::Status s = d.Feed(stream.view(), [&calls](ByteSpan) {
    ++calls;
    return absl::OkStatus();
  });
  ExpectError(s, absl::StatusCode::kResourceExhausted, "length 4294967295 at stream offset 6");
  EXPECT_EQ(calls, 1);
}

TEST(FrameTest, GrowsItsBufferOnlyAsBytesArrive) {
  FrameDecoder d(/*max_frame_bytes=*/16 << 20);
  ASSERT_TRUE(d.Feed(AsBytes(testing::FromHex("00 ff ff ff 61")), [](ByteSpan) {
                 return absl::OkStatus();
               }).ok());
  EXPECT_EQ(d.buffered_bytes(), 5u);
  ExpectError(d.Finish(), absl::StatusCode::kDataLoss, "stream ended inside a frame");
}

TEST(FrameTest, RefusesToEncodeAnOversizeFrame) {
  ByteBuffer out;
  out.Append(std::string_view("x"));
  ExpectError(EncodeFrame(std::string(100, 'a'), out, /*max_frame_bytes=*/50),
              absl::StatusCode::kResourceExhausted, "exceeds max_frame_bytes 50");
  EXPECT_EQ(out.chars(), "x");
  ExpectError(AppendFrame(AsBytes(std::string(51, 'a')), out, 50),
              absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(out.chars(), "x");
  ASSERT_TRUE(AppendFrame(AsBytes(std::string(50, 'a')), out, 50).ok());
  EXPECT_EQ(Hex(out.view().subspan(0, 5)), "78 00 00 00 32");
}

TEST(FrameTest, StopsAtTheFirstCallbackErrorAndStaysFailed) {
  ByteBuffer stream;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(EncodeFrame(int64_t{i}, stream).ok());
  FrameDecoder d;
  std::vector<int64_t> seen;
  absl::Status s = d.Feed(stream.view(), [&seen](ByteSpan f) {
    absl::StatusOr<int64_t> v = Decode<int64_t>(f);
    if (!v.ok()) return v.status();
    seen.push_back(*v);
    return *v == 1 ? absl::DataLossError("peer sent 1") : absl::OkStatus();
  });
  ExpectError(s, absl::StatusCode::kDataLoss, "peer sent 1");
  EXPECT_EQ(seen, (std::vector<int64_t>{0, 1}));
  ExpectError(d.Finish(), absl::StatusCode::kDataLoss, "peer sent 1");
}

}  // namespace
}  // namespace snow::wire
