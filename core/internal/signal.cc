#include "snow/core/internal/signal.h"

#include <new>
#include <utility>

#include "snow/core/exit_reason.h"
#include "snow/core/internal/actor_cell.h"
#include "snow/core/internal/pool.h"
#include "snow/core/internal/shard.h"

namespace snow::core_internal {
namespace {

void FreeSignal(Signal* s) {
  s->~Signal();
  PoolFree(s, sizeof(Signal));
}

void DestroySignal(Envelope* e) noexcept { FreeSignal(static_cast<Signal*>(e)); }

void RunSignal(Envelope* e, Shard& shard) {
  auto* s = static_cast<Signal*>(e);
  shard.HandleSignal(s);
  FreeSignal(s);
}

// The target is on a node we cannot reach, or on a shard that does not exist: a link or a
// monitor answers for it, as it would if the target had died with `reason`.
void SignalUndeliverable(Envelope* e, Shard& shard, const absl::Status& reason) {
  auto* s = static_cast<Signal*>(e);
  if (s->kind == SignalKind::kLink) {
    shard.SendSignal(s->from, SignalKind::kLinkExit, s->to, 0, reason);
  } else if (s->kind == SignalKind::kMonitor) {
    shard.SendSignal(s->from, SignalKind::kDown, s->to, s->ref, reason);
  }
  FreeSignal(s);
}

const char* SignalName() { return "signal"; }

}  // namespace

constinit const MessageType kSignalType = {&DestroySignal, &RunSignal, &SignalName,
                                           &SignalUndeliverable};

Signal* MakeSignal(Pid to, SignalKind kind, Pid from, uint64_t ref, absl::Status reason) {
  auto* s = new (PoolAllocate(sizeof(Signal))) Signal();
  s->type = &kSignalType;
  s->to = to;
  s->kind = kind;
  s->from = from;
  s->ref = ref;
  s->reason = std::move(reason);
  return s;
}

void Shard::HandleSignal(Signal* s) {
  ActorCell* cell = Find(s->to);
  switch (s->kind) {
    case SignalKind::kLink:
      if (cell == nullptr) {
        SendSignal(s->from, SignalKind::kLinkExit, s->to, 0, NoProcReason());
      } else if (s->from != cell->pid) {
        cell->Extras().links.insert(s->from);
      }
      return;
    case SignalKind::kUnlink:
      if (cell != nullptr && cell->extras != nullptr) cell->extras->links.erase(s->from);
      return;
    case SignalKind::kLinkExit:
      // Only while the link stands: after an Unlink, its exit signal no longer applies.
      if (cell != nullptr && cell->extras != nullptr && cell->extras->links.erase(s->from) > 0) {
        ExitSignal(cell, s->from, std::move(s->reason), /*via_link=*/true);
      }
      return;
    case SignalKind::kExit:
      if (cell != nullptr) ExitSignal(cell, s->from, std::move(s->reason), /*via_link=*/false);
      return;
    case SignalKind::kMonitor:
      if (cell == nullptr) {
        SendSignal(s->from, SignalKind::kDown, s->to, s->ref, NoProcReason());
      } else {
        cell->Extras().monitored_by.emplace(s->ref, s->from);
      }
      return;
    case SignalKind::kDemonitor:
      if (cell != nullptr && cell->extras != nullptr) cell->extras->monitored_by.erase(s->ref);
      return;
    case SignalKind::kDown:
      // Only while the watcher still holds the monitor: Demonitor promises no Down after it.
      if (cell != nullptr && cell->extras != nullptr &&
          cell->extras->monitoring.erase(s->ref) > 0) {
        Deliver(cell,
                Box<Down>(cell->pid, Down{Ref::FromBits(s->ref), s->from, std::move(s->reason)}));
      }
      return;
  }
}

void Shard::ExitSignal(ActorCell* cell, Pid from, absl::Status reason, bool via_link) {
  // `kill` sent directly cannot be trapped; the victim's links hear `killed`. A `kill` that
  // arrives through a link (an actor that ended with reason kill) is an ordinary reason.
  if (!via_link && IsKill(reason)) {
    Doom(cell, KilledReason());
    return;
  }
  if (cell->extras != nullptr && cell->extras->trap_exits) {
    Deliver(cell, Box<Exit>(cell->pid, Exit{from, std::move(reason)}));
    return;
  }
  // A normal exit signal is ignored, except one an actor sends itself.
  if (reason.ok() && (via_link || from != cell->pid)) return;
  Doom(cell, std::move(reason));
}

}  // namespace snow::core_internal
