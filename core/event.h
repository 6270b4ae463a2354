// File: core/event.h
//
// Event: wakes the coroutine waiting for something to happen on this shard — a queue got work, a
// state changed. Notify is cheap and may be called any number of times before the waiter runs;
// they count as one. Both sides run on one shard (crossing shards takes a message).
//
//   Event work_ready;
//   // producer:  queue.push_back(item); work_ready.Notify();
//   // consumer:
//   while (queue.empty()) {
//     bool notified = co_await work_ready.Wait(absl::Seconds(1));   // false: the time ran out
//   }
//
// One waiter at a time. A waiter destroyed while it waits (its actor killed) leaves the event
// as if it had never waited; the event must outlive its waiter.
#pragma once

#include <algorithm>
#include <coroutine>
#include <cstdint>

#include "absl/time/time.h"
#include "snow/core/internal/runnable.h"
#include "snow/core/internal/shard.h"
#include "snow/core/internal/timer_queue.h"
#include "snow/core/status.h"

namespace snow {

class Event;

class [[nodiscard]] EventAwaiter {
 public:
  EventAwaiter(Event* event, absl::Duration timeout) : event_(event), timeout_(timeout) {}
  EventAwaiter(const EventAwaiter&) = delete;
  EventAwaiter& operator=(const EventAwaiter&) = delete;
  inline ~EventAwaiter();

  inline bool await_ready() noexcept;
  inline std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiter);
  // True when notified, false when the timeout ran out first.
  bool await_resume() const noexcept { return notified_; }

 private:
  friend class Event;
  // The event was notified, or the timer fired: resume the waiter.
  void Wake(bool notified) {
    notified_ = notified;
    waiting_ = false;
    if (timer_.armed()) shard_->timers().Cancel(&timer_);
    shard_->Schedule(&runnable_);
  }

  Event* event_;
  absl::Duration timeout_;
  bool notified_ = false;
  bool waiting_ = false;
  core_internal::Shard* shard_ = nullptr;
  core_internal::OwnedTimer timer_;
  core_internal::Runnable runnable_;
};

class Event {
 public:
  Event() = default;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  ~Event() { SNOW_CHECK(waiter_ == nullptr, "an Event was destroyed while a coroutine waited"); }

  // Wakes the waiter, or makes the next Wait return at once.
  void Notify() {
    if (waiter_ != nullptr) {
      EventAwaiter* w = waiter_;
      waiter_ = nullptr;
      w->Wake(/*notified=*/true);
    } else {
      pending_ = true;
    }
  }
  // Resumes when notified (true), at once if Notify ran since the last Wait, or after
  // `timeout` (false).
  EventAwaiter Wait(absl::Duration timeout = absl::InfiniteDuration()) {
    return EventAwaiter(this, timeout);
  }

 private:
  friend class EventAwaiter;
  bool pending_ = false;
  EventAwaiter* waiter_ = nullptr;
};

EventAwaiter::~EventAwaiter() {
  if (!waiting_) return;
  if (event_->waiter_ == this) event_->waiter_ = nullptr;
  if (timer_.armed()) shard_->timers().Cancel(&timer_);
}

bool EventAwaiter::await_ready() noexcept {
  if (event_->pending_) {
    event_->pending_ = false;
    notified_ = true;
    return true;
  }
  return false;
}

std::coroutine_handle<> EventAwaiter::await_suspend(std::coroutine_handle<> awaiter) {
  SNOW_CHECK(event_->waiter_ == nullptr, "two coroutines wait on one Event");
  shard_ = core_internal::Shard::Current();
  runnable_.set_handle(awaiter);
  event_->waiter_ = this;
  waiting_ = true;
  if (timeout_ != absl::InfiniteDuration()) {
    timer_.owner = this;
    timer_.fire = [](core_internal::TimerNode* node) {
      auto* self = static_cast<EventAwaiter*>(static_cast<core_internal::OwnedTimer*>(node)->owner);
      if (self->event_->waiter_ == self) self->event_->waiter_ = nullptr;
      self->Wake(/*notified=*/false);
    };
    const int64_t nanos = std::max<int64_t>(absl::ToInt64Nanoseconds(timeout_), 0);
    shard_->timers().Arm(&timer_,
                         core_internal::TimerQueue::DeadlineAfter(shard_->NowNanos(), nanos));
  }
  return shard_->TakeNext();
}

}  // namespace snow
