#include "snow/core/internal/actor_cell.h"

#include <algorithm>
#include <memory>

namespace snow::core_internal {
namespace {

// Takes one member out of `queue`; with one receive left, that one waits alone again, tested
// through its own taker.
void RemoveMember(WaiterQueue* queue, std::vector<ReceiveWaiter*>::iterator member) {
  queue->members.erase(member);
  if (queue->members.size() == 1) {
    queue->cell->waiter = queue->members.front();
    queue->members.clear();
  }
}

}  // namespace

ReceiveWaiter* WaiterQueue::Take(ReceiveWaiter* self, Envelope* e) {
  auto* queue = static_cast<WaiterQueue*>(self);
  for (auto it = queue->members.begin(); it != queue->members.end(); ++it) {
    ReceiveWaiter* member = *it;
    if (member->taker(member, e) != member) continue;
    RemoveMember(queue, it);
    return member;
  }
  return nullptr;
}

void ActorCell::WaitBeside(ReceiveWaiter* w) {
  ActorExtras& x = Extras();
  if (x.waiters == nullptr) {
    x.waiters = std::make_unique<WaiterQueue>();
    x.waiters->taker = &WaiterQueue::Take;
    x.waiters->cell = this;
  }
  WaiterQueue* queue = x.waiters.get();
  if (waiter != queue) {
    // The receive already waiting goes first; from now on every message is offered through
    // the queue, so the one-type shortcut is off.
    queue->members.push_back(waiter);
    waiter = queue;
    wanted_type = nullptr;
  }
  queue->members.push_back(w);
}

void ActorCell::WithdrawFromQueue(ReceiveWaiter* w) {
  WaiterQueue* queue = extras != nullptr ? extras->waiters.get() : nullptr;
  if (queue == nullptr || waiter != queue) return;
  auto it = std::find(queue->members.begin(), queue->members.end(), w);
  if (it != queue->members.end()) RemoveMember(queue, it);
}

}  // namespace snow::core_internal
