#include "snow/core/io.h"

#include <cerrno>

#include "snow/core/internal/shard.h"

namespace snow {

IoAwaitable::~IoAwaitable() {
  if (outstanding_ > 0) {
    shard_->reactor().CancelAndWait(&operation_, [this] { return outstanding_ == 0; });
  }
}

void IoAwaitable::await_suspend(std::coroutine_handle<> awaiter) {
  shard_ = core_internal::Shard::Current();
  runnable_.set_handle(awaiter);
  int64_t timeout_ns = -1;
  if (timeout_ != absl::InfiniteDuration()) {
    timeout_ns = std::max<int64_t>(0, absl::ToInt64Nanoseconds(timeout_));
  }
  outstanding_ = timeout_ns >= 0 ? 2 : 1;
  shard_->reactor().Submit(request_, &operation_, timeout_ns, &timeout_target_, &timeout_storage_);
}

void IoAwaitable::OnOperation(core_internal::IoTarget* target, int32_t result, uint32_t) {
  IoAwaitable* self = static_cast<Target*>(target)->owner;
  self->result_ = result;
  self->Finish();
}

void IoAwaitable::OnTimeout(core_internal::IoTarget* target, int32_t result, uint32_t) {
  IoAwaitable* self = static_cast<Target*>(target)->owner;
  // -ETIME: the timeout fired (and cancelled the operation); -ECANCELED: the operation won.
  if (result == -ETIME) self->timed_out_ = true;
  self->Finish();
}

void IoAwaitable::Finish() {
  if (--outstanding_ > 0) return;
  if (timed_out_ && result_ == -ECANCELED) result_ = -ETIMEDOUT;
  shard_->Schedule(&runnable_);
}

}  // namespace snow
