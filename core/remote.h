// File: core/remote.h
//
// The seam between the runtime and a transport that carries messages to other nodes (dist/ is
// the one Snow ships). The runtime hands the transport every message or signal addressed to a PID
// of another node, on the sending shard's thread and in the order sent; the transport encodes it
// with the codec it attached to the message's type, carries the bytes, and on the other side
// rebuilds an envelope and delivers it with the guarantees of a local send.
//
//   class Carrier final : public snow::Transport {
//     void Route(snow::RemoteEnvelope e) override {
//       const Codec* codec = static_cast<const Codec*>(e.codec());   // RemoteCodecSlot<T>
//       if (!e.is_signal() && codec == nullptr) {
//         snow::remote::Undeliverable(std::move(e), absl::UnavailableError("not registered"));
//         return;
//       }
//       Queue(std::move(e));                       // encoded later, on this shard
//     }
//     std::string PidText(snow::Pid pid) const override;
//     std::string NodeName(snow::Pid pid) const override;
//   };
//   runtime.SetTransport(std::make_unique<Carrier>());
//
//   // On the receiving side, on a shard's thread:
//   snow::RemoteEnvelope e = snow::RemoteEnvelope::Emplace<Ping>(to);
//   DecodeInto(bytes, e.mutable_value<Ping>());
//   snow::remote::Deliver(std::move(e));
//
// Everything here runs on a shard's thread, except Transport::PidText and RemoteCodecSlot.
#pragma once

#include <atomic>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "snow/core/actor.h"
#include "snow/core/internal/envelope.h"
#include "snow/core/internal/shard.h"
#include "snow/core/internal/signal.h"
#include "snow/core/pid.h"
#include "snow/core/signal_kind.h"

namespace snow {

// One message or signal crossing the runtime's edge, owned: destroyed with the handle unless
// passed on. A message keeps its C++ value (nothing is encoded until the transport does it).
class RemoteEnvelope {
 public:
  RemoteEnvelope() = default;
  RemoteEnvelope(RemoteEnvelope&& other) noexcept : e_(std::exchange(other.e_, nullptr)) {}
  RemoteEnvelope& operator=(RemoteEnvelope&& other) noexcept {
    if (this != &other) {
      Reset();
      e_ = std::exchange(other.e_, nullptr);
    }
    return *this;
  }
  ~RemoteEnvelope() { Reset(); }

  // A message holding `value`, for `to`.
  template <class T>
  static RemoteEnvelope Message(Pid to, T value) {
    return RemoteEnvelope(core_internal::Box<T>(to, std::move(value)));
  }
  // A message holding a default-constructed T, to be filled in place (decoding straight into
  // the value the receiver will get) through mutable_value<T>().
  template <class T>
  static RemoteEnvelope Emplace(Pid to) {
    core_internal::Envelope* e = core_internal::Box<T>(to);
    e->type = core_internal::ArrivalType<T>::Get();
    return RemoteEnvelope(e);
  }
  // A signal from `from` to `to` (an actor of this node, when it arrived from another node).
  static RemoteEnvelope Signal(Pid to, SignalKind kind, Pid from, uint64_t ref,
                               absl::Status reason) {
    return RemoteEnvelope(core_internal::MakeSignal(to, kind, from, ref, std::move(reason)));
  }

  explicit operator bool() const { return e_ != nullptr; }
  Pid to() const { return e_->to; }
  bool is_signal() const { return core_internal::IsSignal(e_); }

  // --- A message ---
  // The codec the transport attached to the message's type (RemoteCodecSlot), or nullptr.
  const void* codec() const { return e_->type->remote.load(std::memory_order_acquire); }
  // The value; T must be the type the message was sent as (the codec attached to that type
  // knows it).
  template <class T>
  const T& value() const {
    return static_cast<const core_internal::Boxed<T>*>(e_)->value;
  }
  template <class T>
  T& mutable_value() {
    return static_cast<core_internal::Boxed<T>*>(e_)->value;
  }
  // The C++ type's name, for logs ("snow::Request<Get>").
  const char* type_name() const { return e_->type->name(); }

  // --- A signal ---
  SignalKind signal_kind() const { return AsSignal().kind; }
  Pid from() const { return AsSignal().from; }
  uint64_t ref() const { return AsSignal().ref; }
  const absl::Status& reason() const { return AsSignal().reason; }

 private:
  friend struct RemoteEnvelopeAccess;
  explicit RemoteEnvelope(core_internal::Envelope* e) : e_(e) {}
  const core_internal::Signal& AsSignal() const {
    return *static_cast<const core_internal::Signal*>(e_);
  }
  void Reset() {
    if (e_ != nullptr) core_internal::Destroy(std::exchange(e_, nullptr));
  }
  core_internal::Envelope* Release() { return std::exchange(e_, nullptr); }

  core_internal::Envelope* e_ = nullptr;
};

// What a transport installs (Runtime::SetTransport) to carry envelopes addressed to PIDs of other
// nodes. The runtime owns it and destroys it after every shard has stopped.
class Transport {
 public:
  virtual ~Transport() = default;
  // On the sending shard's thread, in send order: takes `e`, whose e.to() is a PID of another
  // node. Carries it, moves it to another shard (remote::Forward), or answers for it
  // (remote::Undeliverable).
  virtual void Route(RemoteEnvelope e) = 0;
  // Any thread: the text of `pid` with its node's name, for logs ("<a@host:4370.0.6>").
  virtual std::string PidText(Pid pid) const = 0;
  // Any thread: the name of the node `pid` lives on (this node's for a local PID), "" if
  // unknown.
  virtual std::string NodeName(Pid pid) const = 0;
};

// The slot of message type T where a transport keeps its codec for T (RemoteEnvelope::codec).
// Any thread; set it once, with release order, before T is first sent to another node.
template <class T>
std::atomic<const void*>& RemoteCodecSlot() {
  return core_internal::ArrivalType<T>::Get()->remote;
}

struct RemoteEnvelopeAccess {
  static core_internal::Envelope* Release(RemoteEnvelope& e) { return e.Release(); }
  static RemoteEnvelope Adopt(core_internal::Envelope* e) { return RemoteEnvelope(e); }
};

// What a transport does on the shard it runs on. Each must be called on a shard's thread.
namespace remote {

inline core_internal::Shard& CurrentShard() { return *core_internal::Shard::Current(); }

// The shard whose thread this is.
inline ShardId ThisShard() { return CurrentShard().id(); }

// Delivers `e`, addressed to an actor of this node (on any shard), as a send from this shard:
// after what this shard already sent to that actor. A message to a dead actor is dropped and
// counted; a signal takes effect as a local one (a link to a dead actor exits at once...); a
// call's reply reaches its caller only while the caller still waits for it.
inline void Deliver(RemoteEnvelope e) {
  core_internal::Envelope* raw = RemoteEnvelopeAccess::Release(e);
  if (raw->type->run != nullptr) {
    CurrentShard().RouteSignal(raw);
  } else {
    CurrentShard().Route(raw);
  }
}

// Moves `e` (addressed to another node) to shard `target`, behind what this shard already sent
// there; the transport's Route takes it again on that shard.
inline void Forward(RemoteEnvelope e, ShardId target) {
  CurrentShard().Forward(RemoteEnvelopeAccess::Release(e), target);
}

// `e` cannot reach its target. A signal answers as if the target had ended with `reason` (a
// link exits its sender, a monitor gets Down); a message is dropped and counted.
inline void Undeliverable(RemoteEnvelope e, const absl::Status& reason) {
  CurrentShard().Undeliverable(RemoteEnvelopeAccess::Release(e), reason);
}

// A reference unique in this runtime (a monitor's ref).
inline uint64_t NewRef() { return CurrentShard().NextRef(); }

// Records that `watcher`, a live actor of this shard, monitors `target` under `ref`, without
// sending anything: the transport sets the monitor up on the other side itself (a call by name,
// which the peer resolves and monitors in one step). Its Down and Demonitor then work as for
// Self::Monitor. False if `watcher` is not a live actor of this shard.
bool NoteMonitor(Pid watcher, Pid target, uint64_t ref);
// The monitor `watcher` (a live actor of this shard) holds under `ref`, noted with a stand-in
// target, is of `target` (a remote spawn learns the child's PID after noting its monitor). False
// if the watcher holds no such monitor (its Down came first).
bool RetargetMonitor(Pid watcher, Pid target, uint64_t ref);

// Spawns `fn(Self, args...)` on this shard for `parent`, an actor of another node that asked for
// it, linked to it (`link`) and/or monitored by it under `monitor_ref` (nonzero) before the child
// first runs. Only the child's side is set up; the transport answers for the parent's. The same
// compile-time checks as Self::Spawn.
template <class Fn, class... Args>
Pid SpawnFor(Pid parent, bool link, uint64_t monitor_ref, Fn fn, Args&&... args) {
  core_internal::Shard& shard = CurrentShard();
  return core_internal::SpawnActor(
      &shard, shard.runtime(), SpawnOptions{},
      core_internal::SpawnSetup{.link = link, .monitor_ref = monitor_ref, .remote_parent = parent},
      fn, std::forward<Args>(args)...);
}

// The shard's clock, in nanoseconds (virtual under Clock::kVirtual).
inline int64_t NowNanos() { return CurrentShard().NowNanos(); }

}  // namespace remote
}  // namespace snow
