#include "snow/net/websocket.h"

#include <algorithm>
#include <deque>
#include <exception>
#include <span>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "snow/core/event.h"
#include "snow/core/remote.h"
#include "snow/core/status.h"
#include "snow/net/crypto.h"
#include "snow/net/internal/websocket_deflate.h"
#include "snow/net/internal/websocket_frames.h"
#include "snow/net/stream.h"
#include "snow/net/websocket_rooms.h"

namespace snow::net {
namespace net_websocket {

using net_internal::AppendWsFrame;
using net_internal::WsOpcode;
using net_internal::WsReader;

// What the reader (the HTTP connection's actor), the writer and the handler's actor share; all
// on one shard.
class Connection {
 public:
  Connection(WebSocketOptions options, HttpRequest request, std::string subprotocol,
             std::optional<net_internal::WsDeflateParameters> deflate, Stream stream)
      : options(std::move(options)),
        request(std::move(request)),
        subprotocol(std::move(subprotocol)),
        stream(std::move(stream)) {
    if (deflate) this->deflate = std::make_unique<net_internal::WsDeflate>(*deflate);
  }

  size_t queued_bytes() const { return queued; }

  void Queue(WsOpcode opcode, std::string_view payload, bool compressed = false) {
    if (pieces.empty() || pieces.back().shared != nullptr) pieces.emplace_back();
    std::string& own = pieces.back().own;
    const size_t before = own.size();
    AppendWsFrame(own, opcode, payload, true, std::nullopt, compressed);
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
  // Queues a close frame, once; no data frame goes after it.
  void QueueClose(uint16_t code, std::string_view reason) {
    if (closing) return;
    closing = true;
    Queue(WsOpcode::kClose, net_internal::WsClosePayload(code, reason));
  }

  const WebSocketOptions options;
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
  std::deque<Piece> pieces;
  size_t queued = 0;  // bytes in `pieces`, and in the write under way
  std::vector<std::pair<std::weak_ptr<Rooms>, std::string>> rooms;  // joined, to leave at the end
  Event work;                                                       // the writer waits here
  bool closing = false;                                             // a close frame is queued
  bool finished = false;  // the reader is done: the writer flushes and closes the stream
  uint64_t dropped = 0;
};

namespace {

// Runs the handler as the connection's actor; when its frame goes (return, failure or crash),
// the connection closes with 1000 or 1011.
struct OwnerGuard {
  std::shared_ptr<Connection> connection;
  bool ended_ok = false;
  ~OwnerGuard() {
    if (ended_ok && std::uncaught_exceptions() == 0) {
      connection->QueueClose(net_internal::kWsNormalClosure, "");
    } else {
      connection->QueueClose(net_internal::kWsInternalError, "the server's handler failed");
    }
  }
};

Task<absl::Status> OwnerRun(Self self, std::shared_ptr<Connection> connection,
                            WebSocketHandler handler) {
  OwnerGuard guard{connection};
  absl::Status status = co_await handler(self, WebSocket(connection));
  guard.ended_ok = status.ok();
  co_return status;
}

// Writes what is queued until the reader is done, then closes the stream.
Task<absl::Status> WriterRun(Self, std::shared_ptr<Connection> connection) {
  Connection& c = *connection;
  // Once this side's close frame is out, the peer has close_timeout to answer it; then the
  // stream is closed, which ends the reader's wait too.
  absl::Time close_deadline = absl::InfiniteFuture();
  for (;;) {
    if (c.pieces.empty()) {
      if (c.finished) break;
      if (c.closing && close_deadline == absl::InfiniteFuture()) {
        close_deadline = absl::Now() + c.options.close_timeout;
      }
      const bool woken = co_await c.work.Wait(close_deadline - absl::Now());
      if (!woken && absl::Now() >= close_deadline) {
        c.stream.ShutdownNow();  // ends the reader's wait: it reads the end of the stream
        while (!c.finished) (void)co_await c.work.Wait();
        break;
      }
      continue;
    }
    Connection::Piece piece = std::move(c.pieces.front());
    c.pieces.pop_front();
    const std::string_view bytes = piece.shared != nullptr ? *piece.shared : piece.own;
    absl::Status written = co_await c.stream.WriteAll(bytes, c.options.write_timeout);
    c.queued -= bytes.size();
    if (!written.ok()) break;  // the reader's read fails too once the stream is closed
  }
  co_return co_await c.stream.Close();
}

}  // namespace

// The connection after the 101 answer: this actor reads; a writer actor writes; the handler's
// actor owns it.
class Upgrade final : public HttpUpgrade {
 public:
  Upgrade(WebSocketHandler handler, WebSocketOptions options, HttpRequest request,
          std::string subprotocol, std::optional<net_internal::WsDeflateParameters> deflate)
      : handler_(std::move(handler)),
        options_(std::move(options)),
        request_(std::move(request)),
        subprotocol_(std::move(subprotocol)),
        deflate_(deflate) {}

  Task<absl::Status> Run(Self self, Stream& stream, std::string leftover) override {
    auto connection = std::make_shared<Connection>(
        options_, std::move(request_), std::move(subprotocol_), deflate_, std::move(stream));
    connection->owner = self.Spawn(OwnerRun, connection, handler_);
    self.Spawn(WriterRun, connection);
    WsClosed closed = co_await ReadLoop(self, *connection, std::move(leftover));
    connection->finished = true;
    for (const auto& [rooms, room] : connection->rooms) {
      if (std::shared_ptr<Rooms> alive = rooms.lock()) alive->LeaveLocal(connection.get(), room);
    }
    connection->rooms.clear();
    self.Send(connection->owner, std::move(closed));
    connection->work.Notify();
    co_return absl::OkStatus();
  }

 private:
  static Task<WsClosed> ReadLoop(Self self, Connection& c, std::string leftover) {
    WsReader reader({.expect_masked = true,
                     .max_message_bytes = c.options.max_message_bytes,
                     .allow_rsv1 = c.deflate != nullptr});
    std::string buffer = std::move(leftover);
    const size_t kReadBytes = 16 * 1024;
    size_t begin = 0;
    bool awaiting_pong = false;
    for (;;) {
      if (begin == buffer.size()) {
        buffer.resize(kReadBytes);
        begin = 0;
        const absl::Duration wait = c.closing       ? c.options.close_timeout
                                    : awaiting_pong ? c.options.ping_timeout
                                                    : c.options.ping_after;
        absl::StatusOr<size_t> n = co_await c.stream.ReadSome(std::span<char>(buffer), wait);
        if (!n.ok() && absl::IsDeadlineExceeded(n.status()) && !c.closing && !awaiting_pong) {
          buffer.clear();
          c.Queue(WsOpcode::kPing, "");
          awaiting_pong = true;
          continue;
        }
        if (!n.ok()) {
          co_return WsClosed{
              1006, absl::IsDeadlineExceeded(n.status())
                        ? (c.closing ? "no answer to the close frame" : "no answer to a ping")
                        : std::string(n.status().message())};
        }
        if (*n == 0) co_return WsClosed{1006, "closed without a close frame"};
        buffer.resize(*n);
        awaiting_pong = false;  // any bytes show the peer is alive
      }
      size_t used = 0;
      const WsReader::Event event = reader.Read(std::string_view(buffer).substr(begin), &used);
      begin += used;
      switch (event) {
        case WsReader::Event::kNeedMore:
          break;
        case WsReader::Event::kMessage: {
          if (!reader.compressed()) {
            self.Send(c.owner, WsMessage{reader.text(), std::move(reader.payload())});
            break;
          }
          absl::StatusOr<std::string> inflated =
              c.deflate->Inflate(reader.payload(), c.options.max_message_bytes);
          uint16_t refusal = 0;
          if (!inflated.ok()) {
            refusal = absl::IsResourceExhausted(inflated.status()) ? net_internal::kWsMessageTooBig
                                                                   : net_internal::kWsInvalidData;
          } else if (reader.text()) {
            net_internal::Utf8Validator utf8;
            if (!utf8.Feed(*inflated) || !utf8.complete()) refusal = net_internal::kWsInvalidData;
          }
          if (refusal != 0) {
            const std::string why = inflated.ok() ? std::string("text that is not UTF-8")
                                                  : std::string(inflated.status().message());
            c.QueueClose(refusal, why);
            co_return WsClosed{refusal, why};
          }
          self.Send(c.owner, WsMessage{reader.text(), std::move(*inflated)});
          break;
        }
        case WsReader::Event::kPing:
          if (!c.closing) c.Queue(WsOpcode::kPong, reader.payload());
          break;
        case WsReader::Event::kPong:
          break;
        case WsReader::Event::kClose: {
          // Answer with the same code (RFC 6455 §5.5.1), unless this side closed first.
          const uint16_t code = reader.close_code();
          c.QueueClose(code == net_internal::kWsNoStatus ? net_internal::kWsNormalClosure : code,
                       "");
          co_return WsClosed{code, reader.close_reason()};
        }
        case WsReader::Event::kError:
          c.QueueClose(reader.error_code(), reader.error());
          co_return WsClosed{reader.error_code(), reader.error()};
      }
    }
  }

  const WebSocketHandler handler_;
  const WebSocketOptions options_;
  HttpRequest request_;
  std::string subprotocol_;
  const std::optional<net_internal::WsDeflateParameters> deflate_;
};

}  // namespace net_websocket

absl::Status WebSocket::Send(std::string_view data, bool text) const {
  net_websocket::Connection& c = *connection_;
  SNOW_RETURN_IF_ERROR(c.Admit(data.size()));
  const net_internal::WsOpcode opcode =
      text ? net_internal::WsOpcode::kText : net_internal::WsOpcode::kBinary;
  if (c.deflate != nullptr && data.size() >= c.options.deflate_min_bytes) {
    c.Queue(opcode, c.deflate->Deflate(data), /*compressed=*/true);
  } else {
    c.Queue(opcode, data);
  }
  return absl::OkStatus();
}

void WebSocket::Close(uint16_t code, std::string_view reason) const {
  connection_->QueueClose(code, reason);
}

const HttpRequest& WebSocket::request() const { return connection_->request; }
const std::string& WebSocket::subprotocol() const { return connection_->subprotocol; }
bool WebSocket::compressed() const { return connection_->deflate != nullptr; }
uint64_t WebSocket::dropped() const { return connection_->dropped; }
size_t WebSocket::queued_bytes() const { return connection_->queued_bytes(); }

std::string WebSocketAcceptFor(std::string_view key) {
  const Sha1Digest digest =
      Sha1(absl::StrCat(AbslView(key), "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"));
  return absl::Base64Escape(
      absl::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

namespace {

// Whether the comma-separated header `value` holds `token` (case-insensitive).
bool HasToken(std::optional<std::string_view> value, std::string_view token) {
  if (!value) return false;
  for (absl::string_view part : absl::StrSplit(AbslView(*value), ',')) {
    if (absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(part), AbslView(token))) return true;
  }
  return false;
}

struct Config {
  WebSocketHandler handler;
  WebSocketOptions options;
};

HttpResponse Refuse(int status, std::string why) { return HttpResponse::Text(status, why + "\n"); }

Task<HttpResponse> Accept(Self self, std::shared_ptr<const Config> config, HttpRequest request) {
  if (request.method != "GET") {
    co_return Refuse(405, "a WebSocket opens with GET").With("Allow", "GET");
  }
  if (request.version_minor < 1 || !HasToken(request.Header("Upgrade"), "websocket") ||
      !HasToken(request.Header("Connection"), "upgrade")) {
    co_return Refuse(400, "not a WebSocket upgrade (Upgrade: websocket, Connection: Upgrade)");
  }
  if (request.Header("Sec-WebSocket-Version").value_or("") != "13") {
    co_return Refuse(426, "WebSocket version 13 only").With("Sec-WebSocket-Version", "13");
  }
  const std::string_view key = request.Header("Sec-WebSocket-Key").value_or("");
  std::string decoded;
  if (!absl::Base64Unescape(AbslView(key), &decoded) || decoded.size() != 16) {
    co_return Refuse(400, "Sec-WebSocket-Key is not 16 bytes in base64");
  }
  if (config->options.accept) {
    HttpResponse verdict = co_await config->options.accept(self, request);
    if (verdict.status != 101) co_return verdict;
  }
  std::string subprotocol;
  if (std::optional<std::string_view> offered = request.Header("Sec-WebSocket-Protocol")) {
    for (absl::string_view p : absl::StrSplit(AbslView(*offered), ',')) {
      const std::string wanted(absl::StripAsciiWhitespace(p));
      for (const std::string& mine : config->options.subprotocols) {
        if (subprotocol.empty() && mine == wanted) subprotocol = mine;
      }
    }
  }
  std::optional<net_internal::WsDeflateAgreement> deflate;
  std::optional<std::string_view> extensions = request.Header("Sec-WebSocket-Extensions");
  if (config->options.deflate && extensions) {
    deflate = net_internal::NegotiateWsDeflate(*extensions,
                                               config->options.deflate_client_no_context_takeover);
  }
  HttpResponse response;
  response.status = 101;
  response.headers = {{"Upgrade", "websocket"},
                      {"Connection", "Upgrade"},
                      {"Sec-WebSocket-Accept", WebSocketAcceptFor(key)}};
  if (!subprotocol.empty()) response.headers.push_back({"Sec-WebSocket-Protocol", subprotocol});
  std::optional<net_internal::WsDeflateParameters> parameters;
  if (deflate) {
    response.headers.push_back({"Sec-WebSocket-Extensions", deflate->response});
    parameters = deflate->parameters;
  }
  response.upgrade = std::make_shared<net_websocket::Upgrade>(
      config->handler, config->options, std::move(request), std::move(subprotocol), parameters);
  co_return response;
}

}  // namespace

std::shared_ptr<Rooms> Rooms::Create(Runtime& runtime) {
  return std::shared_ptr<Rooms>(new Rooms(runtime));
}

Rooms::Rooms(Runtime& runtime) : runtime_(runtime), tables_(runtime.shard_count()) {}

void Rooms::Join(const WebSocket& ws, std::string room) {
  net_websocket::Connection* c = ws.connection_.get();
  if (c->finished) return;  // the connection has ended: it would never leave
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

HttpHandler AcceptWebSocket(WebSocketHandler handler, WebSocketOptions options) {
  auto config = std::make_shared<const Config>(Config{handler, std::move(options)});
  // Not a coroutine: the lambda hands the configuration to Accept, whose frame keeps a copy.
  return
      [config](Self self, HttpRequest request) { return Accept(self, config, std::move(request)); };
}

}  // namespace snow::net
