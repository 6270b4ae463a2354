// File: dist/internal/handshake.h
//
// The four handshake messages of dist/PROTOCOL.md §3 as plain structs, their encoding and their
// bounds-checked parsing, and the proofs: HMAC-SHA256 over the cookie of the whole transcript
// (both messages as sent, and the TLS exporter value), compared in constant time.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "snow/dist/internal/protocol.h"
#include "snow/net/crypto.h"

namespace snow::dist_internal {

struct Hello {
  uint16_t min_version = kProtocolVersion;
  uint16_t max_version = kProtocolVersion;
  uint64_t capabilities = kCapabilities;
  uint32_t creation = 0;
  std::array<uint8_t, kNonceBytes> nonce{};
  std::string name;
};

struct Challenge {
  uint16_t version = kProtocolVersion;
  uint64_t capabilities = kCapabilities;
  uint32_t creation = 0;
  std::array<uint8_t, kNonceBytes> nonce{};
  std::string name;
};

struct Reject {
  RejectCode code = RejectCode::kMalformed;
  std::string reason;
};

// Each returns a frame payload (no length prefix), at most kMaxHandshakeFrame bytes.
std::string EncodeHello(const Hello& m);
std::string EncodeChallenge(const Challenge& m);
std::string EncodeProof(const net::Sha256Digest& mac);
std::string EncodeAccept(const net::Sha256Digest& mac);
std::string EncodeReject(const Reject& m);

// The message kind of a payload (kInvalidArgument when empty or unknown).
absl::StatusOr<HandshakeKind> KindOf(std::string_view payload);
absl::StatusOr<Hello> ParseHello(std::string_view payload);
absl::StatusOr<Challenge> ParseChallenge(std::string_view payload);
// kProof and kAccept carry one MAC.
absl::StatusOr<net::Sha256Digest> ParseMac(std::string_view payload, HandshakeKind expected);
absl::StatusOr<Reject> ParseReject(std::string_view payload);
// The status a Connect caller sees for a peer's rejection.
absl::Status RejectStatus(const Reject& reject);

// HMAC-SHA256(cookie, "snow-dist-1 " + role + exporter + hello + challenge), role "client" or
// "server": each side proves the cookie over everything both sides said, on this TLS channel.
net::Sha256Digest Proof(std::string_view cookie, std::string_view role, std::string_view exporter,
                        std::string_view hello_payload, std::string_view challenge_payload);

// "name@host:port" check: 1-64 name characters [A-Za-z0-9_.-], '@', a host, ':', a port.
absl::Status CheckNodeName(std::string_view name);

}  // namespace snow::dist_internal
