// File: dist/internal/stats.h
//
// ShardStats: the counters behind dist::Stats, one set per shard, each written only by its shard
// (a plain add) and read from any thread.
#pragma once

#include <atomic>
#include <cstdint>

namespace snow::dist_internal {

struct alignas(64) ShardStats {
  std::atomic<uint64_t> messages_sent{0}, messages_received{0}, bytes_sent{0}, bytes_received{0},
      dropped_not_registered{0}, dropped_encode_failed{0}, dropped_decode_failed{0},
      dropped_queue_full{0}, dropped_no_connection{0}, handshakes_failed{0}, connections_up{0},
      lanes_up{0}, queued_bytes_peak{0}, bulk_paused{0};
  // A gauge: bytes the shard's connections hold to write, as each writer last reported.
  std::atomic<int64_t> queued_bytes{0};
  static void Add(std::atomic<uint64_t>& c, uint64_t n) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  // An atomic add: a connection's last release may come from another thread.
  static void Move(std::atomic<int64_t>& g, int64_t delta) {
    g.fetch_add(delta, std::memory_order_relaxed);
  }
  static void Max(std::atomic<uint64_t>& c, uint64_t n) {
    if (n > c.load(std::memory_order_relaxed)) c.store(n, std::memory_order_relaxed);
  }
};

}  // namespace snow::dist_internal
