#include "snow/core/internal/shard.h"

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "snow/core/exit_reason.h"
#include "snow/core/internal/exit.h"
#include "snow/core/remote.h"
#include "snow/core/runtime.h"
#include "snow/core/status.h"
#include "snow/core/task.h"

namespace snow::core_internal {
namespace {

constexpr int kRunBudget = 512;               // runnables per round before the shard looks around
constexpr int kInboxBudget = 4096;            // envelopes taken from the inbox per round
constexpr std::size_t kOutboxFlushAt = 1024;  // a batch this long goes out at once

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// A spawn on another shard: the new cell travels to its home shard, which starts it.
struct SpawnItem final : Envelope {
  ActorCell* cell;
};

void RunSpawnItem(Envelope* e, Shard& shard) {
  auto* item = static_cast<SpawnItem*>(e);
  ActorCell* cell = item->cell;
  item->~SpawnItem();
  PoolFree(item, sizeof(SpawnItem));
  shard.Start(cell);
}

void DestroySpawnItem(Envelope* e) noexcept {
  auto* item = static_cast<SpawnItem*>(e);
  ActorCell* cell = item->cell;
  if (cell->root()) cell->root().destroy();
  delete cell;
  item->~SpawnItem();
  PoolFree(item, sizeof(SpawnItem));
}

const char* SpawnItemName() { return "spawn"; }
constexpr MessageType kSpawnItemType = {&DestroySpawnItem, &RunSpawnItem, &SpawnItemName, nullptr};

// A SendAfter timer owns its message until it fires or is cancelled.
struct SendAfterTimer {
  TimerNode node;
  Envelope* message;
  Shard* shard;
  uint64_t id;
};

}  // namespace

Shard::Shard(Runtime* runtime, ShardId id, uint32_t shard_count, ShardOptions options)
    : runtime_(runtime),
      id_(id),
      shard_count_(shard_count),
      options_(options),
      outboxes_(shard_count) {}

Shard::~Shard() { DrainInbox(); }

absl::Status Shard::Init() {
  current_ = this;
  run_queue_.MakeCurrent();
  auto reactor = Reactor::Create(ReactorOptions{});
  if (!reactor.ok()) return reactor.status();
  reactor_ = std::move(reactor).value();
  return absl::OkStatus();
}

int64_t Shard::RealNowNanos() const {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

int64_t Shard::NowNanos() {
  return options_.clock == ClockKind::kVirtual ? virtual_now_ : RealNowNanos();
}

// --- Messages ---

void Shard::RouteAway(Envelope* e) {
  ShardId target = e->to.shard();
  if (!e->to.is_local()) {
    // Remote PIDs need dist/, which installs its router in the runtime.
    if (Transport* transport = runtime_->transport()) {
      transport->Route(RemoteEnvelopeAccess::Adopt(e));
    } else {
      Undeliverable(e, NoConnectionReason());
    }
    return;
  }
  if (target >= shard_count_) [[unlikely]] {
    Undeliverable(e, NoProcReason());
    return;
  }
  Forward(e, target);
}

void Shard::Forward(Envelope* e, ShardId target) {
  EnvelopeChain& out = outboxes_[target];
  if (out.empty()) dirty_outboxes_.push_back(target);
  out.Append(e);
  if (out.count >= kOutboxFlushAt) {
    // Deliver a long batch now; the target stays in dirty_outboxes_ and is skipped when empty.
    runtime_->shard(target).Post(out.first, out.last);
    out = EnvelopeChain{};
  }
}

void Shard::Undeliverable(Envelope* e, const absl::Status& reason) {
  if (e->type->undeliverable != nullptr) {
    e->type->undeliverable(e, *this, reason);
  } else {
    Drop(e);
  }
}

void Shard::Post(Envelope* first, Envelope* last) {
  inbox_.Push(first, last);
  if (sleeping_.load(std::memory_order_seq_cst) &&
      sleeping_.exchange(false, std::memory_order_seq_cst)) {
    reactor_->Wake();
  }
}

void Shard::FlushOutboxes() {
  for (ShardId target : dirty_outboxes_) {
    EnvelopeChain& out = outboxes_[target];
    if (out.empty()) continue;
    runtime_->shard(target).Post(out.first, out.last);
    out = EnvelopeChain{};
  }
  dirty_outboxes_.clear();
}

bool Shard::TakeInbox() {
  int taken = 0;
  while (taken < kInboxBudget) {
    Envelope* e = inbox_.Pop();
    if (e == nullptr) break;
    ++taken;
    if (!e->to.is_local()) [[unlikely]] {
      RouteAway(e);  // forwarded here because this shard owns the node's connection
    } else if (e->type->run != nullptr) {
      e->type->run(e, *this);
    } else {
      DeliverLocal(e);
    }
  }
  return taken > 0;
}

void Shard::DrainInbox() {
  while (Envelope* e = inbox_.Pop()) Destroy(e);
}

// --- Timers ---

bool Shard::FireTimers() {
  if (timers_.empty()) return false;
  int64_t now = NowNanos();
  bool fired = false;
  while (TimerNode* node = timers_.PopExpired(now)) {
    node->fire(node);
    fired = true;
  }
  return fired;
}

uint64_t Shard::SendAfter(int64_t delay_ns, Envelope* e) {
  auto* timer = new SendAfterTimer{TimerNode{}, e, this, next_timer_id_++};
  timer->node.fire = [](TimerNode* node) {
    auto* t = reinterpret_cast<SendAfterTimer*>(node);
    Shard* shard = t->shard;
    Envelope* message = t->message;
    shard->send_after_.erase(t->id);
    delete t;
    shard->Route(message);
  };
  send_after_.emplace(timer->id, &timer->node);
  timers_.Arm(&timer->node, NowNanos() + delay_ns);
  return timer->id;
}

bool Shard::CancelSendAfter(uint64_t id) {
  auto it = send_after_.find(id);
  if (it == send_after_.end()) return false;
  auto* t = reinterpret_cast<SendAfterTimer*>(it->second);
  send_after_.erase(it);
  timers_.Cancel(&t->node);
  Destroy(t->message);
  delete t;
  return true;
}

// --- Actors ---

uint64_t Shard::NextSerial() {
  uint64_t serial = spawn_counter_++ * (shard_count_ + 1) + id_;
  SNOW_CHECK(serial <= Pid::kMaxSerial, "this shard has used up its PID serial space");
  return serial;
}

void Shard::AttachRoot(ActorCell* cell, std::coroutine_handle<> root) {
  cell->start.set_handle(root);
  auto& promise =
      std::coroutine_handle<Promise<absl::Status>>::from_address(root.address()).promise();
  promise.set_root(RootKind::kActor, cell);
}

void Shard::Admit(ActorCell* cell) {
  actors_.Insert(cell);
  ShardCounters::Add(counters_.actors_spawned, 1);
  ShardCounters::Add(counters_.live_actors, 1);
}

void Shard::Start(ActorCell* cell) {
  Admit(cell);
  Schedule(&cell->start);
}

void Shard::StartNow(ActorCell* cell) {
  if (eager_depth_ >= kMaxEagerDepth || cancelling()) [[unlikely]] {
    Start(cell);
    return;
  }
  Admit(cell);
  // With no budget, the child's first suspension returns here instead of transferring to the
  // next ready coroutine; the spawner is not in the run queue, it is the one running.
  ++eager_depth_;
  int budget = std::exchange(run_budget_, 0);
  cell->root().resume();
  // An actor doomed meanwhile ends at the loop's next safe point: keep the budget at 0 for it.
  if (doomed_.empty()) run_budget_ = budget;
  --eager_depth_;
}

void Shard::Launch(Shard* origin, Shard& home, ActorCell* cell, bool queued) {
  if (origin == &home) {
    if (queued) {
      origin->Start(cell);
    } else {
      origin->StartNow(cell);
    }
    return;
  }
  // Posted at once, not batched: whoever learns the new PID from us must find the actor there.
  auto* item = new (PoolAllocate(sizeof(SpawnItem))) SpawnItem();
  item->type = &kSpawnItemType;
  item->to = cell->pid;
  item->cell = cell;
  home.Post(item, item);
}

void ActorRootDone(void* context, std::coroutine_handle<> finished) {
  auto* cell = static_cast<ActorCell*>(context);
  Shard* shard = Shard::Current();
  auto& promise =
      std::coroutine_handle<Promise<absl::Status>>::from_address(finished.address()).promise();
  ExitOutcome outcome = ExitOutcomeOf(promise.exception(), [&] { return promise.TakeResult(); });
  if (outcome.crashed) {
    ShardCounters::Add(shard->counters_.actors_crashed, 1);
    if (shard->options_.log_crashes) {
      std::fprintf(stderr, "snow: actor %s crashed: %s\n",
                   shard->runtime().PidText(cell->pid).c_str(),
                   std::string(outcome.reason.message()).c_str());
    }
  }
  cell->start.set_handle({});
  finished.destroy();
  shard->Finish(cell, std::move(outcome.reason));
}

void Shard::Terminate(ActorCell* cell, absl::Status reason) {
  if (cell->root()) {
    CancellationScope cancelling;
    std::coroutine_handle<> root = cell->root();
    // An actor killed before its first run is still queued for it: withdraw that run, which
    // would otherwise pop a freed cell.
    if (cell->start.queued()) run_queue_.Remove(&cell->start);
    cell->start.set_handle({});
    root.destroy();
  }
  Finish(cell, std::move(reason));
}

void Shard::Finish(ActorCell* cell, absl::Status reason) {
  actors_.Erase(cell->pid.serial());
  if (ActorExtras* extras = cell->extras.get()) {
    // An exit signal that doomed the actor while it was running decides its reason.
    if (extras->pending_exit.has_value()) reason = std::move(*extras->pending_exit);
    if (!extras->registered_name.empty()) {
      runtime_->ReleaseName(extras->registered_name, cell->pid);
    }
    // Erased from the table first: a link or monitor that arrives from now on gets noproc.
    // Sorted, so that what an actor's end sends does not depend on hash order: links by PID,
    // Downs in the order their monitors were made (a shard's refs increase).
    std::vector<Pid> links(extras->links.begin(), extras->links.end());
    std::sort(links.begin(), links.end());
    for (Pid linked : links) SendSignal(linked, SignalKind::kLinkExit, cell->pid, 0, reason);
    std::vector<std::pair<uint64_t, Pid>> downs(extras->monitored_by.begin(),
                                                extras->monitored_by.end());
    std::sort(downs.begin(), downs.end());
    for (auto& [ref, watcher] : downs) {
      SendSignal(watcher, SignalKind::kDown, cell->pid, ref, reason);
    }
    for (auto& [ref, target] : extras->monitoring) {
      SendSignal(target, SignalKind::kDemonitor, cell->pid, ref);
    }
  }
  while (Envelope* e = cell->mailbox_head) {
    cell->mailbox_head = e->next;
    Destroy(e);
  }
  ShardCounters::Add(counters_.actors_exited, 1);
  ShardCounters::Add(counters_.live_actors, -1);
  bool is_main = cell->extras != nullptr && cell->extras->is_main;
  delete cell;
  if (is_main) runtime_->OnMainExit(std::move(reason));
}

namespace {

// What an actor asked for, which a full mailbox still takes: a reply to one of its calls (a
// control item's type), a Down of its monitors, an Exit of its links.
bool IsNotice(const MessageType* type) {
  return type->run != nullptr || type == TypeOf<Down>() || type == TypeOf<Exit>();
}

}  // namespace

void Shard::Overflow(ActorCell* cell, Envelope* e) {
  if (IsNotice(e->type)) {
    cell->Append(e);
    return;
  }
  ShardCounters::Add(counters_.mailbox_overflows, 1);
  switch (cell->extras->overflow) {
    case MailboxOverflow::kDropNew:
      Drop(e);
      return;
    case MailboxOverflow::kDropOldest:
      for (Envelope** link = &cell->mailbox_head; *link != nullptr; link = &(*link)->next) {
        Envelope* oldest = *link;
        if (IsNotice(oldest->type)) continue;
        cell->Unlink(link, oldest);
        Drop(oldest);
        cell->Append(e);
        return;
      }
      Drop(e);  // only notices wait: they stay
      return;
    case MailboxOverflow::kKill:
      Drop(e);
      Doom(cell, MailboxOverflowReason());
      return;
  }
}

void Shard::Doom(ActorCell* cell, absl::Status reason) {
  ActorExtras& extras = cell->Extras();
  if (extras.pending_exit.has_value()) return;
  extras.pending_exit = std::move(reason);
  doomed_.push_back(cell->pid);
  // Back to the loop at the next suspension, instead of transferring to another coroutine.
  run_budget_ = 0;
}

void Shard::ProcessDoomed() {
  // Ending one actor may doom others (its links): they are appended and ended in turn.
  for (std::size_t i = 0; i < doomed_.size(); ++i) {
    ActorCell* cell = actors_.Find(doomed_[i].serial());
    if (cell == nullptr) continue;  // it finished on its own first
    absl::Status reason = *cell->extras->pending_exit;
    Terminate(cell, std::move(reason));
  }
  doomed_.clear();
}

void Shard::StopAllActors() {
  // Nothing runs from here on; emptying the queue first also spares each destroyed frame the
  // work of taking itself out of it.
  while (!run_queue_.empty()) run_queue_.PopFront();
  // A destructor run by a termination may spawn (queued, since frames are being destroyed):
  // go round again until no actor is left.
  std::vector<uint64_t> serials;
  while (actors_.size() > 0) {
    serials.clear();
    actors_.ForEach([&](ActorCell* cell) { serials.push_back(cell->pid.serial()); });
    for (uint64_t serial : serials) {
      // A destructor run by an earlier termination may have ended this one already.
      if (ActorCell* cell = actors_.Find(serial)) {
        Terminate(cell, absl::CancelledError("runtime stopped"));
      }
    }
  }
  for (auto& [id, node] : send_after_) {
    auto* t = reinterpret_cast<SendAfterTimer*>(node);
    timers_.Cancel(&t->node);
    Destroy(t->message);
    delete t;
  }
  send_after_.clear();
  while (!run_queue_.empty()) run_queue_.PopFront();  // anything a destructor scheduled
  doomed_.clear();
  FlushOutboxes();
}

// --- The loop ---

void Shard::RunReady() {
  // Awaiters that suspend transfer straight to the next ready coroutine (TakeNext), spending
  // the same budget, so a round ends after kRunBudget resumptions either way.
  run_budget_ = kRunBudget;
  while (run_budget_ > 0 && !run_queue_.empty()) {
    --run_budget_;
    run_queue_.PopFront()->handle().resume();
    if (!doomed_.empty()) [[unlikely]] {
      ProcessDoomed();
    }
  }
  run_budget_ = 0;
}

void Shard::RequestStop() {
  stop_.store(true, std::memory_order_seq_cst);
  if (sleeping_.exchange(false, std::memory_order_seq_cst)) reactor_->Wake();
}

void Shard::Loop() {
  for (;;) {
    RunReady();
    if (!dirty_outboxes_.empty()) FlushOutboxes();
    bool progress = TakeInbox();
    progress |= FireTimers();
    if (reactor_->in_flight() > 0 || reactor_->has_pending_submissions()) {
      progress |= reactor_->Poll(/*wait=*/false, 0) > 0;
    }
    if (!doomed_.empty()) {
      ProcessDoomed();
      progress = true;
    }
    if (stop_.load(std::memory_order_relaxed)) break;
    if (run_queue_.empty() && !progress) Idle();
  }
  StopAllActors();
  // Completions of cancelled operations were reaped by their awaiters; submit what is queued.
  reactor_->Poll(/*wait=*/false, 0);
}

void Shard::Idle() {
  if (options_.clock == ClockKind::kVirtual && reactor_->in_flight() == 0) {
    if (!timers_.empty()) {
      // Virtual time: nothing can happen before the next timer, so jump to it.
      virtual_now_ = std::max(virtual_now_, timers_.NextDeadline());
      return;
    }
    if (shard_count_ == 1 && inbox_.Empty() && actors_.size() > 0) {
      runtime_->Stop(absl::DeadlineExceededError(
          "virtual clock: every actor is blocked and no timer or I/O is pending"));
      return;
    }
  }
  if (options_.spin_ns > 0) {
    const int64_t spin_until = RealNowNanos() + options_.spin_ns;
    for (uint32_t i = 1;; ++i) {
      if (!inbox_.Empty() || stop_.load(std::memory_order_relaxed)) return;
      if ((i & 15) == 0) {
        int64_t now = RealNowNanos();
        if (now >= spin_until) break;
        if (timers_.NextDeadline() <= NowNanos()) return;
        if (reactor_->in_flight() > 0 && reactor_->Poll(/*wait=*/false, 0) > 0) return;
      }
      CpuRelax();
    }
  }
  sleeping_.store(true, std::memory_order_seq_cst);
  if (!inbox_.Empty() || stop_.load(std::memory_order_seq_cst)) {
    sleeping_.store(false, std::memory_order_relaxed);
    return;
  }
  int64_t timeout = -1;
  if (!timers_.empty()) timeout = std::max<int64_t>(0, timers_.NextDeadline() - NowNanos());
  ShardCounters::Add(counters_.parks, 1);
  reactor_->Poll(/*wait=*/true, timeout);
  sleeping_.store(false, std::memory_order_relaxed);
}

}  // namespace snow::core_internal
