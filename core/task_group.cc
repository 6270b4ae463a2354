#include "snow/core/task_group.h"

#include "snow/core/status.h"

namespace snow {

struct TaskGroup::Child {
  static void* operator new(std::size_t size) { return core_internal::PoolAllocate(size); }
  static void operator delete(void* p, std::size_t size) noexcept {
    core_internal::PoolFree(p, size);
  }

  TaskGroup* group;
  std::coroutine_handle<core_internal::Promise<absl::Status>> handle;
  core_internal::Runnable start;
  Child* prev = nullptr;
  Child* next = nullptr;
};

void TaskGroup::Start(Task<absl::Status> task) {
  core_internal::Shard* shard = core_internal::Shard::Current();
  SNOW_CHECK(shard != nullptr, "TaskGroup::Start outside a shard");
  auto* child = new Child{this, task.Release(), {}, nullptr, children_};
  if (children_ != nullptr) children_->prev = child;
  children_ = child;
  ++running_;
  child->handle.promise().set_root(core_internal::RootKind::kTaskGroupChild, child);
  child->start.set_handle(child->handle);
  shard->Schedule(&child->start);
}

namespace core_internal {

void TaskGroupChildDone(void* context, std::coroutine_handle<>) {
  auto* child = static_cast<TaskGroup::Child*>(context);
  TaskGroup* group = child->group;
  auto& promise = child->handle.promise();
  if (promise.exception()) {
    if (!group->first_exception_) group->first_exception_ = promise.exception();
  } else {
    absl::Status status = promise.TakeResult();
    if (!status.ok() && group->first_error_.ok()) group->first_error_ = std::move(status);
  }
  if (child->prev != nullptr) child->prev->next = child->next;
  if (child->next != nullptr) child->next->prev = child->prev;
  if (group->children_ == child) group->children_ = child->next;
  child->handle.destroy();
  delete child;
  if (--group->running_ == 0 && group->joiner_ != nullptr) {
    Shard::Current()->Schedule(std::exchange(group->joiner_, nullptr));
  }
}

}  // namespace core_internal

TaskGroup::~TaskGroup() {
  if (children_ == nullptr) return;
  // The owner left without joining (it returned early, threw, exited or was killed): cancel
  // the children. Aborting here would take the whole process down for one actor's end.
  core_internal::Shard::CancellationScope cancelling;
  while (Child* child = children_) {
    children_ = child->next;
    child->handle.destroy();
    delete child;  // a child that never ran leaves the run queue here (~Runnable)
  }
}

std::coroutine_handle<> TaskGroup::JoinAwaiter::await_suspend(std::coroutine_handle<> awaiter) {
  runnable_.set_handle(awaiter);
  group_->joiner_ = &runnable_;
  return core_internal::Shard::Current()->TakeNext();
}

absl::Status TaskGroup::JoinAwaiter::await_resume() {
  if (group_->first_exception_) std::rethrow_exception(std::exchange(group_->first_exception_, {}));
  return std::exchange(group_->first_error_, absl::OkStatus());
}

}  // namespace snow
