// File: net/websocket.h
//
// WebSocket (RFC 6455), server and client. AcceptWebSocket makes an HTTP handler that upgrades
// a GET and runs `handler` as the connection's actor; ConnectWebSocket opens one from the calling
// actor, which then owns it the same way. Messages from the peer arrive in that
// actor's mailbox as WsMessage, the end of the connection as WsClosed (always last, once); it
// answers through its WebSocket handle.
//
//   Task<absl::Status> Echo(Self self, net::WebSocket ws) {
//     for (;;) {
//       auto event = co_await self.Receive<net::WsMessage, net::WsClosed>();
//       if (std::holds_alternative<net::WsClosed>(event)) co_return absl::OkStatus();
//       net::WsMessage& m = std::get<net::WsMessage>(event);
//       (void)ws.Send(m.data, m.text);
//     }
//   }
//   router.Get("/echo", net::AcceptWebSocket(Echo));
//
// The handshake: GET, HTTP/1.1, "Upgrade: websocket", "Connection: upgrade", a
// Sec-WebSocket-Key of 16 bytes in base64 and Sec-WebSocket-Version 13, or 400 (426 with the
// version wanted for another version). `accept`, if set, may refuse with any HTTP answer
// before the upgrade (a status other than 101). Subprotocols: the first of the client's list
// that the server offers is chosen (WebSocket::subprotocol()).
//
// Frames and their rules are net/internal/websocket_frames.h's: a violation closes with 1002,
// bad UTF-8 with 1007, a message over max_message_bytes with 1009. Pings are answered at once;
// a connection silent for ping_after gets a ping, and one silent for ping_timeout more is
// closed (the peer is gone: WsClosed{1006}). The handler's actor ending closes with 1000 if it
// returned OK, 1011 if it failed or crashed. Close(code, reason) starts the closing handshake;
// the connection ends when the peer answers it (or after close_timeout).
//
// Sending never blocks: Send queues a frame for the connection's writer. Past
// max_queued_bytes (a consumer slower than its producer), the overflow policy applies: kClose
// closes with 1008 "slow consumer" (the default, like uWebSockets' maxBackpressure), kDrop
// drops the message and counts it (dropped()). Other connections are not affected either way.
//
// Shard affinity: the handler's actor runs on the connection's shard and the handle is used
// there (an actor on another shard sends that actor a message instead). A client's connection
// lives on the shard of the actor that opened it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "snow/core/actor.h"
#include "snow/core/task.h"
#include "snow/net/http.h"
#include "snow/net/http_client.h"
#include "snow/net/http_server.h"
#include "snow/net/socket_address.h"

namespace snow::net {

struct WsMessage {
  bool text = true;
  std::string data;
};

struct WsClosed {
  uint16_t code = 1005;  // the peer's close code, or what this side closed with (1006: lost)
  std::string reason;
};

enum class WsOverflow : uint8_t { kClose, kDrop };

struct WebSocketOptions {
  size_t max_message_bytes = size_t{1} << 20;
  size_t max_queued_bytes = size_t{1} << 20;
  WsOverflow overflow = WsOverflow::kClose;
  absl::Duration ping_after = absl::Seconds(30);
  absl::Duration ping_timeout = absl::Seconds(10);
  absl::Duration close_timeout = absl::Seconds(5);
  absl::Duration write_timeout = absl::Seconds(30);  // a peer that takes no bytes for this long
  std::vector<std::string> subprotocols = {};
  // permessage-deflate (RFC 7692), when the client offers it. The server compresses each
  // message on its own (server_no_context_takeover, so it keeps no history per connection),
  // and only messages of deflate_min_bytes or more; with deflate_client_no_context_takeover it
  // asks the client to do the same, so that reading keeps none either. A message that would
  // inflate past max_message_bytes closes with 1009 as it grows, invalid DEFLATE with 1007.
  bool deflate = true;
  bool deflate_client_no_context_takeover = false;
  size_t deflate_min_bytes = 64;
  // Before the upgrade: an answer other than 101 refuses it (e.g. 403), 101 lets it go on.
  HttpHandler accept = nullptr;
};

namespace net_websocket {
class Connection;
}
class Rooms;

// The handler's handle on its connection. Copies share it.
class WebSocket {
 public:
  explicit WebSocket(std::shared_ptr<net_websocket::Connection> connection)
      : connection_(std::move(connection)) {}

  // Queues a message. kFailedPrecondition once the connection is closing; kResourceExhausted
  // when the overflow policy dropped it or closed the connection.
  absl::Status Send(std::string_view data, bool text = true) const;
  // Starts the closing handshake (code 1000 by default; 1000, 1001 or 3000-4999).
  void Close(uint16_t code = 1000, std::string_view reason = "") const;

  // The upgrade request (path, headers, params) without the handshake's own headers
  // (Connection, Upgrade, Sec-WebSocket-*): subprotocol() and compressed() tell what they agreed.
  const HttpRequest& request() const;
  const std::string& subprotocol() const;
  bool compressed() const;      // permessage-deflate was agreed
  uint64_t dropped() const;     // messages the kDrop policy dropped
  size_t queued_bytes() const;  // waiting to be written

 private:
  friend class Rooms;
  std::shared_ptr<net_websocket::Connection> connection_;
};

// Runs as the connection's actor. A function, or a lambda that passes what it captures to one
// (a capturing lambda that is itself a coroutine would leave its captures behind).
using WebSocketHandler = std::function<Task<absl::Status>(Self, WebSocket)>;

HttpHandler AcceptWebSocket(WebSocketHandler handler, WebSocketOptions options = {});

struct WebSocketClientOptions {
  // The connection's limits, pings, queue bound and policy, as for a server's. `subprotocols`
  // are offered in order; `deflate` offers permessage-deflate (each message compressed on its
  // own); `accept` and `deflate_client_no_context_takeover` are a server's only.
  WebSocketOptions websocket = {};
  HttpClientOptions http = {};           // TLS, Host, the connect and handshake timeouts
  std::vector<HttpHeader> headers = {};  // more handshake headers: Origin, Authorization, ...
};

// The client: opens a WebSocket to `target` ("/chat") at `address` (wss:// with
// options.http.tls). The calling actor owns the connection as a handler owns a server's: the
// peer's messages arrive in its mailbox as WsMessage, the end as WsClosed (last, once), and it
// sends through the handle. If the calling actor ends first, the connection closes with 1001.
// Errors: the connection's, kPermissionDenied when the server answers the upgrade with another
// status (in the message), kDataLoss for an answer that breaks the handshake's rules.
Task<absl::StatusOr<WebSocket>> ConnectWebSocket(Self self, SocketAddress address,
                                                 std::string target,
                                                 WebSocketClientOptions options);
// With the default options (a separate function, as for HttpClient::Connect).
Task<absl::StatusOr<WebSocket>> ConnectWebSocket(Self self, SocketAddress address,
                                                 std::string target);

// base64(SHA-1(key + the RFC's GUID)): the Sec-WebSocket-Accept for a Sec-WebSocket-Key.
std::string WebSocketAcceptFor(std::string_view key);

}  // namespace snow::net
