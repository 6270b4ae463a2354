#include "snow/net/internal/websocket_frames.h"

#include <algorithm>
#include <cstring>

namespace snow::net_internal {

namespace {

bool IsControl(WsOpcode op) { return (static_cast<uint8_t>(op) & 0x8) != 0; }

bool IsKnown(uint8_t op) { return op <= 0x2 || (op >= 0x8 && op <= 0xA); }

}  // namespace

void AppendWsFrame(std::string& out, WsOpcode opcode, std::string_view payload, bool fin,
                   std::optional<uint32_t> mask, bool rsv1) {
  const size_t n = payload.size();
  out.push_back(
      static_cast<char>((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | static_cast<uint8_t>(opcode)));
  const uint8_t mask_bit = mask ? 0x80 : 0;
  if (n < 126) {
    out.push_back(static_cast<char>(mask_bit | n));
  } else if (n <= 0xFFFF) {
    out.push_back(static_cast<char>(mask_bit | 126));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n));
  } else {
    out.push_back(static_cast<char>(mask_bit | 127));
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(n >> shift));
  }
  if (!mask) {
    out.append(payload);
    return;
  }
  const uint8_t key[4] = {static_cast<uint8_t>(*mask >> 24), static_cast<uint8_t>(*mask >> 16),
                          static_cast<uint8_t>(*mask >> 8), static_cast<uint8_t>(*mask)};
  out.append(reinterpret_cast<const char*>(key), 4);
  const size_t start = out.size();
  out.append(payload);
  for (size_t i = 0; i < n; ++i) out[start + i] = static_cast<char>(out[start + i] ^ key[i & 3]);
}

std::string WsClosePayload(uint16_t code, std::string_view reason) {
  std::string out;
  out.push_back(static_cast<char>(code >> 8));
  out.push_back(static_cast<char>(code));
  size_t keep = std::min<size_t>(reason.size(), 123);
  // Not in the middle of a character: back off over continuation bytes.
  while (keep > 0 && keep < reason.size() && (static_cast<uint8_t>(reason[keep]) & 0xC0) == 0x80) {
    --keep;
  }
  out.append(reason.substr(0, keep));
  return out;
}

bool WsCloseCodeIsValid(uint16_t code) {
  if (code >= 3000 && code <= 4999) return true;  // registered and private codes
  switch (code) {
    case 1000:
    case 1001:
    case 1002:
    case 1003:
    case 1007:
    case 1008:
    case 1009:
    case 1010:
    case 1011:
    case 1012:
    case 1013:
    case 1014:
      return true;
    default:
      return false;  // 1004-1006 and 1015 are never sent; the rest are unassigned
  }
}

WsReader::Event WsReader::Fail(uint16_t code, std::string why) {
  error_code_ = code;
  error_ = std::move(why);
  return Event::kError;
}

WsReader::Event WsReader::ParseHeader() {
  const uint8_t b0 = header_[0];
  const uint8_t b1 = header_[1];
  fin_ = (b0 & 0x80) != 0;
  rsv1_ = (b0 & 0x40) != 0;
  if ((b0 & 0x30) != 0) return Fail(kWsProtocolError, "reserved bits RSV2/RSV3 set");
  const uint8_t op = b0 & 0x0F;
  if (!IsKnown(op)) return Fail(kWsProtocolError, "a reserved opcode");
  opcode_ = static_cast<WsOpcode>(op);
  masked_ = (b1 & 0x80) != 0;
  if (masked_ != options_.expect_masked) {
    return Fail(kWsProtocolError, options_.expect_masked ? "a client frame without a mask"
                                                         : "a server frame with a mask");
  }
  uint64_t length = b1 & 0x7F;
  size_t at = 2;
  if (length == 126) {
    length = uint64_t{header_[2]} << 8 | header_[3];
    if (length < 126) return Fail(kWsProtocolError, "a length not in its shortest form");
    at = 4;
  } else if (length == 127) {
    length = 0;
    for (size_t i = 2; i < 10; ++i) length = length << 8 | header_[i];
    if (length >> 63) return Fail(kWsProtocolError, "a 64-bit length with its top bit set");
    if (length <= 0xFFFF) return Fail(kWsProtocolError, "a length not in its shortest form");
    at = 10;
  }
  if (masked_) std::memcpy(mask_, header_ + at, 4);
  length_ = length;
  read_ = 0;

  if (IsControl(opcode_)) {
    if (!fin_) return Fail(kWsProtocolError, "a fragmented control frame");
    if (length_ > 125) return Fail(kWsProtocolError, "a control frame longer than 125 bytes");
    if (rsv1_) return Fail(kWsProtocolError, "RSV1 on a control frame");
    control_.clear();
    return Event::kNeedMore;
  }
  if (opcode_ == WsOpcode::kContinuation) {
    if (!in_message_) return Fail(kWsProtocolError, "a continuation with no message begun");
    if (rsv1_) return Fail(kWsProtocolError, "RSV1 on a continuation frame");
  } else {
    if (in_message_) return Fail(kWsProtocolError, "a new message inside a fragmented one");
    if (rsv1_ && !options_.allow_rsv1) {
      return Fail(kWsProtocolError, "RSV1 set without a negotiated extension");
    }
    in_message_ = true;
    message_text_ = opcode_ == WsOpcode::kText;
    message_compressed_ = rsv1_;
    message_.clear();
    utf8_.Reset();
  }
  if (length_ >
      options_.max_message_bytes - std::min(message_.size(), options_.max_message_bytes)) {
    return Fail(kWsMessageTooBig, "the message is larger than max_message_bytes");
  }
  return Event::kNeedMore;
}

WsReader::Event WsReader::FrameDone() {
  in_payload_ = false;
  have_ = 0;
  switch (opcode_) {
    case WsOpcode::kPing:
      delivered_ = delivered_control_ = true;
      return Event::kPing;
    case WsOpcode::kPong:
      delivered_ = delivered_control_ = true;
      return Event::kPong;
    case WsOpcode::kClose: {
      if (control_.size() == 1) return Fail(kWsProtocolError, "a close frame of one byte");
      if (control_.empty()) {
        close_code_ = kWsNoStatus;
        close_reason_.clear();
      } else {
        close_code_ = static_cast<uint16_t>(static_cast<uint8_t>(control_[0]) << 8 |
                                            static_cast<uint8_t>(control_[1]));
        if (!WsCloseCodeIsValid(close_code_)) {
          return Fail(kWsProtocolError, "a close code that may not be sent");
        }
        close_reason_ = control_.substr(2);
        Utf8Validator reason;
        if (!reason.Feed(close_reason_) || !reason.complete()) {
          return Fail(kWsInvalidData, "a close reason that is not UTF-8");
        }
      }
      delivered_ = delivered_control_ = true;
      return Event::kClose;
    }
    default:
      break;
  }
  if (!fin_) return Event::kNeedMore;
  in_message_ = false;
  if (message_text_ && !message_compressed_ && !utf8_.complete()) {
    return Fail(kWsInvalidData, "text that is not UTF-8");
  }
  delivered_ = true;
  delivered_control_ = false;
  return Event::kMessage;
}

WsReader::Event WsReader::Read(std::string_view bytes, size_t* consumed) {
  *consumed = 0;
  if (error_code_ != 0) return Event::kError;
  if (delivered_) {
    if (delivered_control_) {
      control_.clear();
    } else {
      message_.clear();
    }
    delivered_ = delivered_control_ = false;
  }
  size_t pos = 0;
  for (;;) {
    if (!in_payload_) {
      // The header: 2 bytes, then the extended length and the mask as the first two announce.
      while (have_ < 2 && pos < bytes.size()) header_[have_++] = static_cast<uint8_t>(bytes[pos++]);
      if (have_ < 2) break;
      const uint8_t short_length = header_[1] & 0x7F;
      const size_t needed = 2 +
                            (short_length == 126   ? 2
                             : short_length == 127 ? 8
                                                   : 0) +
                            ((header_[1] & 0x80) != 0 ? 4 : 0);
      while (have_ < needed && pos < bytes.size()) {
        header_[have_++] = static_cast<uint8_t>(bytes[pos++]);
      }
      if (have_ < needed) break;
      const Event parsed = ParseHeader();
      if (parsed == Event::kError) {
        *consumed = pos;
        return parsed;
      }
      in_payload_ = true;
    }
    const size_t n = static_cast<size_t>(std::min<uint64_t>(length_ - read_, bytes.size() - pos));
    std::string& target = IsControl(opcode_) ? control_ : message_;
    const size_t start = target.size();
    target.append(bytes.substr(pos, n));
    if (masked_) {
      for (size_t i = 0; i < n; ++i) {
        target[start + i] = static_cast<char>(target[start + i] ^ mask_[(read_ + i) & 3]);
      }
    }
    if (!IsControl(opcode_) && message_text_ && !message_compressed_ &&
        !utf8_.Feed(std::string_view(target).substr(start))) {
      *consumed = pos + n;
      return Fail(kWsInvalidData, "text that is not UTF-8");
    }
    pos += n;
    read_ += n;
    if (read_ < length_) break;
    const Event done = FrameDone();
    if (done != Event::kNeedMore) {
      *consumed = pos;
      return done;
    }
  }
  *consumed = pos;
  return Event::kNeedMore;
}

}  // namespace snow::net_internal
