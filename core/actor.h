// File: core/actor.h
//
// Actors: an actor is a coroutine function `Task<absl::Status> F(Self self, Args...)` that
// lives on one shard for its whole life. Returning OK ends it with reason normal; returning an
// error ends it with that reason; an exception escaping it is a crash (reason kInternal with
// the exception's message), which ends that actor only.
//
//   struct Ping { Pid from; int n; };
//   struct Pong { int n; };
//   Task<absl::Status> Ponger(Self self) {
//     for (;;) {
//       Ping p = co_await self.Receive<Ping>();      // selective: other messages stay queued
//       self.Send(p.from, Pong{p.n});                // never blocks, never fails
//     }
//   }
//   Task<absl::Status> Main(Self self) {
//     Pid pong = self.Spawn(Ponger);                 // args are copied into the new frame
//     self.Send(pong, Ping{self.pid(), 1});
//     absl::StatusOr<Pong> r = co_await self.ReceiveFor<Pong>(absl::Seconds(1));
//     co_return r.status();                           // kDeadlineExceeded if no reply came
//   }
//
// Self is the actor's handle to itself: pass it by value, use it only on the actor's own
// coroutines (it is not thread-safe and not for other actors).
//
// Messages are any movable C++ type; a local send moves the object, nothing is serialized.
// Ordering: messages from one sender to one receiver arrive in the order sent, on one shard
// and across shards. Sending to a dead PID drops the message and counts it
// (RuntimeStats::messages_dropped).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "snow/core/any_message.h"
#include "snow/core/exit_reason.h"
#include "snow/core/internal/actor_cell.h"
#include "snow/core/internal/actor_parameters.h"
#include "snow/core/internal/envelope.h"
#include "snow/core/internal/exit.h"
#include "snow/core/internal/shard.h"
#include "snow/core/mailbox.h"
#include "snow/core/pid.h"
#include "snow/core/ref.h"
#include "snow/core/status.h"
#include "snow/core/task.h"

namespace snow {

class Runtime;
class Self;

// Where Spawn puts a new actor.
enum class Placement : uint8_t {
  kCallerShard,  // the spawning actor's shard (default; no cross-shard traffic)
  kShard,        // SpawnOptions::shard
  kRoundRobin,   // the next shard in turn, per spawning shard
  kLeastLoaded,  // the shard with the fewest live actors (a recent count)
};

struct SpawnOptions {
  Placement placement = Placement::kCallerShard;
  ShardId shard = 0;  // for Placement::kShard
  // At most this many messages wait in the mailbox (0: no bound, the default); what a message
  // that finds it full does (core/mailbox.h).
  uint32_t max_mailbox = 0;
  MailboxOverflow overflow = MailboxOverflow::kDropNew;
};

// What SpawnMonitor returns: the new actor and the monitor on it.
struct SpawnedMonitor {
  Pid pid;
  Ref ref;
};

enum class DemonitorOption : uint8_t {
  kNone,
  kFlush,  // also remove the monitor's Down if it is already in the mailbox
};

// A pending SendAfter, for CancelTimer.
struct TimerRef {
  ShardId shard = 0;
  uint64_t id = 0;
};

namespace core_internal {

Shard& ShardOf(Runtime& runtime, ShardId id);
ShardId ChooseShard(Shard* origin, Runtime& runtime, const SpawnOptions& options);
uint64_t ExternalSerial(Runtime& runtime);

template <typename T>
T TakeValue(Envelope* e) {
  auto* boxed = static_cast<Boxed<T>*>(e);
  T value = std::move(boxed->value);
  DestroyBoxed<T>(e);
  return value;
}

// Matches any of Ts; yields T, or std::variant<Ts...> for several. With AnyMessage among Ts it
// matches every message, and yields an AnyMessage for one of no other type named.
template <typename... Ts>
struct AnyOf {
  static_assert(sizeof...(Ts) > 0, "Receive needs at least one message type");
  static_assert((std::is_same_v<Ts, std::decay_t<Ts>> && ...),
                "receive plain value types, not references or const types");
  static constexpr bool kTakesAnything = (std::is_same_v<Ts, AnyMessage> || ...);
  using Value = std::conditional_t<sizeof...(Ts) == 1, std::tuple_element_t<0, std::tuple<Ts...>>,
                                   std::variant<Ts...>>;
  bool Matches(const Envelope* e) const {
    if constexpr (kTakesAnything) {
      return true;
    } else {
      return ((e->type == TypeOf<Ts>()) || ...);
    }
  }
  // The one type this matcher takes, when a type compare is all it does.
  static const MessageType* OnlyType() {
    if constexpr (sizeof...(Ts) == 1 && !kTakesAnything) {
      return TypeOf<std::tuple_element_t<0, std::tuple<Ts...>>>();
    } else {
      return nullptr;
    }
  }
  static Value Take(Envelope* e) {
    if constexpr (sizeof...(Ts) == 1) {
      if constexpr (kTakesAnything) {
        return AnyMessageAccess::Wrap(e);
      } else {
        return TakeValue<Value>(e);
      }
    } else {
      std::optional<Value> out;
      auto take_if = [&]<typename T>() {
        if constexpr (std::is_same_v<T, AnyMessage>) {
          return false;
        } else {
          if (e->type != TypeOf<T>()) return false;
          out.emplace(std::in_place_type<T>, TakeValue<T>(e));
          return true;
        }
      };
      (void)(take_if.template operator()<Ts>() || ...);
      if constexpr (kTakesAnything) {
        if (!out.has_value())
          out.emplace(std::in_place_type<AnyMessage>, AnyMessageAccess::Wrap(e));
      }
      return std::move(*out);
    }
  }
};

// Matches a T for which pred(const T&) is true.
template <typename T, typename Pred>
struct Where {
  static_assert(!std::is_same_v<T, AnyMessage>,
                "a receive of AnyMessage takes no predicate: receive it, then look at it");
  static_assert(std::is_invocable_r_v<bool, Pred&, const T&>,
                "the predicate must be callable as bool(const T&)");
  using Value = T;
  bool Matches(const Envelope* e) {
    return e->type == TypeOf<T>() && pred(static_cast<const Boxed<T>*>(e)->value);
  }
  static Value Take(Envelope* e) { return TakeValue<T>(e); }
  static const MessageType* OnlyType() { return nullptr; }
  Pred pred;
};

int64_t ToTimeoutNanos(absl::Duration d);

// A timed receive's deadline; an untimed receive stores none.
struct ReceiveDeadline {
  OwnedTimer timer;
  int64_t timeout_ns;
};
struct NoDeadline {};

// The awaiter behind every Receive*. Scans the mailbox once; then, while it waits, each new
// message is tested once as it arrives (Shard::Deliver), so a waiting receive never rescans.
template <typename Matcher, bool kTimed>
class [[nodiscard]] ReceiveAwaiter : private ReceiveWaiter {
 public:
  using Value = typename Matcher::Value;
  using Result = std::conditional_t<kTimed, absl::StatusOr<Value>, Value>;

  // `timeout_ns` is TimerQueue::kNever for an untimed receive.
  ReceiveAwaiter(ActorCell* cell, Matcher matcher, int64_t timeout_ns, Envelope** scan_from)
      : matcher_(std::move(matcher)) {
    this->scan_from = scan_from;
    this->cell = cell;
    if constexpr (kTimed) deadline_.timeout_ns = timeout_ns;
  }
  ReceiveAwaiter(const ReceiveAwaiter&) = delete;
  ReceiveAwaiter& operator=(const ReceiveAwaiter&) = delete;
  ~ReceiveAwaiter() {
    if (!resumed_) [[unlikely]]
      Abandon();
  }

  bool await_ready() {
    Envelope** link = scan_from != nullptr ? scan_from : &cell->mailbox_head;
    for (Envelope* e = *link; e != nullptr; link = &e->next, e = *link) {
      if (matcher_.Matches(e)) {
        cell->Unlink(link, e);
        received = e;
        return true;
      }
    }
    if constexpr (kTimed) return deadline_.timeout_ns <= 0;
    return false;
  }

  std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiter) {
    runnable.set_handle(awaiter);
    taker = &ReceiveAwaiter::Take;
    cell->Wait(this, Matcher::OnlyType());
    // The running shard is this actor's: one thread-local load, not two through the frame.
    Shard* shard = Shard::Current();
    if constexpr (kTimed) {
      int64_t timeout_ns = deadline_.timeout_ns;
      if (timeout_ns != TimerQueue::kNever) {
        deadline_.timer.owner = this;
        deadline_.timer.fire = &ReceiveAwaiter::OnTimeout;
        shard->timers().Arm(&deadline_.timer,
                            TimerQueue::DeadlineAfter(shard->NowNanos(), timeout_ns));
      }
    }
    return shard->TakeNext();
  }

  Result await_resume() {
    resumed_ = true;
    Envelope* e = std::exchange(received, nullptr);
    if constexpr (kTimed) {
      if (e == nullptr) return absl::DeadlineExceededError("receive timed out");
      // The message came first; Deliver leaves the timer to us, on our own frame.
      if (deadline_.timer.armed()) Shard::Current()->timers().Cancel(&deadline_.timer);
    }
    return Matcher::Take(e);
  }

 private:
  // The coroutine was destroyed while waiting (a kill, shutdown), or after being woken but
  // before resuming: undo what await_suspend and Deliver did.
  void Abandon() {
    cell->Withdraw(this);
    if constexpr (kTimed) {
      if (deadline_.timer.armed()) Shard::Current()->timers().Cancel(&deadline_.timer);
    }
    if (received != nullptr) Destroy(received);
  }
  static ReceiveWaiter* Take(ReceiveWaiter* w, Envelope* e) {
    return static_cast<ReceiveAwaiter*>(w)->matcher_.Matches(e) ? w : nullptr;
  }
  static void OnTimeout(TimerNode* node) {
    auto* self = static_cast<ReceiveAwaiter*>(static_cast<OwnedTimer*>(node)->owner);
    if (self->received != nullptr) return;  // woken by a message already; it wins
    self->cell->Withdraw(self);
    Shard::Current()->Schedule(&self->runnable);
  }

  [[no_unique_address]] Matcher matcher_;
  [[no_unique_address]] std::conditional_t<kTimed, ReceiveDeadline, NoDeadline> deadline_;
  bool resumed_ = false;
};

// Lets core's own helpers (services, supervisors) reach the cell behind a Self.
struct SelfAccess {
  static ActorCell* Cell(const Self& self);
};

// How a new actor is tied to the one spawning it (`parent`); set up before it first runs.
struct SpawnSetup {
  bool is_main = false;
  ActorCell* parent = nullptr;  // the spawning actor, for link / monitor
  bool link = false;
  uint64_t monitor_ref = 0;  // nonzero: the parent monitors the child under this ref
  // Instead of `parent`: a parent on another node (a remote spawn). Only the child's side of
  // the link or monitor is set up here.
  Pid remote_parent = Pid();
};

// Starts `fn(Self, args...)` as an actor; defined after Self.
template <typename Fn, typename... Args>
Pid SpawnActor(Shard* origin, Runtime& runtime, const SpawnOptions& options,
               const SpawnSetup& setup, Fn fn, Args&&... args);

}  // namespace core_internal

class Self {
 public:
  explicit Self(core_internal::ActorCell* cell) : cell_(cell) {}

  Pid pid() const { return cell_->pid; }
  ShardId shard() const { return cell_->pid.shard(); }
  Runtime& runtime() const { return home().runtime(); }
  // Messages waiting in the mailbox (not yet received).
  std::size_t mailbox_size() const { return cell_->mailbox_count; }

  // Sends `message` to `to`. Never blocks, never fails: a message to a dead or unknown PID is
  // dropped and counted. Same-shard sends are delivered at once; cross-shard sends leave in a
  // batch at the end of this shard's current round.
  template <typename T>
  void Send(Pid to, T&& message) const {
    home().Route(core_internal::Box<std::decay_t<T>>(to, std::forward<T>(message)));
  }
  // Sends to the actor registered as `name`; kNotFound when there is none.
  template <typename T>
  absl::Status SendNamed(std::string_view name, T&& message) const {
    std::optional<Pid> to = WhereIs(name);
    if (!to)
      return absl::NotFoundError(absl::StrCat("no actor registered as \"", AbslView(name), "\""));
    Send(*to, std::forward<T>(message));
    return absl::OkStatus();
  }

  // Starts `fn(Self, args...)` as a new actor and returns its PID. Arguments are decay-copied
  // into the new coroutine frame, so `fn`'s parameters must own their data: a reference,
  // string_view, span or raw pointer parameter is a compile error (std::reference_wrapper is the
  // explicit way to share what provably outlives the actor). On the caller's shard the new actor
  // runs at once, up to its first suspension (usually its first receive), before Spawn returns, as
  // a Seastar coroutine does; past 16 nested spawns it is queued instead. On another shard it first
  // runs when that shard picks it up. Either way the caller must not rely on the child having run
  // or not.
  template <typename Fn, typename... Args>
  Pid Spawn(Fn fn, Args&&... args) const {
    return core_internal::SpawnActor(&home(), runtime(), SpawnOptions{}, {}, fn,
                                     std::forward<Args>(args)...);
  }
  template <typename Fn, typename... Args>
  Pid Spawn(SpawnOptions options, Fn fn, Args&&... args) const {
    return core_internal::SpawnActor(&home(), runtime(), options, {}, fn,
                                     std::forward<Args>(args)...);
  }
  // Spawn, linked: the link exists before the new actor first runs, so no exit can slip
  // between the spawn and the link (Erlang's spawn_link).
  template <typename Fn, typename... Args>
  Pid SpawnLink(Fn fn, Args&&... args) const {
    return SpawnLink(SpawnOptions{}, fn, std::forward<Args>(args)...);
  }
  template <typename Fn, typename... Args>
  Pid SpawnLink(SpawnOptions options, Fn fn, Args&&... args) const {
    return core_internal::SpawnActor(&home(), runtime(), options, {.parent = cell_, .link = true},
                                     fn, std::forward<Args>(args)...);
  }
  // Spawn, monitored from before the new actor first runs (Erlang's spawn_monitor).
  template <typename Fn, typename... Args>
  SpawnedMonitor SpawnMonitor(Fn fn, Args&&... args) const {
    return SpawnMonitor(SpawnOptions{}, fn, std::forward<Args>(args)...);
  }
  template <typename Fn, typename... Args>
  SpawnedMonitor SpawnMonitor(SpawnOptions options, Fn fn, Args&&... args) const {
    Ref ref = MakeRef();
    Pid pid = core_internal::SpawnActor(&home(), runtime(), options,
                                        {.parent = cell_, .monitor_ref = ref.bits()}, fn,
                                        std::forward<Args>(args)...);
    return {pid, ref};
  }

  // --- Links, monitors and exit signals (docs/actors.md; reasons in core/exit_reason.h) ---

  // Links this actor and `other` both ways: when either ends abnormally, the other is killed
  // with the same reason, or, if it traps exits, receives Exit{from, reason}. Linking to a
  // dead or unknown PID sends this actor an exit signal with reason noproc. Linking twice is
  // one link. Across shards the link is set up in order with this actor's other messages.
  void Link(Pid other) const;
  // Removes the link; an exit signal of `other` already on its way is ignored from now on (an
  // Exit message already in the mailbox stays).
  void Unlink(Pid other) const;
  // While on, exit signals (except `kill`) arrive as Exit messages instead of ending this actor.
  void TrapExits(bool on = true) const;
  bool trapping_exits() const { return cell_->extras != nullptr && cell_->extras->trap_exits; }
  // The actor that spawned this one with SpawnLink (null PID otherwise).
  Pid parent() const { return cell_->extras != nullptr ? cell_->extras->parent : Pid(); }

  // Watches `target`: exactly one Down{ref, target, reason} arrives when it ends — at once with
  // noproc if it is already dead or unknown (noconnection for an unreachable node). Monitors
  // stack: each call is a separate monitor. Also marks the mailbox for ReceiveReply(ref).
  Ref Monitor(Pid target) const;
  // Drops a monitor: no Down for `ref` arrives after this returns. With kFlush, a Down that
  // already arrived is removed from the mailbox too. True if the monitor was still active.
  bool Demonitor(Ref ref, DemonitorOption option = DemonitorOption::kNone) const;

  // Sends an exit signal with `reason` to `to`, as if a linked actor had ended with it, except
  // that `kill` (KillReason()) cannot be trapped and ends `to` with reason killed. A normal
  // reason is ignored by an actor that does not trap exits. To end this actor, use Exit.
  void SendExit(Pid to, absl::Status reason) const;

  // Receives the first queued message of one of the types Ts (T, or std::variant<Ts...>),
  // waiting for one if there is none. Messages of other types stay queued, in order. Naming
  // AnyMessage (core/any_message.h) takes the first message of any type.
  // Several coroutines of one actor (TaskGroup children) may wait in receives at once: each
  // arriving message goes to the receive that has waited longest among those it matches, and
  // a timeout ends only its own receive.
  template <typename... Ts>
  auto Receive() const {
    return core_internal::ReceiveAwaiter<core_internal::AnyOf<Ts...>, false>(
        cell_, {}, core_internal::TimerQueue::kNever, nullptr);
  }
  // Receives the first queued T for which pred(const T&) is true. The predicate object lives
  // in the awaiter: capturing by value is safe.
  template <typename T, typename Pred>
  auto Receive(Pred pred) const {
    return core_internal::ReceiveAwaiter<core_internal::Where<T, Pred>, false>(
        cell_, {std::move(pred)}, core_internal::TimerQueue::kNever, nullptr);
  }
  // As Receive, but gives up after `timeout` with kDeadlineExceeded; the timer is removed as
  // soon as a message is taken. A zero timeout only looks at what is already queued.
  template <typename... Ts>
  auto ReceiveFor(absl::Duration timeout) const {
    return core_internal::ReceiveAwaiter<core_internal::AnyOf<Ts...>, true>(
        cell_, {}, core_internal::ToTimeoutNanos(timeout), nullptr);
  }
  template <typename T, typename Pred>
  auto ReceiveFor(absl::Duration timeout, Pred pred) const {
    return core_internal::ReceiveAwaiter<core_internal::Where<T, Pred>, true>(
        cell_, {std::move(pred)}, core_internal::ToTimeoutNanos(timeout), nullptr);
  }
  // Receives a reply tagged with `ref`, which must be the reference most recently made by
  // MakeRef, with `pred` true only for messages carrying `ref`. Messages queued before the ref
  // was made cannot match, so they are not scanned (Erlang's receive-marker optimisation):
  // a call stays O(1) however long the mailbox is.
  template <typename T, typename Pred>
  auto ReceiveReply(Ref ref, Pred pred, absl::Duration timeout) const {
    core_internal::Envelope** from = cell_->MarkerFor(ref.bits());
    return core_internal::ReceiveAwaiter<core_internal::Where<T, Pred>, true>(
        cell_, {std::move(pred)}, core_internal::ToTimeoutNanos(timeout), from);
  }

  // A fresh reference; also marks the mailbox's current end for ReceiveReply.
  Ref MakeRef() const;

  // Sends `message` to `to` after `delay`. Cancel with CancelTimer on this actor.
  template <typename T>
  TimerRef SendAfter(absl::Duration delay, Pid to, T&& message) const {
    core_internal::Envelope* e = core_internal::Box<std::decay_t<T>>(to, std::forward<T>(message));
    uint64_t id = home().SendAfter(core_internal::ToTimeoutNanos(delay), e);
    return TimerRef{shard(), id};
  }
  // True if the message had not been sent yet; it never will be.
  bool CancelTimer(TimerRef timer) const;

  // Registers this actor as `name` on this node until it ends or calls Unregister.
  // kAlreadyExists if the name is taken or this actor already has a name.
  absl::Status Register(std::string name) const;
  void Unregister() const;
  std::optional<Pid> WhereIs(std::string_view name) const;

  // Ends this actor now with `reason` (OK: normal). Works from nested coroutines of the actor.
  [[noreturn]] void Exit(absl::Status reason) const {
    throw core_internal::ExitRequest{std::move(reason)};
  }

 private:
  friend struct core_internal::SelfAccess;
  // The actor's shard is the one running it: one thread-local load.
  static core_internal::Shard& home() { return *core_internal::Shard::Current(); }

  core_internal::ActorCell* cell_;
};

namespace core_internal {

inline ActorCell* SelfAccess::Cell(const Self& self) { return self.cell_; }

template <typename Fn, typename... Args>
Pid SpawnActor(Shard* origin, Runtime& runtime, const SpawnOptions& options,
               const SpawnSetup& setup, Fn fn, Args&&... args) {
  static_assert(std::is_invocable_r_v<Task<absl::Status>, Fn&, Self, std::decay_t<Args>...>,
                "an actor is a function Task<absl::Status>(Self, Args...)");
  static_assert(std::is_pointer_v<Fn> || std::is_empty_v<Fn>,
                "spawn a function or a capture-less lambda: a capturing lambda's captures would "
                "dangle once the actor outlives the lambda (docs/pitfalls.md)");
  CheckActorFunction<Fn>();
  ShardId target = ChooseShard(origin, runtime, options);
  uint64_t serial = origin != nullptr ? origin->NextSerial() : ExternalSerial(runtime);
  auto* cell = new ActorCell();
  cell->pid = Pid::FromParts(0, target, serial);
  if (setup.is_main) cell->Extras().is_main = true;
  if (options.max_mailbox != 0) {
    cell->max_mailbox = options.max_mailbox;
    cell->Extras().overflow = options.overflow;
  }
  try {
    Task<absl::Status> task =
        std::invoke(fn, Self(cell), std::decay_t<Args>(std::forward<Args>(args))...);
    Shard::AttachRoot(cell, task.Release());
  } catch (...) {
    delete cell;
    throw;
  }
  Pid pid = cell->pid;
  const Pid parent = setup.parent != nullptr ? setup.parent->pid : setup.remote_parent;
  if (setup.link) {
    ActorExtras& child = cell->Extras();
    child.links.insert(parent);
    child.parent = parent;
    if (setup.parent != nullptr) setup.parent->Extras().links.insert(pid);
  }
  if (setup.monitor_ref != 0) {
    cell->Extras().monitored_by.emplace(setup.monitor_ref, parent);
    if (setup.parent != nullptr) setup.parent->Extras().monitoring.emplace(setup.monitor_ref, pid);
  }
  // The child of a remote parent waits in the run queue: the transport tells the parent about
  // it (the link, the reply) before anything the child sends.
  Shard::Launch(origin,
                origin != nullptr && origin->id() == target ? *origin : ShardOf(runtime, target),
                cell, /*queued=*/!parent.is_null() && setup.parent == nullptr);
  return pid;
}

}  // namespace core_internal
}  // namespace snow
