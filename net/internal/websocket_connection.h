// File: net/internal/websocket_connection.h
//
// One WebSocket connection after its handshake, as the server (net/websocket.cc) and the client
// (net/websocket_client.cc) run it: a reader (Serve) that reads frames and hands messages to the
// owner's mailbox, a writer (WriterRun) that writes the queued frames, and the owner, whose
// handle is net::WebSocket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "snow/core/actor.h"
#include "snow/core/event.h"
#include "snow/core/task.h"
#include "snow/net/http.h"
#include "snow/net/internal/websocket_deflate.h"
#include "snow/net/internal/websocket_frames.h"
#include "snow/net/stream.h"
#include "snow/net/websocket.h"

namespace snow::net {
class Rooms;
}  // namespace snow::net

namespace snow::net::net_websocket {

using net_internal::AppendWsFrame;
using net_internal::WsOpcode;

// What the reader (the HTTP connection's actor on a server), the writer and the owner (the
// handler's actor; on a client, the actor that connected) share; all on one shard.
class Connection {
 public:
  // `options` are shared by all the connections a server accepts.
  Connection(bool client, std::shared_ptr<const WebSocketOptions> options, HttpRequest request,
             std::string subprotocol, std::optional<net_internal::WsDeflateParameters> deflate,
             Stream stream)
      : client(client),
        shared_options_(std::move(options)),
        options(*shared_options_),
        request(WithoutHandshake(std::move(request))),
        subprotocol(std::move(subprotocol)),
        stream(std::move(stream)) {
    if (deflate) this->deflate = std::make_unique<net_internal::WsDeflate>(*deflate);
  }

  size_t queued_bytes() const { return queued; }

  void Queue(WsOpcode opcode, std::string_view payload, bool compressed = false) {
    if (pieces.empty() || pieces.back().shared != nullptr) pieces.emplace_back();
    std::string& own = pieces.back().own;
    const size_t before = own.size();
    AppendWsFrame(own, opcode, payload, true, client ? std::optional(Mask()) : std::nullopt,
                  compressed);
    queued += own.size() - before;
    work.Notify();
  }
  // Whether `bytes` more fit the queue; past the bound, applies the overflow policy.
  absl::Status Admit(size_t bytes) {
    if (closing || finished) return absl::FailedPreconditionError("the WebSocket is closing");
    if (queued + bytes <= options.max_queued_bytes) return absl::OkStatus();
    if (options.overflow == WsOverflow::kDrop) {
      ++dropped;
      return absl::ResourceExhaustedError("the peer reads too slowly: message dropped");
    }
    QueueClose(net_internal::kWsPolicyViolation, "slow consumer");
    return absl::ResourceExhaustedError("the peer reads too slowly: closing with 1008");
  }
  // A frame encoded once for every member of a room.
  void QueueShared(std::shared_ptr<const std::string> frame) {
    queued += frame->size();
    pieces.push_back({.own = {}, .shared = std::move(frame)});
    work.Notify();
  }
  // Closes for the peer's fault (a broken frame, bad data): after the close frame this side
  // half-closes, so that the peer reads the end and closes too while the reader drains.
  void Fail(uint16_t code, std::string_view reason) {
    failed = true;
    QueueClose(code, reason);
  }
  // Queues a close frame, once; no data frame goes after it.
  void QueueClose(uint16_t code, std::string_view reason) {
    if (closing) return;
    closing = true;
    Queue(WsOpcode::kClose, net_internal::WsClosePayload(code, reason));
  }

  const bool client;  // this side masks what it sends and reads unmasked frames

 private:
  const std::shared_ptr<const WebSocketOptions> shared_options_;

 public:
  const WebSocketOptions& options;
  const HttpRequest request;
  const std::string subprotocol;
  std::unique_ptr<net_internal::WsDeflate> deflate;  // when permessage-deflate was agreed
  Stream stream;
  Pid owner;
  // Frames to write, in order: this connection's own (consecutive ones in one string) and
  // frames shared with the other members of a room (encoded once for all).
  struct Piece {
    std::string own;
    std::shared_ptr<const std::string> shared;
  };
  std::vector<Piece> pieces;  // not a deque: an empty one allocates nothing (idle connections)
  size_t queued = 0;          // bytes in `pieces`, and in the write under way
  std::vector<std::pair<std::weak_ptr<Rooms>, std::string>> rooms;  // joined, to leave at the end
  Event work;                                                       // the writer waits here
  bool closing = false;                                             // a close frame is queued
  bool failed = false;    // closed by Fail: half-close once the close frame is out
  bool finished = false;  // the reader is done: the writer flushes and closes the stream
  uint64_t dropped = 0;

 private:
  // A client's masking key, new for every frame (RFC 6455 §5.3: unpredictable).
  static uint32_t Mask();
  // `request` as the connection keeps it for as long as it lasts: without the handshake's own
  // headers (spent) and without room to spare.
  static HttpRequest WithoutHandshake(HttpRequest request);
};

// Reads until the connection ends, then tells the owner (WsClosed, last), leaves the rooms, and
// lets the writer finish.
Task<absl::Status> Serve(Self self, std::shared_ptr<Connection> connection, std::string leftover);
// Writes what is queued until the reader is done, then closes the stream.
Task<absl::Status> WriterRun(Self self, std::shared_ptr<Connection> connection);

}  // namespace snow::net::net_websocket
