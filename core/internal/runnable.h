// File: core/internal/runnable.h
//
// Runnable: the intrusive node by which a suspended coroutine waits in its shard's run queue.
// It lives inside the awaiter (and so inside the suspended coroutine frame), which makes every
// wake-up allocation-free, and its destructor unlinks it, which makes destroying a frame that
// is queued to run (an actor killed after being woken) safe.
#pragma once

#include <coroutine>

namespace snow::core_internal {

struct Runnable {
  Runnable() = default;
  Runnable(const Runnable&) = delete;
  Runnable& operator=(const Runnable&) = delete;
  ~Runnable() { Unlink(); }

  bool queued() const { return next != nullptr; }
  void Unlink() {
    if (next != nullptr) {
      prev->next = next;
      next->prev = prev;
      next = prev = nullptr;
    }
  }

  Runnable* prev = nullptr;
  Runnable* next = nullptr;
  std::coroutine_handle<> handle;
};

// A FIFO of Runnables: a circular doubly-linked list around a sentinel.
class RunQueue {
 public:
  RunQueue() { head_.prev = head_.next = &head_; }
  RunQueue(const RunQueue&) = delete;
  RunQueue& operator=(const RunQueue&) = delete;
  ~RunQueue() {
    while (!empty()) head_.next->Unlink();
    head_.prev = head_.next = nullptr;
  }

  bool empty() const { return head_.next == &head_; }

  void PushBack(Runnable* r) {
    r->prev = head_.prev;
    r->next = &head_;
    head_.prev->next = r;
    head_.prev = r;
  }

  Runnable* PopFront() {
    Runnable* r = head_.next;
    r->Unlink();
    return r;
  }

 private:
  Runnable head_;
};

}  // namespace snow::core_internal
