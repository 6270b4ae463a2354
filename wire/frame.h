// wire/frame.h — length-prefixed frames (STF.md §9): a 4-byte big-endian payload length, then the
// payload, with a maximum size; and FrameDecoder, which takes bytes in whatever chunks the socket
// delivers and hands out complete frames.
//
// A frame's payload is usually one encoded term; an empty frame (length 0) is valid and is what
// dist/ uses as a heartbeat tick. The decoder checks each announced length against the maximum
// as soon as the 4 header bytes are in, before buffering any of the payload, and grows its buffer
// only as bytes actually arrive — a peer announcing 16 MiB and sending 1 byte costs ~1 byte.
//
//   snow::wire::ByteBuffer out;
//   absl::Status s = snow::wire::EncodeFrame(ping, out);        // header + version + term
//
//   snow::wire::FrameDecoder frames(/*max_frame_bytes=*/1 << 20);
//   absl::Status s = frames.Feed(chunk, [&](snow::wire::ByteSpan frame) {
//     absl::StatusOr<Ping> p = snow::wire::Decode<Ping>(frame);  // frame valid during the call
//     return p.status();
//   });
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "snow/wire/byte_buffer.h"
#include "snow/wire/codec.h"
#include "snow/wire/limits.h"

namespace snow::wire {

inline constexpr size_t kFrameHeaderBytes = 4;

// Frames built in place, for a payload written piece by piece (a kind byte, fields, a term):
//
//   size_t start = wire::BeginFrame(out);
//   out.push_back(kind); ...                                  // the payload
//   absl::Status s = wire::EndFrame(out, start, max_frame_bytes);
//
// Starts a frame at the end of `out` by reserving its header; returns where the frame starts.
inline size_t BeginFrame(ByteBuffer& out) {
  const size_t start = out.size();
  out.AppendUninitialized(kFrameHeaderBytes);
  return start;
}
// Ends the frame begun at `start`: its length is what was appended since, plus `trailing_bytes`
// that the caller sends right after `out` from a buffer of its own (a large payload is not
// copied into the frame). kResourceExhausted if that exceeds max_frame_bytes; the frame is then
// taken off `out`.
absl::Status EndFrame(ByteBuffer& out, size_t start, uint32_t max_frame_bytes,
                      size_t trailing_bytes = 0);
// The payload length a frame header announces.
uint32_t FrameLength(std::span<const uint8_t, kFrameHeaderBytes> header);
uint32_t FrameLength(std::span<const char, kFrameHeaderBytes> header);

// Appends header + payload. kResourceExhausted if the payload exceeds max_frame_bytes (nothing
// is appended then).
absl::Status AppendFrame(ByteSpan payload, ByteBuffer& out,
                         uint32_t max_frame_bytes = kDefaultMaxFrameBytes);

// Encodes `value` (version byte + term) as one frame, in place: no intermediate buffer. Errors
// are Encode's, or kResourceExhausted if the frame would exceed max_frame_bytes; on error `out`
// is left as it was.
template <class T>
absl::Status EncodeFrame(const T& value, ByteBuffer& out,
                         uint32_t max_frame_bytes = kDefaultMaxFrameBytes,
                         const EncodeOptions& options = {}) {
  const size_t start = BeginFrame(out);
  absl::Status s = Encode(value, out, options);
  if (!s.ok()) {
    out.Truncate(start);
    return s;
  }
  return EndFrame(out, start, max_frame_bytes);
}

class FrameDecoder {
 public:
  explicit FrameDecoder(uint32_t max_frame_bytes = kDefaultMaxFrameBytes)
      : max_frame_bytes_(max_frame_bytes) {}

  // Consumes all of `chunk`, calling on_frame once per completed frame, in order. A frame that
  // lies wholly inside `chunk` is passed without copying; either way the span is valid only during
  // the call. Returns kResourceExhausted for an announced length over the maximum, or the first
  // error on_frame returns; after an error the decoder stays failed and returns it again.
  absl::Status Feed(ByteSpan chunk, absl::FunctionRef<absl::Status(ByteSpan frame)> on_frame);

  // At end of stream: OK if no partial frame is pending, else kDataLoss (truncated frame).
  absl::Status Finish() const;

  // Bytes of an incomplete frame (header included) held so far.
  size_t buffered_bytes() const { return buffer_.size() + (in_payload_ ? kFrameHeaderBytes : 0); }
  uint64_t frames_decoded() const { return frames_; }

 private:
  absl::Status Deliver(ByteSpan frame, absl::FunctionRef<absl::Status(ByteSpan)>& on_frame);

  uint32_t max_frame_bytes_;
  ByteBuffer buffer_;  // a partial header, or the partial payload of the current frame
  bool in_payload_ = false;
  uint32_t payload_size_ = 0;
  uint64_t stream_offset_ = 0;  // bytes consumed so far, for error messages
  uint64_t frames_ = 0;
  absl::Status error_;
};

}  // namespace snow::wire
