// File: core/internal/shard.h
//
// Shard: one thread pinned to one CPU, owning an io_uring (Reactor), a run queue of ready
// coroutines, timers, the table of its actors, and its side of the cross-shard queues.
// Everything here is touched only by the shard's own thread, except Inbox::Push and Wake.
//
// The loop, each round: run what is ready; flush the outboxes to other shards (one atomic
// exchange per target shard per round); take what other shards sent; fire due timers; reap I/O
// completions. With nothing to do it spins for `spin` (waking an idle vCPU costs ~25 µs here),
// then parks in io_uring_enter until a completion, a timer or a wake-up.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "snow/core/internal/actor_cell.h"
#include "snow/core/internal/actor_table.h"
#include "snow/core/internal/envelope.h"
#include "snow/core/internal/runnable.h"
#include "snow/core/internal/signal.h"
#include "snow/core/internal/timer_queue.h"
#include "snow/core/pid.h"
#include "snow/core/reactor/reactor.h"

namespace snow {
class Runtime;
}

namespace snow::core_internal {

enum class ClockKind : uint8_t { kReal, kVirtual };

struct ShardOptions {
  int64_t spin_ns = 50'000;
  ClockKind clock = ClockKind::kReal;
  bool log_crashes = true;
};

struct ShardCounters {
  std::atomic<uint64_t> messages_dropped{0};
  std::atomic<uint64_t> actors_spawned{0};
  std::atomic<uint64_t> actors_exited{0};
  std::atomic<uint64_t> actors_crashed{0};
  std::atomic<uint64_t> live_actors{0};
  std::atomic<uint64_t> parks{0};
  std::atomic<uint64_t> mailbox_overflows{0};

  // Written only by the owning shard: a plain add, readable from any thread.
  static void Add(std::atomic<uint64_t>& counter, int64_t delta) {
    counter.store(counter.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
  }
};

class Shard {
 public:
  Shard(Runtime* runtime, ShardId id, uint32_t shard_count, ShardOptions options);
  ~Shard();
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  // The shard whose thread this is, or nullptr outside the runtime's threads.
  static Shard* Current() { return current_; }

  ShardId id() const { return id_; }
  Runtime& runtime() const { return *runtime_; }
  Reactor& reactor() { return *reactor_; }
  ShardCounters& counters() { return counters_; }

  // --- Scheduling ---
  void Schedule(Runnable* r) { run_queue_.PushBack(r); }
  // For await_suspend: the next ready coroutine to transfer to directly, or noop (back to the
  // loop) when none is ready or this round's budget is spent.
  std::coroutine_handle<> TakeNext() {
    if (run_budget_ <= 0 || run_queue_.empty()) return std::noop_coroutine();
    --run_budget_;
    return run_queue_.PopFront()->handle();
  }
  // Long loops call this; true every kYieldEvery calls.
  bool ShouldYield() { return (++yield_tick_ & (kYieldEvery - 1)) == 0; }

  // --- Time ---
  int64_t NowNanos();
  TimerQueue& timers() { return timers_; }

  // --- Messages ---
  // Routes `e` (addressed by e->to) from this shard's thread.
  void Route(Envelope* e) {
    ShardId target = e->to.shard();
    if (target == id_ && e->to.is_local()) [[likely]] {
      DeliverLocal(e);
    } else {
      RouteAway(e);
    }
  }
  void DeliverLocal(Envelope* e) {
    ActorCell* cell = actors_.Find(e->to.serial());
    if (cell == nullptr) [[unlikely]] {
      Drop(e);
      return;
    }
    Deliver(cell, e);
  }
  // `cell` lives on this shard.
  void Deliver(ActorCell* cell, Envelope* e) {
    ReceiveWaiter* w = cell->waiter;
    if (cell->wanted_type == e->type) [[likely]] {
      cell->StopWaiting();
    } else {
      if (w == nullptr || cell->wanted_type != nullptr) {
        Enqueue(cell, e);
        return;
      }
      ReceiveWaiter* taker = w->taker(w, e);
      if (taker == nullptr) {
        Enqueue(cell, e);
        return;
      }
      // A WaiterQueue hands out one of its members and stays the cell's waiter itself.
      if (taker == w) cell->StopWaiting();
      w = taker;
    }
    // One wake-up site, so that PushBack stays inlined here (W1 lost ~1 ns with two).
    // A timed receive cancels its own timer when it resumes (ReceiveAwaiter::await_resume).
    w->received = e;
    Schedule(&w->runnable);
  }
  void Drop(Envelope* e) {
    Destroy(e);
    ShardCounters::Add(counters_.messages_dropped, 1);
  }
  // Into the mailbox, within its bound (core/mailbox.h).
  void Enqueue(ActorCell* cell, Envelope* e) {
    if (cell->max_mailbox != 0 && cell->mailbox_count >= cell->max_mailbox) [[unlikely]] {
      Overflow(cell, e);
      return;
    }
    cell->Append(e);
  }
  void Overflow(ActorCell* cell, Envelope* e);
  // Sends `e` to shard `target` as it is, behind what this shard already sent there, whatever
  // e->to says (dist/ moves remote sends to the shard that owns the node's connection).
  void Forward(Envelope* e, ShardId target);
  // Any thread: queues a chain for this shard and wakes it if it sleeps.
  void Post(Envelope* first, Envelope* last);

  // --- Signals (links, monitors, exits; core/internal/signal.h) ---
  // Routes a control item: handled at once when its target lives here, else queued behind the
  // messages this shard already sent to that shard, so per-pair order holds.
  void RouteSignal(Envelope* e) {
    if (e->to.is_local() && e->to.shard() == id_) {
      e->type->run(e, *this);
    } else {
      RouteAway(e);
    }
  }
  void SendSignal(Pid to, SignalKind kind, Pid from, uint64_t ref = 0,
                  absl::Status reason = absl::OkStatus()) {
    RouteSignal(MakeSignal(to, kind, from, ref, std::move(reason)));
  }
  // On the target's shard (core/internal/signal.cc).
  void HandleSignal(Signal* s);
  // `e` cannot reach e->to: control items answer for themselves, messages are dropped.
  void Undeliverable(Envelope* e, const absl::Status& reason);
  // The live actor `pid` of this shard, or nullptr.
  ActorCell* Find(Pid pid) { return pid.is_local() ? actors_.Find(pid.serial()) : nullptr; }
  // Ends `cell` with `reason` at the next safe point: never in the middle of running one of
  // its coroutines, and never by recursion (a chain of links ends actor by actor, each
  // propagating in turn). The first reason wins.
  void Doom(ActorCell* cell, absl::Status reason);

  // SendAfter: delivers `e` (to e->to) after `delay_ns`. Returns an id for CancelSendAfter.
  uint64_t SendAfter(int64_t delay_ns, Envelope* e);
  // True if the message had not been sent yet (it is then destroyed).
  bool CancelSendAfter(uint64_t id);

  // A reference unique in this runtime: this shard's id in the low bits.
  uint64_t NextRef() { return (ref_counter_++ << 10) | id_; }

  // --- Actors ---
  // A serial for an actor this shard spawns, on any shard (see core/pid.h).
  uint64_t NextSerial();
  // Gives an unstarted cell its root coroutine, whose end will end the actor.
  static void AttachRoot(ActorCell* cell, std::coroutine_handle<> root);
  // Starts `cell` on this shard (this shard's thread): it first runs when the loop reaches it.
  void Start(ActorCell* cell);
  // Starts `cell` and runs it at once, up to its first suspension, on the caller's stack (a
  // same-shard spawn). The new frame and cell are still in cache, so this is cheaper than a trip
  // through the run queue after a million other spawns (W2, W3). Nested spawns run this way up
  // to kMaxEagerDepth deep, so a chain of actors that each spawn the next cannot exhaust the
  // stack; deeper ones, and spawns made while a frame is being destroyed, are queued (Start).
  void StartNow(ActorCell* cell);
  // Starts `cell` on `home`, its shard, from this thread (any thread when `origin` is nullptr);
  // on the same shard at once (StartNow), unless `queued`.
  static void Launch(Shard* origin, Shard& home, ActorCell* cell, bool queued = false);
  // Ends `cell`: destroys its frame (if it is still running, as on a kill or shutdown).
  void Terminate(ActorCell* cell, absl::Status reason);

  // --- Lifecycle (called by Runtime) ---
  absl::Status Init();  // on the shard's thread
  void Loop();          // runs until RequestStop, then stops every actor
  void RequestStop();   // any thread
  void DrainInbox();    // after the loop: frees what is still queued
  bool stopping() const { return stop_.load(std::memory_order_relaxed); }
  // True while frames are being destroyed by a kill or shutdown rather than finishing.
  static bool cancelling() { return cancel_depth_ > 0; }
  // Held while destroying coroutine frames that have not finished (a kill, shutdown, a
  // TaskGroup cancelling its children): spawns made meanwhile are queued, not run at once.
  class CancellationScope {
   public:
    CancellationScope() { ++cancel_depth_; }
    ~CancellationScope() { --cancel_depth_; }
    CancellationScope(const CancellationScope&) = delete;
    CancellationScope& operator=(const CancellationScope&) = delete;
  };

 private:
  static constexpr uint32_t kYieldEvery = 64;
  static constexpr int kMaxEagerDepth = 16;
  friend void ActorRootDone(void* cell, std::coroutine_handle<> finished);
  // Puts `cell` in the actor table and counts it: the part of a start both ways share.
  void Admit(ActorCell* cell);
  void Finish(ActorCell* cell, absl::Status reason);
  void ProcessDoomed();
  // An exit signal reached `cell`: kill it, tell it (trap_exits), or ignore it.
  void ExitSignal(ActorCell* cell, Pid from, absl::Status reason, bool via_link);
  void RouteAway(Envelope* e);
  void RunReady();
  void FlushOutboxes();
  bool TakeInbox();
  bool FireTimers();
  void Idle();
  void StopAllActors();
  int64_t RealNowNanos() const;

  Runtime* runtime_;
  ShardId id_;
  uint32_t shard_count_;
  ShardOptions options_;
  std::unique_ptr<Reactor> reactor_;
  RunQueue run_queue_;
  TimerQueue timers_;
  ActorTable actors_;
  std::vector<EnvelopeChain> outboxes_;
  std::vector<ShardId> dirty_outboxes_;
  uint64_t spawn_counter_ = 1;
  uint64_t ref_counter_ = 1;
  uint32_t yield_tick_ = 0;
  int run_budget_ = 0;
  int eager_depth_ = 0;  // StartNow calls running on this thread's stack
  int64_t virtual_now_ = 0;
  ShardCounters counters_;
  // SendAfter timers this shard owns, by id, for CancelTimer and for shutdown.
  absl::flat_hash_map<uint64_t, TimerNode*> send_after_;
  std::vector<Pid> doomed_;  // actors to end at the next safe point (Doom)
  uint64_t next_timer_id_ = 1;

  Inbox inbox_;
  alignas(64) std::atomic<bool> sleeping_{false};
  std::atomic<bool> stop_{false};

  static inline constinit thread_local Shard* current_ = nullptr;
  static inline constinit thread_local int cancel_depth_ = 0;
};

}  // namespace snow::core_internal
