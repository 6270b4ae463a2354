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
#include "snow/core/signal_kind.h"

namespace snow::core_internal {

using snow::SignalKind;

// The one type of every signal envelope.
extern const MessageType kSignalType;

struct Signal final : Envelope {
  SignalKind kind;
  Pid from;
  uint64_t ref = 0;
  absl::Status reason;
};

// True if `e` is a signal (a transport carries signals to other nodes).
inline bool IsSignal(const Envelope* e) { return e->type == &kSignalType; }

// Makes a signal envelope addressed to `to`; the caller routes it (Shard::RouteSignal).
Signal* MakeSignal(Pid to, SignalKind kind, Pid from, uint64_t ref, absl::Status reason);

}  // namespace snow::core_internal
