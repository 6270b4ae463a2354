// File: core/time.h
//
// Sleep, Yield and MaybeYield for any coroutine running on a shard.
//
//   co_await Sleep(absl::Milliseconds(10));    // resumes on the same shard after ~10 ms
//   for (auto& item : huge) { Work(item); co_await MaybeYield(); }  // lets others run now and then
//
// Cancellation: destroying the awaiting coroutine (a kill) removes its timer or run-queue entry.
// Under a runtime with a virtual clock (tests), time jumps to the next timer when every actor is
// blocked, so Sleep(1h) returns at once in wall time and exactly on time in virtual time.
#pragma once

#include <coroutine>
#include <cstdint>

#include "absl/time/time.h"
#include "snow/core/internal/runnable.h"
#include "snow/core/internal/shard.h"
#include "snow/core/internal/timer_queue.h"

namespace snow {

class [[nodiscard]] SleepAwaiter {
 public:
  explicit SleepAwaiter(absl::Duration duration)
      : nanos_(duration == absl::InfiniteDuration() ? core_internal::TimerQueue::kNever
                                                    : absl::ToInt64Nanoseconds(duration)) {}
  SleepAwaiter(const SleepAwaiter&) = delete;
  SleepAwaiter& operator=(const SleepAwaiter&) = delete;
  ~SleepAwaiter() {
    if (timer_.armed()) shard_->timers().Cancel(&timer_);
  }

  bool await_ready() const noexcept { return nanos_ <= 0; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiter) {
    shard_ = core_internal::Shard::Current();
    runnable_.set_handle(awaiter);
    timer_.owner = this;
    timer_.fire = [](core_internal::TimerNode* node) {
      auto* self = static_cast<SleepAwaiter*>(static_cast<core_internal::OwnedTimer*>(node)->owner);
      self->shard_->Schedule(&self->runnable_);
    };
    shard_->timers().Arm(&timer_,
                         core_internal::TimerQueue::DeadlineAfter(shard_->NowNanos(), nanos_));
    return shard_->TakeNext();
  }
  void await_resume() const noexcept {}

 private:
  int64_t nanos_;
  core_internal::Shard* shard_ = nullptr;
  core_internal::OwnedTimer timer_;
  core_internal::Runnable runnable_;
};

inline SleepAwaiter Sleep(absl::Duration duration) { return SleepAwaiter(duration); }

// This shard's monotonic clock, since an arbitrary epoch (the virtual clock in tests).
inline absl::Duration MonotonicNow() {
  return absl::Nanoseconds(core_internal::Shard::Current()->NowNanos());
}

class [[nodiscard]] YieldAwaiter {
 public:
  explicit YieldAwaiter(bool always) : always_(always) {}
  bool await_ready() const noexcept {
    return !always_ && !core_internal::Shard::Current()->ShouldYield();
  }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiter) {
    runnable_.set_handle(awaiter);
    core_internal::Shard* shard = core_internal::Shard::Current();
    shard->Schedule(&runnable_);
    return shard->TakeNext();
  }
  void await_resume() const noexcept {}

 private:
  bool always_;
  core_internal::Runnable runnable_;
};

// Lets every other ready coroutine on this shard run, then resumes.
inline YieldAwaiter Yield() { return YieldAwaiter(/*always=*/true); }
// Yields one call in 64: cheap enough for every iteration of a long loop.
inline YieldAwaiter MaybeYield() { return YieldAwaiter(/*always=*/false); }

}  // namespace snow
