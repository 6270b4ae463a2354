// File: net/internal/websocket_frames.h
//
// WebSocket frames (RFC 6455 §5): AppendWsFrame writes one; WsReader reads a connection's
// bytes, as they arrive in pieces, into whole messages and control frames, and enforces what
// the RFC requires of the peer, answering a violation with the close code to send:
//   1002 (protocol error): reserved bits without an extension that defines them, reserved
//        opcodes, a fragmented or over-long (> 125 bytes) control frame, a continuation with no
//        message begun or a new message inside a fragmented one, a length not in its minimal
//        encoding or with the top bit set, a client frame not masked (server side) or a server
//        frame masked (client side), a close frame of one byte or with a code that may not be
//        sent;
//   1007 (invalid data): text that is not UTF-8, checked as it arrives (a character may be cut
//        between frames), and a close reason that is not;
//   1009 (too big): a message larger than max_message_bytes, refused from the frame's header
//        before its payload is read.
//
//   WsReader reader({.expect_masked = true, .max_message_bytes = 1 << 20});
//   size_t used;
//   switch (reader.Read(bytes, &used)) {  // bytes.substr(used) is for the next call
//     case WsReader::Event::kMessage: ... reader.text(), reader.payload() ...
//     case WsReader::Event::kPing: ...    // answer with a pong carrying reader.payload()
//     case WsReader::Event::kClose: ...   // reader.close_code(), reader.close_reason()
//     case WsReader::Event::kError: ...   // send a close with reader.error_code(), then end
//     ...
//   }
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "snow/net/internal/utf8.h"

namespace snow::net_internal {

enum class WsOpcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

// Close codes (RFC 6455 §7.4.1) that Snow sends.
inline constexpr uint16_t kWsNormalClosure = 1000;
inline constexpr uint16_t kWsGoingAway = 1001;
inline constexpr uint16_t kWsProtocolError = 1002;
inline constexpr uint16_t kWsNoStatus = 1005;  // received without a code; never sent
inline constexpr uint16_t kWsInvalidData = 1007;
inline constexpr uint16_t kWsPolicyViolation = 1008;
inline constexpr uint16_t kWsMessageTooBig = 1009;
inline constexpr uint16_t kWsInternalError = 1011;

// Appends one frame carrying `payload`. A client passes its masking key (RFC 6455 §5.3: every
// client frame is masked, no server frame is); rsv1 marks a compressed message's first frame.
void AppendWsFrame(std::string& out, WsOpcode opcode, std::string_view payload, bool fin = true,
                   std::optional<uint32_t> mask = std::nullopt, bool rsv1 = false);
// A close frame's payload: `code`, then `reason` cut to fit the 125 bytes of a control frame
// (at a character boundary).
std::string WsClosePayload(uint16_t code, std::string_view reason);
// Whether a peer may send `code` in a close frame.
bool WsCloseCodeIsValid(uint16_t code);

class WsReader {
 public:
  struct Options {
    bool expect_masked = true;  // a server reads masked frames, a client unmasked ones
    size_t max_message_bytes = size_t{1} << 20;
    bool allow_rsv1 = false;  // permessage-deflate: RSV1 on a message's first frame
  };
  enum class Event : uint8_t { kNeedMore, kMessage, kPing, kPong, kClose, kError };

  explicit WsReader(Options options) : options_(options) {}

  Event Read(std::string_view bytes, size_t* consumed);

  // kMessage: text or binary, compressed (RSV1) or not, and its payload (fragments joined,
  // unmasked; the caller may move it out). kPing, kPong: the control frame's payload.
  bool text() const { return message_text_; }
  bool compressed() const { return message_compressed_; }
  std::string& payload() { return delivered_control_ ? control_ : message_; }
  // kClose: the peer's code (1005 when it sent none) and reason.
  uint16_t close_code() const { return close_code_; }
  const std::string& close_reason() const { return close_reason_; }
  // kError: the code to close with, and why.
  uint16_t error_code() const { return error_code_; }
  const std::string& error() const { return error_; }

 private:
  Event Fail(uint16_t code, std::string why);
  Event ParseHeader();
  Event FrameDone();

  Options options_;
  // The frame being read.
  uint8_t header_[14];
  size_t have_ = 0;  // header bytes so far
  bool in_payload_ = false;
  bool fin_ = false;
  bool rsv1_ = false;
  WsOpcode opcode_ = WsOpcode::kContinuation;
  bool masked_ = false;
  uint8_t mask_[4] = {0, 0, 0, 0};
  uint64_t length_ = 0;
  uint64_t read_ = 0;  // payload bytes of this frame so far
  // The message being assembled (data frames) and the last control frame.
  bool in_message_ = false;
  bool message_text_ = false;
  bool message_compressed_ = false;
  std::string message_;
  std::string control_;
  Utf8Validator utf8_;
  bool delivered_ = false;  // the last event handed message_ or control_ out: clear it first
  bool delivered_control_ = false;
  uint16_t close_code_ = kWsNoStatus;
  std::string close_reason_;
  uint16_t error_code_ = 0;
  std::string error_;
};

}  // namespace snow::net_internal
