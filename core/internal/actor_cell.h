// File: core/internal/actor_cell.h
//
// ActorCell: an actor's state on its shard — PID, mailbox, the receive it is waiting in, and
// its root coroutine frame. Only the owning shard's thread touches a cell after it has started.
#pragma once

#include <coroutine>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "snow/core/internal/envelope.h"
#include "snow/core/internal/runnable.h"
#include "snow/core/internal/timer_queue.h"
#include "snow/core/mailbox.h"
#include "snow/core/pid.h"

namespace snow::core_internal {

class Shard;
struct ActorCell;

// A receive in progress: lives in the awaiting coroutine's frame.
struct ReceiveWaiter {
  // One slot for two stages, so a blocked actor's frame is 8 bytes smaller.
  union {
    // Before waiting: where the receive's one scan of the mailbox starts (null: the head).
    Envelope** scan_from;
    // While waiting: the receive that takes `e` (this one, or for a WaiterQueue one of its
    // members, which it has already taken out of the queue), or nullptr. A receive of exactly
    // one type with no predicate also sets ActorCell::wanted_type, which Deliver compares
    // without a call.
    ReceiveWaiter* (*taker)(ReceiveWaiter* self, Envelope* e) = nullptr;
  };
  Envelope* received = nullptr;
  Runnable runnable;
  ActorCell* cell = nullptr;
};

// Several receives of one actor waiting at once (children of a TaskGroup, each in a Call): the
// cell's waiter is then this queue, which offers each arriving message to its members in the
// order they began waiting. It exists only while two or more wait; with one left, that one is
// the cell's waiter again. A lone receive, the usual case, never touches it.
struct WaiterQueue : ReceiveWaiter {
  static ReceiveWaiter* Take(ReceiveWaiter* self, Envelope* e);
  std::vector<ReceiveWaiter*> members;
};

// Rarely used parts of a cell, allocated on first use: most actors never link, monitor,
// register or trap exits, and they pay one null pointer for it.
struct ActorExtras {
  std::string registered_name;
  absl::flat_hash_set<Pid> links;
  absl::flat_hash_map<uint64_t, Pid> monitoring;    // monitors this actor holds: ref -> target
  absl::flat_hash_map<uint64_t, Pid> monitored_by;  // monitors on this actor: ref -> watcher
  // Set when an exit signal has doomed the actor; it ends with this reason at the shard's next
  // safe point (Shard::Doom), or when it finishes first.
  std::optional<absl::Status> pending_exit;
  Pid parent;  // the actor that SpawnLink-ed this one
  // Receive marker (Erlang's recv_mark): the mailbox link that was the tail when reference
  // `marker_ref` was made. Replies carrying that reference can only be behind it.
  Envelope** marker = nullptr;
  uint64_t marker_ref = 0;
  bool trap_exits = false;
  bool is_main = false;  // the program's main actor: its end ends snow::Run
  MailboxOverflow overflow = MailboxOverflow::kDropNew;  // with ActorCell::max_mailbox
  std::unique_ptr<WaiterQueue> waiters;  // made when a second receive first waits beside one
};

struct ActorCell {
  static void* operator new(std::size_t size) { return PoolAllocate(size); }
  static void operator delete(void* p, std::size_t size) noexcept { PoolFree(p, size); }

  // Appends to the mailbox. Callers have checked the waiter first.
  void Append(Envelope* e) {
    e->next = nullptr;
    *mailbox_tail = e;
    mailbox_tail = &e->next;
    ++mailbox_count;
  }
  // A receive starts waiting; `type` is the one type it takes, or nullptr when it needs its
  // `taker`.
  void Wait(ReceiveWaiter* w, const MessageType* type) {
    if (waiter != nullptr) [[unlikely]] {
      WaitBeside(w);
      return;
    }
    waiter = w;
    wanted_type = type;
  }
  // The waiter took a message (Deliver).
  void StopWaiting() {
    waiter = nullptr;
    wanted_type = nullptr;
  }
  // `w` stops waiting without a message (a timeout, or its frame is destroyed), whether it is
  // the waiter or in the queue; nothing if it no longer waits.
  void Withdraw(ReceiveWaiter* w) {
    if (waiter == w) {
      StopWaiting();
    } else if (waiter != nullptr && wanted_type == nullptr) [[unlikely]] {
      WithdrawFromQueue(w);
    }
  }
  ActorExtras& Extras() {
    if (extras == nullptr) extras = std::make_unique<ActorExtras>();
    return *extras;
  }
  // Unlinks `e`, found at `*link`, from the mailbox.
  void Unlink(Envelope** link, Envelope* e) {
    *link = e->next;
    if (mailbox_tail == &e->next) mailbox_tail = link;
    if (extras != nullptr && extras->marker == &e->next) extras->marker = link;
    --mailbox_count;
  }
  // Where a receive of a reply tagged `ref` may start scanning: the marker, if `ref` is the
  // reference it was set for; else nullptr (the whole mailbox).
  Envelope** MarkerFor(uint64_t ref) const {
    return extras != nullptr && extras->marker_ref == ref ? extras->marker : nullptr;
  }
  // Out of line: only for several receives waiting at once (WaiterQueue).
  void WaitBeside(ReceiveWaiter* w);
  void WithdrawFromQueue(ReceiveWaiter* w);
  // The root coroutine (the actor's body), null once it has ended.
  std::coroutine_handle<> root() const { return start.handle(); }

  // A cell is kept small (72 bytes): a million blocked actors are mostly cells and frames. Its
  // shard is the one running it (Shard::Current()), so it stores none.
  Pid pid;
  Envelope* mailbox_head = nullptr;
  Envelope** mailbox_tail = &mailbox_head;
  uint32_t mailbox_count = 0;
  uint32_t max_mailbox = 0;  // 0: no bound (SpawnOptions::max_mailbox)
  ReceiveWaiter* waiter = nullptr;
  // Beside `waiter` rather than in it: Deliver's test of a one-type receive is then one load from
  // the cell, not a second one through the waiter.
  const MessageType* wanted_type = nullptr;
  // Queues the actor's first run; its handle is the root coroutine for the actor's whole life.
  Runnable start;
  std::unique_ptr<ActorExtras> extras;
};

}  // namespace snow::core_internal
