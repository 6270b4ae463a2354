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
#include "snow/net/crypto.h"

namespace snow::dist_internal {

inline constexpr uint16_t kProtocolVersion = 1;
inline constexpr std::string_view kMagic = "SNOWDIST";
inline constexpr size_t kNonceBytes = 32;
inline constexpr size_t kMaxHandshakeFrame = 1024;
inline constexpr std::string_view kExporterLabel = "EXPORTER-snow-dist-1";
// Capability bits (none are optional yet; the field lets later versions negotiate).
inline constexpr uint64_t kCapFragments = 1;
inline constexpr uint64_t kCapabilities = kCapFragments;

enum class HandshakeKind : uint8_t {
  kHello = 1,      // client -> server
  kChallenge = 2,  // server -> client
  kProof = 3,      // client -> server
  kAccept = 4,     // server -> client
  kReject = 5,     // either way, then close
};

enum class RejectCode : uint8_t {
  kVersion = 1,       // no common protocol version
  kCookie = 2,        // a proof did not verify
  kName = 3,          // name clash, already connected, or not the node that was dialed
  kBusy = 4,          // too many handshakes in progress
  kMalformed = 5,     // a message did not parse
  kSimultaneous = 6,  // both nodes connected at once; the other connection is kept
};

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
