#include "snow/core/actor.h"

#include "snow/core/remote.h"
#include "snow/core/runtime.h"

namespace snow {
namespace core_internal {

int64_t ToTimeoutNanos(absl::Duration d) {
  if (d == absl::InfiniteDuration()) return TimerQueue::kNever;
  if (d <= absl::ZeroDuration()) return 0;
  return absl::ToInt64Nanoseconds(d);
}

}  // namespace core_internal

Ref Self::MakeRef() const {
  Ref ref = Ref::FromBits(home().NextRef());
  core_internal::ActorExtras& extras = cell_->Extras();
  extras.marker = cell_->mailbox_tail;
  extras.marker_ref = ref.bits();
  return ref;
}

bool Self::CancelTimer(TimerRef timer) const {
  SNOW_CHECK(timer.shard == shard(), "CancelTimer on a timer of another shard's actor");
  return home().CancelSendAfter(timer.id);
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

void Self::Link(Pid other) const {
  if (other == pid()) return;
  if (!cell_->Extras().links.insert(other).second) return;
  home().SendSignal(other, core_internal::SignalKind::kLink, pid());
}

void Self::Unlink(Pid other) const {
  if (cell_->extras == nullptr || cell_->extras->links.erase(other) == 0) return;
  home().SendSignal(other, core_internal::SignalKind::kUnlink, pid());
}

void Self::TrapExits(bool on) const {
  if (on || cell_->extras != nullptr) cell_->Extras().trap_exits = on;
}

Ref Self::Monitor(Pid target) const {
  Ref ref = MakeRef();
  cell_->Extras().monitoring.emplace(ref.bits(), target);
  home().SendSignal(target, core_internal::SignalKind::kMonitor, pid(), ref.bits());
  return ref;
}

bool Self::Demonitor(Ref ref, DemonitorOption option) const {
  if (cell_->extras != nullptr) {
    auto& monitoring = cell_->extras->monitoring;
    if (auto it = monitoring.find(ref.bits()); it != monitoring.end()) {
      // Still active, so its Down has not been delivered: nothing to flush.
      Pid target = it->second;
      monitoring.erase(it);
      home().SendSignal(target, core_internal::SignalKind::kDemonitor, pid(), ref.bits());
      return true;
    }
  }
  if (option == DemonitorOption::kFlush) {
    const core_internal::MessageType* down = core_internal::TypeOf<Down>();
    for (core_internal::Envelope **link = &cell_->mailbox_head, *e = *link; e != nullptr;
         link = &e->next, e = *link) {
      if (e->type == down && static_cast<core_internal::Boxed<Down>*>(e)->value.ref == ref) {
        cell_->Unlink(link, e);
        core_internal::Destroy(e);
        break;
      }
    }
  }
  return false;
}

void Self::SendExit(Pid to, absl::Status reason) const {
  home().SendSignal(to, core_internal::SignalKind::kExit, pid(), 0, std::move(reason));
}

std::optional<Pid> Self::WhereIs(std::string_view name) const { return runtime().WhereIs(name); }

bool remote::NoteMonitor(Pid watcher, Pid target, uint64_t ref) {
  if (watcher.shard() != ThisShard()) return false;
  core_internal::ActorCell* cell = CurrentShard().Find(watcher);
  if (cell == nullptr) return false;
  cell->Extras().monitoring.emplace(ref, target);
  return true;
}

bool remote::RetargetMonitor(Pid watcher, Pid target, uint64_t ref) {
  if (watcher.shard() != ThisShard()) return false;
  core_internal::ActorCell* cell = CurrentShard().Find(watcher);
  if (cell == nullptr || cell->extras == nullptr) return false;
  auto it = cell->extras->monitoring.find(ref);
  if (it == cell->extras->monitoring.end()) return false;
  it->second = target;
  return true;
}

}  // namespace snow
