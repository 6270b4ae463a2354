// File: core/internal/runnable.h
//
// Runnable: how a suspended coroutine waits in its shard's run queue. It lives inside the
// awaiter (and so inside the suspended coroutine frame), which makes every wake-up
// allocation-free. If the frame is destroyed while queued (an actor killed after being woken,
// or runtime shutdown), the destructor takes it out of the queue.
#pragma once

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace snow::core_internal {

class RunQueue;

// 8 bytes: the coroutine's frame address, with the low bit set while it is queued (frames are
// at least 16-byte aligned). A queued Runnable is always in the run queue of the thread it is on.
class Runnable {
 public:
  Runnable() = default;
  Runnable(const Runnable&) = delete;
  Runnable& operator=(const Runnable&) = delete;
  inline ~Runnable();

  std::coroutine_handle<> handle() const {
    return std::coroutine_handle<>::from_address(reinterpret_cast<void*>(bits_ & ~kQueued));
  }
  // Not while queued: that would drop the queued bit and leave a dangling queue entry.
  void set_handle(std::coroutine_handle<> h) { bits_ = reinterpret_cast<uintptr_t>(h.address()); }
  bool queued() const { return (bits_ & kQueued) != 0; }

 private:
  friend class RunQueue;
  static constexpr uintptr_t kQueued = 1;
  uintptr_t bits_ = 0;
};

// A FIFO of Runnables: a front slot, then a growable ring. The front slot holds the oldest entry
// when it was pushed onto an empty queue, which is the common case of one actor waking the next
// (ping-pong, a chain of replies): push and pop then touch one pointer and no ring. Removing an
// entry from the middle (only when its frame is destroyed: a kill or shutdown) scans the ring
// and leaves a hole that PopFront skips.
class RunQueue {
 public:
  RunQueue()
      : slots_(std::make_unique<Runnable*[]>(kInitialCapacity)), mask_(kInitialCapacity - 1) {}
  RunQueue(const RunQueue&) = delete;
  RunQueue& operator=(const RunQueue&) = delete;
  ~RunQueue() {
    while (!empty()) PopFront();
  }

  bool empty() const { return front_ == nullptr && ring_live_ == 0; }

  // The queue of the calling thread's shard, set by the shard on its thread.
  static RunQueue* Current() { return current_; }
  void MakeCurrent() { current_ = this; }

  void PushBack(Runnable* r) {
    r->bits_ |= Runnable::kQueued;
    if (front_ == nullptr && ring_live_ == 0) [[likely]] {
      front_ = r;
      return;
    }
    if (tail_ - head_ > mask_) [[unlikely]]
      Grow();
    slots_[tail_++ & mask_] = r;
    ++ring_live_;
  }

  // Requires !empty().
  Runnable* PopFront() {
    Runnable* r = front_;
    if (r != nullptr) [[likely]] {
      front_ = nullptr;
    } else {
      do {
        r = slots_[head_++ & mask_];
      } while (r == nullptr);
      --ring_live_;
    }
    r->bits_ &= ~Runnable::kQueued;
    return r;
  }

  void Remove(Runnable* r) {
    r->bits_ &= ~Runnable::kQueued;
    if (front_ == r) {
      front_ = nullptr;
      return;
    }
    for (uint64_t i = head_; i != tail_; ++i) {
      if (slots_[i & mask_] == r) {
        slots_[i & mask_] = nullptr;
        --ring_live_;
        return;
      }
    }
  }

 private:
  static constexpr std::size_t kInitialCapacity = 1024;

  // Out of line and cold: PushBack sits on every wake-up and must stay small enough to inline.
  [[gnu::noinline, gnu::cold]] void Grow() {
    std::size_t capacity = mask_ + 1;
    auto bigger = std::make_unique<Runnable*[]>(capacity * 2);
    std::size_t n = 0;
    for (uint64_t i = head_; i != tail_; ++i) bigger[n++] = slots_[i & mask_];
    slots_ = std::move(bigger);
    mask_ = capacity * 2 - 1;
    head_ = 0;
    tail_ = n;
  }

  Runnable* front_ = nullptr;  // older than everything in the ring
  std::unique_ptr<Runnable*[]> slots_;
  std::size_t mask_;
  uint64_t head_ = 0;
  uint64_t tail_ = 0;
  std::size_t ring_live_ = 0;

  static inline constinit thread_local RunQueue* current_ = nullptr;
};

Runnable::~Runnable() {
  if (queued()) RunQueue::Current()->Remove(this);
}

}  // namespace snow::core_internal
