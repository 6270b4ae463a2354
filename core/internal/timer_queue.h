// File: core/internal/timer_queue.h
//
// TimerQueue: a shard's timers, a binary min-heap of intrusive TimerNodes ordered by deadline.
// A node records its heap index, so cancelling (a receive that got its message, an awaiter
// destroyed by a kill) is O(log n) and leaves nothing behind.
#pragma once

#include <atomic>
#include <cstdint>
#include <limits>
#include <vector>

namespace snow::core_internal {

struct TimerNode {
  static constexpr uint32_t kNotArmed = std::numeric_limits<uint32_t>::max();

  bool armed() const { return heap_index != kNotArmed; }

  // Only heap_index must be valid before the node is armed: the rest is written by whoever
  // arms it, so an awaiter that never arms its timer (an untimed receive) pays one store.
  int64_t deadline_ns;
  uint32_t heap_index = kNotArmed;
  uint64_t sequence;  // ties broken by arming order, so equal deadlines fire FIFO
  void (*fire)(TimerNode*);
};

// A TimerNode that knows the object it belongs to (an awaiter), for its fire function.
struct OwnedTimer : TimerNode {
  void* owner;
};

class TimerQueue {
 public:
  static constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
  // `delay_ns` after `now_ns`, or kNever where that would overflow.
  static constexpr int64_t DeadlineAfter(int64_t now_ns, int64_t delay_ns) {
    return delay_ns > kNever - now_ns ? kNever : now_ns + delay_ns;
  }

  void Arm(TimerNode* node, int64_t deadline_ns);
  void Cancel(TimerNode* node);
  bool empty() const { return heap_.empty(); }
  std::size_t size() const { return heap_.size(); }
  // The size, readable from any thread (for RuntimeStats).
  std::size_t published_size() const { return published_size_.load(std::memory_order_relaxed); }
  int64_t NextDeadline() const { return heap_.empty() ? kNever : heap_.front()->deadline_ns; }
  // Removes and returns the earliest node whose deadline is <= now, or nullptr.
  TimerNode* PopExpired(int64_t now_ns);

 private:
  static bool Before(const TimerNode* a, const TimerNode* b) {
    return a->deadline_ns < b->deadline_ns ||
           (a->deadline_ns == b->deadline_ns && a->sequence < b->sequence);
  }
  void SiftUp(uint32_t i);
  void SiftDown(uint32_t i);
  void Place(TimerNode* node, uint32_t i) {
    heap_[i] = node;
    node->heap_index = i;
  }
  void RemoveAt(uint32_t i);

  void Publish() { published_size_.store(heap_.size(), std::memory_order_relaxed); }

  std::vector<TimerNode*> heap_;
  uint64_t next_sequence_ = 0;
  std::atomic<std::size_t> published_size_{0};
};

}  // namespace snow::core_internal
