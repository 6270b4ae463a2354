// File: net/tls_aead_speed.h
//
// The cipher floor: how fast this machine's wolfCrypt seals TLS-sized records with one AEAD in
// the calling thread, with no TLS and no I/O. perf/net_bench compares TLS throughput with it,
// and the default cipher-suite order (net/tls.h) was chosen from it.
//
//   absl::StatusOr<double> bps = net::MeasureAeadBytesPerSecond(net::TlsAead::kChaCha20Poly1305,
//                                                               256 << 20);
//
// Blocking CPU work: call it outside the shards, or expect it to hold its shard.
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"

namespace snow::net {

enum class TlsAead : uint8_t { kChaCha20Poly1305, kAes128Gcm, kAes256Gcm };

// Seals `total_bytes` as 16 KiB records (a 13-byte header as associated data, a fresh nonce per
// record) and returns plaintext bytes per second.
absl::StatusOr<double> MeasureAeadBytesPerSecond(TlsAead aead, size_t total_bytes);

}  // namespace snow::net
