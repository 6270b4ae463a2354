// File: core/internal/signal.h
//
// Signals: what links and monitors exchange between actors. A signal is a control item that
// travels exactly like a message from the same sender (delivered at once on the same shard,
// through the same per-target outbox across shards), so a message sent before a signal is
// always handled before it (docs/actors.md, "Ordering"). It is handled by the target's shard
// (Shard::HandleSignal), not queued in a mailbox.
#pragma once

#include <cstdint>

#include "absl/status/status.h"
#include "snow/core/internal/envelope.h"
#include "snow/core/pid.h"

namespace snow::core_internal {

enum class SignalKind : uint8_t {
  kLink,       // `from` linked itself to the target
  kUnlink,     // `from` removed its link
  kLinkExit,   // linked actor `from` ended with `reason`
  kExit,       // `from` sent an exit signal (Self::SendExit)
  kMonitor,    // `from` monitors the target under `ref`
  kDemonitor,  // `from` dropped monitor `ref`
  kDown,       // the actor `from`, monitored under `ref`, ended with `reason`
};

struct Signal final : Envelope {
  SignalKind kind;
  Pid from;
  uint64_t ref = 0;
  absl::Status reason;
};

// True if `e` is a signal (dist/ forwards signals to other nodes).
bool IsSignal(const Envelope* e);

// Makes a signal envelope addressed to `to`; the caller routes it (Shard::RouteSignal).
Signal* MakeSignal(Pid to, SignalKind kind, Pid from, uint64_t ref, absl::Status reason);

}  // namespace snow::core_internal
