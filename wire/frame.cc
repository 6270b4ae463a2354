#include "snow/wire/frame.h"

#include <algorithm>

#include "absl/strings/str_format.h"

namespace snow::wire {
namespace {

// A buffer that once held a huge frame gives the memory back rather than keeping it per
// connection forever.
constexpr size_t kKeepCapacity = 1 << 20;

}  // namespace

absl::Status EndFrame(ByteBuffer& out, size_t start, uint32_t max_frame_bytes,
                      size_t trailing_bytes) {
  const size_t payload = out.size() - start - kFrameHeaderBytes + trailing_bytes;
  if (payload > max_frame_bytes) {
    out.Truncate(start);
    return absl::ResourceExhaustedError(absl::StrFormat(
        "stf frame: payload of %d bytes exceeds max_frame_bytes %d", payload, max_frame_bytes));
  }
  uint8_t* p = out.data() + start;
  p[0] = static_cast<uint8_t>(payload >> 24);
  p[1] = static_cast<uint8_t>(payload >> 16);
  p[2] = static_cast<uint8_t>(payload >> 8);
  p[3] = static_cast<uint8_t>(payload);
  return absl::OkStatus();
}

uint32_t FrameLength(std::span<const uint8_t, kFrameHeaderBytes> header) {
  return (uint32_t{header[0]} << 24) | (uint32_t{header[1]} << 16) | (uint32_t{header[2]} << 8) |
         uint32_t{header[3]};
}

uint32_t FrameLength(std::span<const char, kFrameHeaderBytes> header) {
  return FrameLength(std::span<const uint8_t, kFrameHeaderBytes>(
      reinterpret_cast<const uint8_t*>(header.data()), kFrameHeaderBytes));
}

absl::Status AppendFrame(ByteSpan payload, ByteBuffer& out, uint32_t max_frame_bytes) {
  const size_t start = BeginFrame(out);
  out.Append(payload);
  return EndFrame(out, start, max_frame_bytes);
}

absl::Status FrameDecoder::Deliver(ByteSpan frame,
                                   absl::FunctionRef<absl::Status(ByteSpan)>& on_frame) {
  in_payload_ = false;
  ++frames_;
  absl::Status s = on_frame(frame);
  if (!s.ok()) error_ = s;
  return s;
}

absl::Status FrameDecoder::Feed(ByteSpan chunk,
                                absl::FunctionRef<absl::Status(ByteSpan frame)> on_frame) {
  if (!error_.ok()) return error_;
  while (!chunk.empty()) {
    if (!in_payload_) {
      const size_t header_at = stream_offset_ - buffer_.size();
      uint32_t length;
      if (buffer_.empty() && chunk.size() >= kFrameHeaderBytes) {
        length = FrameLength(
            std::span<const uint8_t, kFrameHeaderBytes>(chunk.data(), kFrameHeaderBytes));
        chunk.remove_prefix(kFrameHeaderBytes);
        stream_offset_ += kFrameHeaderBytes;
      } else {
        const size_t take = std::min(kFrameHeaderBytes - buffer_.size(), chunk.size());
        buffer_.Append(chunk.subspan(0, take));
        chunk.remove_prefix(take);
        stream_offset_ += take;
        if (buffer_.size() < kFrameHeaderBytes) return absl::OkStatus();
        length = FrameLength(
            std::span<const uint8_t, kFrameHeaderBytes>(buffer_.data(), kFrameHeaderBytes));
        buffer_.clear();
      }
      if (length > max_frame_bytes_) {
        error_ = absl::ResourceExhaustedError(
            absl::StrFormat("stf frame: length %d at stream offset %d exceeds max_frame_bytes %d",
                            length, header_at, max_frame_bytes_));
        return error_;
      }
      in_payload_ = true;
      payload_size_ = length;
    }
    if (buffer_.empty() && chunk.size() >= payload_size_) {
      // The whole payload is in this chunk: hand it out in place.
      const ByteSpan frame = chunk.subspan(0, payload_size_);
      chunk.remove_prefix(payload_size_);
      stream_offset_ += payload_size_;
      absl::Status s = Deliver(frame, on_frame);
      if (!s.ok()) return s;
      continue;
    }
    const size_t take = std::min<size_t>(payload_size_ - buffer_.size(), chunk.size());
    buffer_.Append(chunk.subspan(0, take));
    chunk.remove_prefix(take);
    stream_offset_ += take;
    if (buffer_.size() == payload_size_) {
      absl::Status s = Deliver(buffer_.view(), on_frame);
      buffer_.clear();
      if (buffer_.capacity() > kKeepCapacity) buffer_ = ByteBuffer();
      if (!s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

absl::Status FrameDecoder::Finish() const {
  if (!error_.ok()) return error_;
  if (in_payload_ || !buffer_.empty()) {
    return absl::DataLossError(absl::StrFormat(
        "stf frame: stream ended inside a frame (%d bytes of it buffered) at stream offset %d",
        buffered_bytes(), stream_offset_));
  }
  return absl::OkStatus();
}

}  // namespace snow::wire
