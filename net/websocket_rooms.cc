#include "snow/net/websocket_rooms.h"

#include <algorithm>
#include <utility>

#include "snow/core/remote.h"
#include "snow/core/status.h"
#include "snow/net/internal/websocket_connection.h"

namespace snow::net {

std::shared_ptr<Rooms> Rooms::Create(Runtime& runtime) {
  return std::shared_ptr<Rooms>(new Rooms(runtime));
}

Rooms::Rooms(Runtime& runtime) : runtime_(runtime), tables_(runtime.shard_count()) {}

void Rooms::Join(const WebSocket& ws, std::string room) {
  net_websocket::Connection* c = ws.connection_.get();
  // An ended connection would never leave; a client's frames are masked, each its own.
  if (c->finished || c->client) return;
  std::vector<net_websocket::Connection*>& members = tables_[remote::ThisShard()].members[room];
  if (std::find(members.begin(), members.end(), c) != members.end()) return;
  members.push_back(c);
  c->rooms.emplace_back(weak_from_this(), std::move(room));
}

void Rooms::Leave(const WebSocket& ws, std::string_view room) {
  net_websocket::Connection* c = ws.connection_.get();
  LeaveLocal(c, room);
  std::erase_if(c->rooms, [room](const auto& joined) { return joined.second == room; });
}

void Rooms::LeaveLocal(const net_websocket::Connection* connection, std::string_view room) {
  Table& table = tables_[remote::ThisShard()];
  auto it = table.members.find(AbslView(room));
  if (it == table.members.end()) return;
  std::erase(it->second, connection);
  if (it->second.empty()) table.members.erase(it);
}

size_t Rooms::LocalMembers(std::string_view room) const {
  const Table& table = tables_[remote::ThisShard()];
  auto it = table.members.find(AbslView(room));
  return it == table.members.end() ? 0 : it->second.size();
}

void Rooms::Deliver(const std::string& room, const net_websocket::Connection* except,
                    std::shared_ptr<const std::string> frame) {
  Table& table = tables_[remote::ThisShard()];
  auto it = table.members.find(room);
  if (it == table.members.end()) return;
  // A member closed for overflow stays listed until its reader ends: Admit skips it.
  for (net_websocket::Connection* member : it->second) {
    if (member != except && member->Admit(frame->size()).ok()) member->QueueShared(frame);
  }
}

void Rooms::BroadcastExcept(Self self, std::string room, const WebSocket& except,
                            std::string_view data, bool text) {
  std::string encoded;
  AppendWsFrame(encoded, text ? net_internal::WsOpcode::kText : net_internal::WsOpcode::kBinary,
                data);
  auto frame = std::make_shared<const std::string>(std::move(encoded));
  const net_websocket::Connection* skip = except.connection_.get();
  const ShardId here = self.shard();
  for (ShardId shard = 0; shard < runtime_.shard_count(); ++shard) {
    if (shard == here) continue;
    // `skip` is only compared there, never followed.
    runtime_.SubmitTo(shard, [rooms = shared_from_this(), room, skip, frame] {
      rooms->Deliver(room, skip, frame);
    });
  }
  Deliver(room, skip, std::move(frame));
}

void Rooms::Broadcast(Self self, std::string room, std::string_view data, bool text) {
  BroadcastExcept(self, std::move(room), WebSocket(nullptr), data, text);
}

}  // namespace snow::net
