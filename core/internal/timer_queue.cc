#include "snow/core/internal/timer_queue.h"

namespace snow::core_internal {

void TimerQueue::Arm(TimerNode* node, int64_t deadline_ns) {
  if (node->armed()) RemoveAt(node->heap_index);
  node->deadline_ns = deadline_ns;
  node->sequence = next_sequence_++;
  heap_.push_back(node);
  node->heap_index = static_cast<uint32_t>(heap_.size() - 1);
  SiftUp(node->heap_index);
  Publish();
}

void TimerQueue::Cancel(TimerNode* node) {
  if (node->armed()) RemoveAt(node->heap_index);
}

TimerNode* TimerQueue::PopExpired(int64_t now_ns) {
  if (heap_.empty() || heap_.front()->deadline_ns > now_ns) return nullptr;
  TimerNode* node = heap_.front();
  RemoveAt(0);
  return node;
}

void TimerQueue::RemoveAt(uint32_t i) {
  TimerNode* removed = heap_[i];
  TimerNode* last = heap_.back();
  heap_.pop_back();
  removed->heap_index = TimerNode::kNotArmed;
  Publish();
  if (removed == last) return;
  Place(last, i);
  SiftUp(i);
  SiftDown(last->heap_index);
}

void TimerQueue::SiftUp(uint32_t i) {
  TimerNode* node = heap_[i];
  while (i > 0) {
    uint32_t parent = (i - 1) / 2;
    if (!Before(node, heap_[parent])) break;
    Place(heap_[parent], i);
    i = parent;
  }
  Place(node, i);
}

void TimerQueue::SiftDown(uint32_t i) {
  TimerNode* node = heap_[i];
  const uint32_t n = static_cast<uint32_t>(heap_.size());
  for (;;) {
    uint32_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && Before(heap_[child + 1], heap_[child])) ++child;
    if (!Before(heap_[child], node)) break;
    Place(heap_[child], i);
    i = child;
  }
  Place(node, i);
}

}  // namespace snow::core_internal
