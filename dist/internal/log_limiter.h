// File: dist/internal/log_limiter.h
//
// LogLimiter: what a peer can make this node write to its log is bounded. Lines about one peer
// and of one kind are written at most kLinesPerWindow times in any kWindow; the rest are
// counted, and the next line written for that peer and kind says how many were held back. A
// peer that sends a thousand unregistered type names, or a program that sends an unregistered
// type in a loop, costs a few lines a minute, not one per message. Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "snow/core/mutex.h"

namespace snow::dist_internal {

enum class LogKind : uint8_t {
  kUnregisteredType,  // a type this program (or the peer) has not registered
  kUndeliverable,     // a message or call to a name nobody holds, or that did not decode
  kDropped,           // a message this node could not send
  kConnection,        // handshakes and connections that failed
  kNodeDown,          // a connected node lost (when nothing monitors nodes)
};

class LogLimiter {
 public:
  static constexpr int kLinesPerWindow = 10;
  static constexpr absl::Duration kWindow = absl::Minutes(1);
  // Peers tracked one by one; past that, all further peers share one budget per kind (a flood
  // of made-up names cannot grow the table).
  static constexpr size_t kMaxKeys = 1024;

  // The line to write about `peer`, built by `line()` and with a note of what was held back,
  // or "" when this one is held back (and counted).
  template <typename Line>
  std::string Admit(std::string_view peer, LogKind kind, absl::Time now, Line line) {
    uint64_t held_back = 0;
    int written = 0;
    if (!Take(peer, kind, now, &held_back, &written)) return {};
    std::string text = line();
    if (held_back > 0) {
      text += " (" + std::to_string(held_back) + " more like this about " + std::string(peer) +
              " were not logged)";
    }
    if (written == kLinesPerWindow) {
      text +=
          " (more like this about " + std::string(peer) + " are counted, not logged, for a minute)";
    }
    return text;
  }

  // Lines held back so far, over all peers and kinds.
  uint64_t held_back_total() const;

 private:
  struct Budget {
    absl::Time window_start;
    int written = 0;
    uint64_t held_back = 0;
  };
  bool Take(std::string_view peer, LogKind kind, absl::Time now, uint64_t* held_back, int* written);

  mutable Mutex mutex_;
  absl::flat_hash_map<std::pair<std::string, LogKind>, Budget> budgets_ ABSL_GUARDED_BY(mutex_);
  uint64_t held_back_total_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace snow::dist_internal
