// File: net/websocket_rooms.h
//
// Rooms: named groups of WebSocket connections over all the runtime's shards, for chat-like
// fan-out. A broadcast takes one hop to each shard (not one per member) and encodes its frame
// once, shared by every member's send queue (not N copies). A connection leaves every room when
// it ends, however it ends (close, error, crash of its handler).
//
//   auto rooms = net::Rooms::Create(self.runtime());      // shared by the handlers
//   rooms->Join(ws, "lobby");                             // on the connection's shard
//   rooms->Broadcast(self, "lobby", "hello all");          // from any actor
//   rooms->BroadcastExcept(self, "lobby", ws, "joined");   // all but `ws`
//
// Each member gets the frame through its own bounded queue, so a slow member meets its own
// overflow policy (net/websocket.h) and no one else waits. Delivery order: broadcasts from one
// actor to one room arrive in the order sent. The API names rooms by string so that a room can
// later span nodes without changing the code that uses it.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "snow/core/actor.h"
#include "snow/core/runtime.h"
#include "snow/net/websocket.h"

namespace snow::net {

class Rooms : public std::enable_shared_from_this<Rooms> {
 public:
  static std::shared_ptr<Rooms> Create(Runtime& runtime);

  // On the connection's shard (its handler's actor). Joining twice is joining once. Members
  // are server connections (a client's, from ConnectWebSocket, is not added).
  void Join(const WebSocket& ws, std::string room);
  void Leave(const WebSocket& ws, std::string_view room);
  void Broadcast(Self self, std::string room, std::string_view data, bool text = true);
  void BroadcastExcept(Self self, std::string room, const WebSocket& except, std::string_view data,
                       bool text = true);
  // Members of `room` on the calling shard.
  size_t LocalMembers(std::string_view room) const;

  // For the connection's end (net/websocket.cc): leaves `room` on this shard.
  void LeaveLocal(const net_websocket::Connection* connection, std::string_view room);

 private:
  explicit Rooms(Runtime& runtime);
  void Deliver(const std::string& room, const net_websocket::Connection* except,
               std::shared_ptr<const std::string> frame);

  Runtime& runtime_;
  // One table per shard, touched only by that shard.
  struct Table {
    absl::flat_hash_map<std::string, std::vector<net_websocket::Connection*>> members;
  };
  std::vector<Table> tables_;
};

}  // namespace snow::net
