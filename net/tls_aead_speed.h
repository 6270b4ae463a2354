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

// Seals `total_bytes` as records of `record_bytes` (16 KiB, TLS's largest, by default; a 13-byte
// header as associated data, a fresh nonce per record) and returns plaintext bytes per second.
// Small records show the fixed cost per record: the time one message of that size takes to seal.
absl::StatusOr<double> MeasureAeadBytesPerSecond(TlsAead aead, size_t total_bytes,
                                                 size_t record_bytes = 16384);

}  // namespace snow::net
