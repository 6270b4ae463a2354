// File: net/crypto.h
//
// The few cryptographic primitives other folders need beside TLS, from wolfCrypt (the only
// crypto library Snow links): HMAC-SHA256, a constant-time compare, random bytes from the
// kernel, and SHA-1 for the WebSocket handshake. dist/ uses them for its cookie challenge
// (dist/PROTOCOL.md).
//
//   net::Sha256Digest mac = net::HmacSha256(cookie, transcript);
//   bool same = net::ConstantTimeEqual(mac, received);   // time independent of where they differ
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "absl/status/status.h"

namespace snow::net {

using Sha256Digest = std::array<uint8_t, 32>;
using Sha1Digest = std::array<uint8_t, 20>;

// HMAC-SHA256 of `data` under `key` (any length).
Sha256Digest HmacSha256(std::string_view key, std::string_view data);

// SHA-1, for the WebSocket handshake's Sec-WebSocket-Accept (RFC 6455 §4.2.2), which names it;
// not for anything that needs a secure hash.
Sha1Digest Sha1(std::string_view data);

// True if the two byte strings are equal; for equal sizes the time taken does not depend on
// their contents.
bool ConstantTimeEqual(std::span<const uint8_t> a, std::span<const uint8_t> b);

// Fills `out` from the kernel's CSPRNG (getrandom). kInternal if the kernel refuses.
absl::Status RandomBytes(std::span<uint8_t> out);

}  // namespace snow::net
