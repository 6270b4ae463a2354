// File: dist/internal/handshake.h
//
// The handshake messages of dist/PROTOCOL.md §3 as plain structs, their encoding and their
// bounds-checked parsing, and the proofs: HMAC-SHA256 over the cookie of the whole transcript
// (both messages as sent, and the TLS exporter value), compared in constant time. A lane's JOIN
// proves instead a key both sides derived from the first connection's transcript.
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
  uint16_t lanes = 1;  // how many lanes the sender takes part in
  uint16_t lane = 0;   // the sender's lane this connection ends on, or kNoLane
  std::array<uint8_t, kNonceBytes> nonce{};
  std::string name;
};

struct Challenge {
  uint16_t version = kProtocolVersion;
  uint64_t capabilities = kCapabilities;
  uint32_t creation = 0;
  uint16_t lanes = 1;
  uint16_t lane = 0;
  std::array<uint8_t, kNonceBytes> nonce{};
  std::string name;
};

// The first message on a lane: which connected peer it belongs to and which lane pair it is.
struct Join {
  uint32_t creation = 0;       // the sender's
  uint32_t peer_creation = 0;  // the receiver's, as the first connection learned it
  uint16_t from_lane = 0;      // the sender's end
  uint16_t to_lane = 0;        // the receiver's end
  std::array<uint8_t, kNonceBytes> nonce{};
  std::string name;  // the sender's
};

struct Reject {
  RejectCode code = RejectCode::kMalformed;
  std::string reason;
};

// Each returns a frame payload (no length prefix), at most kMaxHandshakeFrame bytes.
std::string EncodeHello(const Hello& m);
std::string EncodeChallenge(const Challenge& m);
std::string EncodeReject(const Reject& m);
// PROOF, ACCEPT and JOINED carry one MAC.
std::string EncodeMac(HandshakeKind kind, const net::Sha256Digest& mac);
// JOIN is the fields, then the sender's MAC over them (JoinProof).
std::string EncodeJoin(const Join& m, const net::Sha256Digest& mac);

// The message kind of a payload (kInvalidArgument when empty or unknown).
absl::StatusOr<HandshakeKind> KindOf(std::string_view payload);
absl::StatusOr<Hello> ParseHello(std::string_view payload);
absl::StatusOr<Challenge> ParseChallenge(std::string_view payload);
// kProof and kAccept carry one MAC.
absl::StatusOr<net::Sha256Digest> ParseMac(std::string_view payload, HandshakeKind expected);
absl::StatusOr<Reject> ParseReject(std::string_view payload);
// A JOIN's fields and its MAC; `signed_part` is what the MAC covers (the payload without it).
absl::StatusOr<Join> ParseJoin(std::string_view payload, net::Sha256Digest* mac,
                               std::string_view* signed_part);
// The status a Connect caller sees for a peer's rejection.
absl::Status RejectStatus(const Reject& reject);

// HMAC-SHA256(cookie, "snow-dist-1 " + role + exporter + hello + challenge), role "client" or
// "server": each side proves the cookie over everything both sides said, on this TLS channel.
net::Sha256Digest Proof(std::string_view cookie, std::string_view role, std::string_view exporter,
                        std::string_view hello_payload, std::string_view challenge_payload);

// The key lanes prove: HMAC-SHA256(cookie, "snow-dist-2 lanes" + exporter + hello + challenge)
// of the first connection. Only the two nodes that completed that handshake can compute it.
std::string LaneKey(std::string_view cookie, std::string_view exporter,
                    std::string_view hello_payload, std::string_view challenge_payload);
// HMAC-SHA256(lane key, "snow-dist-2 join " + role + exporter + join fields): the lane's own TLS
// channel and the lane pair it claims, proved by the client, then by the server.
net::Sha256Digest JoinProof(std::string_view lane_key, std::string_view role,
                            std::string_view exporter, std::string_view join_fields);

// "name@host:port" check: 1-64 name characters [A-Za-z0-9_.-], '@', a host, ':', a port.
absl::Status CheckNodeName(std::string_view name);

}  // namespace snow::dist_internal
