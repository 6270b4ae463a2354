// File: core/internal/envelope.h
//
// Envelope: how a message (or a control item for a shard) travels. A local send moves the C++
// object into a pooled Boxed<T> and links it into the receiver's mailbox; nothing is
// serialized. The same node also rides the cross-shard inbox (Inbox, below), so a message
// crosses shards without another allocation.
#pragma once

#include <atomic>
#include <cstddef>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "absl/status/status.h"
#include "snow/core/internal/pool.h"
#include "snow/core/pid.h"

namespace snow::core_internal {

class Shard;
struct Envelope;

// One per message type (and per control-item kind), identified by address.
struct MessageType {
  // Destroys the value and frees the node.
  void (*destroy)(Envelope*) noexcept;
  // For control items only: runs the item on the shard it was posted to (and frees it).
  void (*run)(Envelope*, Shard&);
  const char* (*name)();  // for diagnostics
  // For control items only: `e` could not reach its target (a PID of a node that is not
  // connected, or of a shard that does not exist); `reason` says which. Frees `e`. Messages
  // (nullptr here) are dropped and counted instead.
  void (*undeliverable)(Envelope* e, Shard& shard, const absl::Status& reason) = nullptr;
  // For messages only: how the type crosses to another node, set once by dist/ when the type is
  // registered for remote sends (nullptr: it cannot). Core never looks inside.
  mutable std::atomic<const void*> remote{nullptr};
};

struct Envelope {
  Envelope* next = nullptr;
  const MessageType* type = nullptr;
  Pid to;
};

template <typename T>
struct Boxed final : Envelope {
  template <typename... A>
  explicit Boxed(A&&... a) : value(std::forward<A>(a)...) {}
  T value;
};

template <typename T>
void DestroyBoxed(Envelope* e) noexcept {
  auto* b = static_cast<Boxed<T>*>(e);
  b->~Boxed<T>();
  PoolFree(b, sizeof(Boxed<T>));
}

// The demangled name of `type` ("snow::Request<Get>"), kept for the life of the process.
const char* DemangledName(const std::type_info& type);

// For diagnostics; computed once per type.
template <typename T>
const char* TypeName() {
  static const char* const name = DemangledName(typeid(T));
  return name;
}

template <typename T>
inline constinit MessageType kMessageTypeOf = {&DestroyBoxed<T>, nullptr, &TypeName<T>, nullptr};

template <typename T>
const MessageType* TypeOf() {
  return &kMessageTypeOf<T>;
}

// The MessageType a value of T arrives from another node as: TypeOf<T>(), except for the kinds of
// message that are control items on arrival (a call's reply, core/service.h), which specialise
// this where T is defined.
template <typename T>
struct ArrivalType {
  static const MessageType* Get() { return TypeOf<T>(); }
};

template <typename T, typename... A>
Boxed<T>* Box(Pid to, A&&... a) {
  static_assert(alignof(T) <= alignof(std::max_align_t),
                "over-aligned message types are not supported; wrap the value in a unique_ptr");
  static_assert(!std::is_reference_v<T> && !std::is_const_v<T>, "messages are plain values");
  auto* b = new (PoolAllocate(sizeof(Boxed<T>))) Boxed<T>(std::forward<A>(a)...);
  b->type = TypeOf<T>();
  b->to = to;
  return b;
}

inline void Destroy(Envelope* e) noexcept { e->type->destroy(e); }

// A singly linked chain of envelopes (an outbox batch, a drained mailbox).
struct EnvelopeChain {
  Envelope* first = nullptr;
  Envelope* last = nullptr;
  std::size_t count = 0;

  void Append(Envelope* e) {
    e->next = nullptr;
    if (last == nullptr) {
      first = e;
    } else {
      last->next = e;
    }
    last = e;
    ++count;
  }
  bool empty() const { return first == nullptr; }
};

// Inbox: the intrusive multi-producer single-consumer queue into a shard (D. Vyukov's design).
// Producers push whole chains with one atomic exchange, so a batch of messages from one shard
// costs one RMW and keeps its order; the consumer is the owning shard's thread.
class Inbox {
 public:
  Inbox() { tail_.store(&sentinel_, std::memory_order_relaxed); }
  Inbox(const Inbox&) = delete;
  Inbox& operator=(const Inbox&) = delete;

  // Any thread. `chain` is linked through `next` and ends with nullptr.
  void Push(Envelope* first, Envelope* last) {
    last->next = nullptr;
    // seq_cst: pairs with the consumer's check of `tail_` after it announces it is sleeping.
    Envelope* prev = tail_.exchange(last, std::memory_order_seq_cst);
    std::atomic_ref<Envelope*>(prev->next).store(first, std::memory_order_release);
  }

  // Consumer only. Returns nullptr when empty, or when a producer is between its exchange and
  // its link; that producer wakes the consumer after linking.
  Envelope* Pop() {
    Envelope* head = head_;
    Envelope* next = Next(head);
    if (head == &sentinel_) {
      if (next == nullptr) return nullptr;
      head_ = head = next;
      next = Next(head);
    }
    if (next != nullptr) {
      head_ = next;
      return head;
    }
    if (tail_.load(std::memory_order_acquire) != head) return nullptr;
    Push(&sentinel_, &sentinel_);
    next = Next(head);
    if (next != nullptr) {
      head_ = next;
      return head;
    }
    return nullptr;
  }

  // Consumer only: true when nothing was pushed that Pop has not returned.
  bool Empty() const {
    return head_ == &sentinel_ && tail_.load(std::memory_order_seq_cst) == &sentinel_;
  }

 private:
  static Envelope* Next(Envelope* e) {
    return std::atomic_ref<Envelope*>(e->next).load(std::memory_order_acquire);
  }

  alignas(64) std::atomic<Envelope*> tail_;
  alignas(64) Envelope* head_ = &sentinel_;
  Envelope sentinel_;
};

}  // namespace snow::core_internal
