#include "snow/core/internal/actor_cell.h"

#include <algorithm>
#include <memory>

namespace snow::core_internal {

ReceiveWaiter* WaiterQueue::Take(ReceiveWaiter* self, Envelope* e) {
  auto* queue = static_cast<WaiterQueue*>(self);
  std::vector<ReceiveWaiter*>& members = queue->members;
  for (auto it = members.begin(); it != members.end(); ++it) {
    ReceiveWaiter* member = *it;
    if (member->taker(member, e) != member) continue;
    members.erase(it);
    if (members.size() == 1) {
      // One receive left: it waits alone again, tested through its own taker.
      queue->cell->waiter = members.front();
      members.clear();
    }
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
  std::vector<ReceiveWaiter*>& members = queue->members;
  auto it = std::find(members.begin(), members.end(), w);
  if (it == members.end()) return;
  members.erase(it);
  if (members.size() == 1) {
    waiter = members.front();
    members.clear();
  }
}

}  // namespace snow::core_internal
