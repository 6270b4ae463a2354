// Fuzzes the parsers of dist/'s handshake messages (dist/internal/handshake.h), which read what
// an unauthenticated peer sent. Every parser sees every input; none may crash, and whatever one
// accepts must encode back to the same bytes (the kind byte aside: the caller checks it with
// KindOf), so that no two payloads mean the same message.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "snow/dist/internal/handshake.h"

using namespace snow::dist_internal;  // NOLINT

namespace {

void Require(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view payload(reinterpret_cast<const char*>(data), size);

  absl::StatusOr<HandshakeKind> kind = KindOf(payload);
  if (kind.ok()) {
    Require(!payload.empty());
    Require(static_cast<uint8_t>(*kind) == static_cast<uint8_t>(payload[0]));
  }

  if (absl::StatusOr<Hello> hello = ParseHello(payload); hello.ok()) {
    Require(EncodeHello(*hello).substr(1) == payload.substr(1));
  }
  if (absl::StatusOr<Challenge> challenge = ParseChallenge(payload); challenge.ok()) {
    Require(EncodeChallenge(*challenge).substr(1) == payload.substr(1));
  }
  if (absl::StatusOr<snow::net::Sha256Digest> proof = ParseMac(payload, HandshakeKind::kProof);
      proof.ok()) {
    Require(EncodeMac(HandshakeKind::kProof, *proof) == payload);
  }
  if (absl::StatusOr<snow::net::Sha256Digest> accept = ParseMac(payload, HandshakeKind::kAccept);
      accept.ok()) {
    Require(EncodeMac(HandshakeKind::kAccept, *accept) == payload);
  }
  if (absl::StatusOr<snow::net::Sha256Digest> joined = ParseMac(payload, HandshakeKind::kJoined);
      joined.ok()) {
    Require(EncodeMac(HandshakeKind::kJoined, *joined) == payload);
  }
  snow::net::Sha256Digest join_mac;
  std::string_view join_fields;
  if (absl::StatusOr<Join> join = ParseJoin(payload, &join_mac, &join_fields); join.ok()) {
    Require(EncodeJoin(*join, join_mac) == payload);
    Require(join_fields.size() + join_mac.size() == payload.size());
  }
  if (absl::StatusOr<Reject> reject = ParseReject(payload); reject.ok()) {
    // The reason is made printable and, when sent, cut to 512 bytes.
    for (char c : reject->reason) Require(c >= 0x20 && c < 0x7f);
    Require(!RejectStatus(*reject).ok());
    absl::StatusOr<Reject> again = ParseReject(EncodeReject(*reject));
    Require(again.ok());
    Require(again->code == reject->code);
    Require(again->reason == reject->reason.substr(0, 512));
  }

  if (CheckNodeName(payload).ok()) {
    size_t at = payload.find('@');
    size_t colon = payload.rfind(':');
    Require(at != std::string_view::npos && at >= 1 && at <= 64);
    Require(colon != std::string_view::npos && colon > at + 1);
    Require(payload.size() <= 255);
  }
  return 0;
}
