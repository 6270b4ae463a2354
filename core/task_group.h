// File: core/task_group.h
//
// TaskGroup: runs several coroutines of one actor concurrently on its shard, and waits for all
// of them. Nothing in Snow is fire-and-forget: children never outlive their group. Join before
// the group goes out of scope; a group destroyed with children still running (its owner
// returned early, threw, called Self::Exit or was killed) cancels them: each is destroyed at
// its suspension point, as on a kill, and the owner ends with its own reason.
//
//   Task<absl::Status> Fetch(Pid server, int key);
//   Task<absl::Status> Actor(Self self) {
//     TaskGroup group;
//     for (int key = 0; key < 10; ++key) group.Start(Fetch(server, key));
//     absl::Status first_error = co_await group.Join();   // OK, or the first child's error
//     ...
//   }
//
// Shard affinity: Start and Join on the shard that owns the group; children run there.
// Children start when the starting coroutine next suspends. Join returns the first non-OK
// status a child returned (all children still run to the end), or rethrows the first exception
// a child threw.
#pragma once

#include <coroutine>
#include <exception>
#include <utility>

#include "absl/status/status.h"
#include "snow/core/internal/runnable.h"
#include "snow/core/internal/shard.h"
#include "snow/core/task.h"

namespace snow {

class TaskGroup {
 public:
  TaskGroup() = default;
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;
  ~TaskGroup();

  void Start(Task<absl::Status> task);
  std::size_t running() const { return running_; }

  class [[nodiscard]] JoinAwaiter {
   public:
    explicit JoinAwaiter(TaskGroup* group) : group_(group) {}
    bool await_ready() const noexcept { return group_->running_ == 0; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiter);
    absl::Status await_resume();
    ~JoinAwaiter() { group_->joiner_ = nullptr; }

   private:
    TaskGroup* group_;
    core_internal::Runnable runnable_;
  };
  // Waits for every child started so far.
  JoinAwaiter Join() { return JoinAwaiter(this); }

 private:
  struct Child;
  friend void core_internal::TaskGroupChildDone(void* child, std::coroutine_handle<> finished);

  Child* children_ = nullptr;  // doubly linked, for destroying them on cancellation
  std::size_t running_ = 0;
  core_internal::Runnable* joiner_ = nullptr;
  absl::Status first_error_;
  std::exception_ptr first_exception_;
};

}  // namespace snow
