#include "core/actor.h"

#include "core/runtime.h"

namespace snow {
namespace core_internal {

int64_t ToTimeoutNanos(absl::Duration d) {
  if (d == absl::InfiniteDuration()) return TimerQueue::kNever;
  if (d <= absl::ZeroDuration()) return 0;
  return absl::ToInt64Nanoseconds(d);
}

}  // namespace core_internal

Ref Self::MakeRef() const {
  Ref ref = Ref::FromBits(cell_->shard->NextRef());
  cell_->marker = cell_->mailbox_tail;
  cell_->marker_ref = ref.bits();
  return ref;
}

bool Self::CancelTimer(TimerRef timer) const {
  SNOW_CHECK(timer.shard == shard(), "CancelTimer on a timer of another shard's actor");
  return cell_->shard->CancelSendAfter(timer.id);
}

absl::Status Self::Register(std::string name) const {
  if (cell_->extras != nullptr && !cell_->extras->registered_name.empty()) {
    return absl::AlreadyExistsError(absl::StrCat(pid().ToString(), " is already registered as \"",
                                                 cell_->extras->registered_name, "\""));
  }
  SNOW_RETURN_IF_ERROR(runtime().Register(name, pid()));
  if (cell_->extras == nullptr) cell_->extras = std::make_unique<core_internal::ActorExtras>();
  cell_->extras->registered_name = std::move(name);
  return absl::OkStatus();
}

void Self::Unregister() const {
  if (cell_->extras == nullptr || cell_->extras->registered_name.empty()) return;
  runtime().ReleaseName(cell_->extras->registered_name, pid());
  cell_->extras->registered_name.clear();
}

std::optional<Pid> Self::WhereIs(std::string_view name) const { return runtime().WhereIs(name); }

}  // namespace snow
