// File: core/task.h
//
// Task<T>: Snow's coroutine type. A Task is lazy (nothing runs until it is awaited), move-only,
// awaited at most once, and resumes its awaiter by symmetric transfer, so a chain of awaits
// costs no stack. An exception escaping the coroutine is rethrown in the awaiter; at the root of
// an actor it becomes the actor's crash reason.
//
//   Task<int> Answer() { co_return 42; }
//   Task<absl::Status> Actor(Self self) {
//     int n = co_await Answer();
//     co_return absl::OkStatus();
//   }
//
// Coroutine frames come from the per-thread pool (core/internal/pool.h).
// Coroutine parameters must be values or owning handles, never references or views
// (docs/coroutines.md): the frame may outlive the caller's objects.
#pragma once

#include <coroutine>
#include <cstdint>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include "snow/core/internal/pool.h"

namespace snow {

template <typename T = void>
class Task;

namespace core_internal {

// A task with no awaiter is a root: an actor's body or a TaskGroup child. Its promise keeps
// its kind in the low bits of its context pointer (contexts are at least 4-byte aligned), not a
// second pointer to a hook: every actor frame is 8 bytes smaller.
enum class RootKind : uintptr_t { kActor = 1, kTaskGroupChild = 2 };
inline constexpr uintptr_t kRootKindMask = 3;
// What a root does when it finishes, by kind: ends the actor whose cell is `context`
// (core/internal/shard.cc), or reports to the TaskGroup (core/task_group.cc). Both destroy the
// finished coroutine.
void ActorRootDone(void* cell, std::coroutine_handle<> finished);
void TaskGroupChildDone(void* child, std::coroutine_handle<> finished);

class PromiseBase {
 public:
  static void* operator new(std::size_t size) { return PoolAllocate(size); }
  static void operator delete(void* p, std::size_t size) noexcept { PoolFree(p, size); }

  std::suspend_always initial_suspend() noexcept { return {}; }

  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    template <typename Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> self) noexcept {
      uintptr_t link = self.promise().link_;
      uintptr_t kind = link & kRootKindMask;
      if (kind == 0) [[likely]] {
        if (link != 0) return std::coroutine_handle<>::from_address(reinterpret_cast<void*>(link));
        return std::noop_coroutine();
      }
      void* context = reinterpret_cast<void*>(link & ~kRootKindMask);
      if (kind == static_cast<uintptr_t>(RootKind::kActor)) {
        ActorRootDone(context, self);
      } else {
        TaskGroupChildDone(context, self);
      }
      return std::noop_coroutine();
    }
    void await_resume() noexcept {}
  };
  FinalAwaiter final_suspend() noexcept { return {}; }

  void unhandled_exception() noexcept { exception_ = std::current_exception(); }

  void set_continuation(std::coroutine_handle<> c) {
    link_ = reinterpret_cast<uintptr_t>(c.address());
  }
  void set_root(RootKind kind, void* context) {
    link_ = reinterpret_cast<uintptr_t>(context) | static_cast<uintptr_t>(kind);
  }
  const std::exception_ptr& exception() const { return exception_; }
  void RethrowIfFailed() {
    if (exception_) std::rethrow_exception(exception_);
  }

 private:
  // An awaited task resumes its awaiter (`link_`, a frame address) when it ends; a root has no
  // awaiter and calls its kind's *Done function with its context instead. One slot serves both.
  uintptr_t link_ = 0;
  std::exception_ptr exception_;
};

// A task's result until its awaiter takes it. A default-constructible T is held as it is, not
// in a std::optional, which saves the flag and its padding: an actor's absl::Status is 8 bytes,
// not 16.
template <typename T>
class ResultSlot {
 public:
  template <typename U>
  void Set(U&& value) noexcept(std::is_nothrow_assignable_v<T&, U&&>) {
    value_ = std::forward<U>(value);
  }
  T Take() { return std::move(value_); }

 private:
  T value_{};
};
template <typename T>
requires(!std::is_default_constructible_v<T>) class ResultSlot<T> {
 public:
  template <typename U>
  void Set(U&& value) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    value_.emplace(std::forward<U>(value));
  }
  T Take() { return std::move(*value_); }

 private:
  std::optional<T> value_;
};

template <typename T>
class Promise final : public PromiseBase {
 public:
  Task<T> get_return_object() noexcept;
  template <typename U>
  requires std::is_convertible_v<U&&, T>
  void return_value(U&& value) noexcept(
      noexcept(std::declval<ResultSlot<T>&>().Set(std::declval<U&&>()))) {
    value_.Set(std::forward<U>(value));
  }
  T TakeResult() {
    RethrowIfFailed();
    return value_.Take();
  }

 private:
  ResultSlot<T> value_;
};

template <>
class Promise<void> final : public PromiseBase {
 public:
  Task<void> get_return_object() noexcept;
  void return_void() noexcept {}
  void TakeResult() { RethrowIfFailed(); }
};

}  // namespace core_internal

template <typename T>
class [[nodiscard]] Task {
 public:
  using promise_type = core_internal::Promise<T>;
  using Handle = std::coroutine_handle<promise_type>;

  Task() = default;
  explicit Task(Handle h) : handle_(h) {}
  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      Reset();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() { Reset(); }

  bool valid() const { return static_cast<bool>(handle_); }

  auto operator co_await() && noexcept {
    struct Awaiter {
      Handle handle;
      bool await_ready() noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiter) noexcept {
        handle.promise().set_continuation(awaiter);
        return handle;
      }
      T await_resume() { return handle.promise().TakeResult(); }
    };
    return Awaiter{handle_};
  }

  // For the runtime: hands over ownership of the coroutine frame.
  Handle Release() { return std::exchange(handle_, {}); }

 private:
  void Reset() {
    if (handle_) std::exchange(handle_, {}).destroy();
  }

  Handle handle_;
};

namespace core_internal {
template <typename T>
Task<T> Promise<T>::get_return_object() noexcept {
  return Task<T>(std::coroutine_handle<Promise<T>>::from_promise(*this));
}
inline Task<void> Promise<void>::get_return_object() noexcept {
  return Task<void>(std::coroutine_handle<Promise<void>>::from_promise(*this));
}
}  // namespace core_internal

}  // namespace snow
