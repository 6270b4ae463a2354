#include "snow/dist/internal/handshake.h"

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "snow/core/status.h"
#include "snow/dist/internal/fields.h"

namespace snow::dist_internal {
namespace {

// A handshake payload: its kind byte, then fields.
class Payload {
 public:
  explicit Payload(HandshakeKind kind) : fields_(bytes_) { fields_.U8(static_cast<uint8_t>(kind)); }
  FieldWriter& fields() { return fields_; }
  std::string Take() const { return std::string(bytes_.chars()); }

 private:
  wire::ByteBuffer bytes_;
  FieldWriter fields_;
};

bool ReadNonce(FieldReader& in, std::array<uint8_t, kNonceBytes>* out) {
  std::string_view b;
  if (!in.Bytes(kNonceBytes, &b)) return false;
  std::memcpy(out->data(), b.data(), kNonceBytes);
  return true;
}

bool ReadName(FieldReader& in, std::string* out) {
  std::string_view b;
  if (!in.Name(&b)) return false;
  *out = std::string(b);
  return true;
}

absl::Status Malformed(std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("malformed handshake ", AbslView(what)));
}

// The payload after its kind byte. An empty payload must parse as malformed, not throw
// (std::string_view::substr(1) of it would): the parsers take whatever a peer sent.
std::string_view AfterKind(std::string_view payload) {
  return payload.empty() ? payload : payload.substr(1);
}

std::string_view AsView(const std::array<uint8_t, kNonceBytes>& a) {
  return std::string_view(reinterpret_cast<const char*>(a.data()), a.size());
}

}  // namespace

std::string EncodeHello(const Hello& m) {
  Payload p(HandshakeKind::kHello);
  FieldWriter& o = p.fields();
  o.Bytes(kMagic);
  o.Int(m.min_version);
  o.Int(m.max_version);
  o.Int(m.capabilities);
  o.Int(m.creation);
  o.Int(m.lanes);
  o.Int(m.lane);
  o.Bytes(AsView(m.nonce));
  o.Name(m.name);
  return p.Take();
}

std::string EncodeChallenge(const Challenge& m) {
  Payload p(HandshakeKind::kChallenge);
  FieldWriter& o = p.fields();
  o.Int(m.version);
  o.Int(m.capabilities);
  o.Int(m.creation);
  o.Int(m.lanes);
  o.Int(m.lane);
  o.Bytes(AsView(m.nonce));
  o.Name(m.name);
  return p.Take();
}

std::string EncodeJoin(const Join& m, const net::Sha256Digest& mac) {
  Payload p(HandshakeKind::kJoin);
  FieldWriter& o = p.fields();
  o.Int(m.creation);
  o.Int(m.peer_creation);
  o.Int(m.from_lane);
  o.Int(m.to_lane);
  o.Bytes(AsView(m.nonce));
  o.Name(m.name);
  o.Bytes(AsView(mac));
  return p.Take();
}

std::string EncodeMac(HandshakeKind kind, const net::Sha256Digest& mac) {
  Payload p(kind);
  p.fields().Bytes(AsView(mac));
  return p.Take();
}

std::string EncodeReject(const Reject& m) {
  Payload p(HandshakeKind::kReject);
  FieldWriter& o = p.fields();
  o.U8(static_cast<uint8_t>(m.code));
  std::string_view reason = std::string_view(m.reason).substr(0, kMaxRejectReason);
  o.Int(static_cast<uint16_t>(reason.size()));
  o.Bytes(reason);
  return p.Take();
}

absl::StatusOr<HandshakeKind> KindOf(std::string_view payload) {
  if (payload.empty()) return Malformed("message: empty");
  auto kind = static_cast<uint8_t>(payload[0]);
  if (kind < 1 || kind > 7) return Malformed(absl::StrCat("message: unknown kind ", kind));
  return static_cast<HandshakeKind>(kind);
}

absl::StatusOr<Hello> ParseHello(std::string_view payload) {
  FieldReader in(AfterKind(payload));
  Hello m;
  std::string_view magic;
  if (!in.Bytes(kMagic.size(), &magic) || magic != kMagic) {
    return Malformed("hello: not a Snow node (bad magic)");
  }
  if (!in.Int(&m.min_version) || !in.Int(&m.max_version) || !in.Int(&m.capabilities) ||
      !in.Int(&m.creation) || !in.Int(&m.lanes) || !in.Int(&m.lane) || !ReadNonce(in, &m.nonce) ||
      !ReadName(in, &m.name) || !in.done()) {
    return Malformed("hello");
  }
  return m;
}

absl::StatusOr<Challenge> ParseChallenge(std::string_view payload) {
  FieldReader in(AfterKind(payload));
  Challenge m;
  if (!in.Int(&m.version) || !in.Int(&m.capabilities) || !in.Int(&m.creation) ||
      !in.Int(&m.lanes) || !in.Int(&m.lane) || !ReadNonce(in, &m.nonce) || !ReadName(in, &m.name) ||
      !in.done()) {
    return Malformed("challenge");
  }
  return m;
}

absl::StatusOr<Join> ParseJoin(std::string_view payload, net::Sha256Digest* mac,
                               std::string_view* signed_part) {
  if (payload.size() < 1 + kMacBytes ||
      static_cast<HandshakeKind>(payload[0]) != HandshakeKind::kJoin) {
    return Malformed("join");
  }
  *signed_part = payload.substr(0, payload.size() - kMacBytes);
  FieldReader in(AfterKind(*signed_part));
  Join m;
  if (!in.Int(&m.creation) || !in.Int(&m.peer_creation) || !in.Int(&m.from_lane) ||
      !in.Int(&m.to_lane) || !ReadNonce(in, &m.nonce) || !ReadName(in, &m.name) || !in.done()) {
    return Malformed("join");
  }
  std::memcpy(mac->data(), payload.data() + signed_part->size(), kMacBytes);
  return m;
}

absl::StatusOr<net::Sha256Digest> ParseMac(std::string_view payload, HandshakeKind expected) {
  if (payload.size() != 1 + kMacBytes || static_cast<HandshakeKind>(payload[0]) != expected) {
    return Malformed(expected == HandshakeKind::kProof    ? "proof"
                     : expected == HandshakeKind::kAccept ? "accept"
                                                          : "joined");
  }
  net::Sha256Digest mac;
  std::memcpy(mac.data(), payload.data() + 1, mac.size());
  return mac;
}

absl::StatusOr<Reject> ParseReject(std::string_view payload) {
  FieldReader in(AfterKind(payload));
  uint8_t code = 0;
  uint16_t length = 0;
  std::string_view reason;
  if (!in.U8(&code) || !in.Int(&length) || !in.Bytes(length, &reason) || !in.done()) {
    return Malformed("reject");
  }
  Reject m;
  m.code = static_cast<RejectCode>(code);
  // The reason is the peer's text: keep it printable.
  m.reason.reserve(reason.size());
  for (char c : reason)
    m.reason.push_back(absl::ascii_isprint(static_cast<unsigned char>(c)) ? c : '?');
  return m;
}

absl::Status RejectStatus(const Reject& reject) {
  std::string text = absl::StrCat("rejected by the peer: ", reject.reason);
  switch (reject.code) {
    case RejectCode::kCookie:
      // The proof binds the TLS session as well as the cookie: a relay that terminates TLS
      // fails it with the right cookie, and the peer cannot tell the two apart.
      return absl::UnauthenticatedError(
          absl::StrCat("rejected by the peer: the cookie proof failed (a different cookie, or a "
                       "relay in between); the peer said: ",
                       reject.reason));
    case RejectCode::kBusy:
      return absl::UnavailableError(text);
    case RejectCode::kSimultaneous:
      return absl::AbortedError(text);
    default:
      return absl::FailedPreconditionError(text);
  }
}

namespace {

// `label`, then each part length-prefixed, so no two different transcripts concatenate alike.
std::string Transcript(std::string_view label, std::initializer_list<std::string_view> parts) {
  wire::ByteBuffer bytes;
  FieldWriter w(bytes);
  w.Bytes(label);
  for (std::string_view part : parts) {
    w.Int(static_cast<uint32_t>(part.size()));
    w.Bytes(part);
  }
  return std::string(bytes.chars());
}

}  // namespace

net::Sha256Digest Proof(std::string_view cookie, std::string_view role, std::string_view exporter,
                        std::string_view hello_payload, std::string_view challenge_payload) {
  return net::HmacSha256(cookie, Transcript(absl::StrCat("snow-dist-2 ", AbslView(role)),
                                            {exporter, hello_payload, challenge_payload}));
}

std::string LaneKey(std::string_view cookie, std::string_view exporter,
                    std::string_view hello_payload, std::string_view challenge_payload) {
  net::Sha256Digest key = net::HmacSha256(
      cookie, Transcript("snow-dist-2 lanes", {exporter, hello_payload, challenge_payload}));
  return std::string(AsView(key));
}

net::Sha256Digest JoinProof(std::string_view lane_key, std::string_view role,
                            std::string_view exporter, std::string_view join_fields) {
  return net::HmacSha256(lane_key, Transcript(absl::StrCat("snow-dist-2 join ", AbslView(role)),
                                              {exporter, join_fields}));
}

absl::Status CheckNodeName(std::string_view name) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bad node name \"", AbslView(name), "\": ", AbslView(why), " (expected name@host:port)"));
  };
  if (name.size() > 255) return bad("longer than 255 bytes");
  size_t at = name.find('@');
  if (at == std::string_view::npos) return bad("no '@'");
  std::string_view short_name = name.substr(0, at);
  if (short_name.empty() || short_name.size() > 64)
    return bad("the name part must be 1-64 characters");
  for (char c : short_name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') {
      return bad("the name part allows only letters, digits, '_', '-' and '.'");
    }
  }
  size_t colon = name.rfind(':');
  if (colon == std::string_view::npos || colon < at) return bad("no ':port'");
  uint32_t port = 0;
  if (!absl::SimpleAtoi(AbslView(name.substr(colon + 1)), &port) || port > 65535)
    return bad("bad port");
  if (colon == at + 1) return bad("no host");
  return absl::OkStatus();
}

}  // namespace snow::dist_internal
