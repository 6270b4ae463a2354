#include "snow/net/websocket.h"

#include <exception>
#include <span>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "snow/core/event.h"
#include "snow/core/status.h"
#include "snow/net/crypto.h"
#include "snow/net/internal/websocket_frames.h"
#include "snow/net/stream.h"

namespace snow::net {
namespace net_websocket {

using net_internal::AppendWsFrame;
using net_internal::WsOpcode;
using net_internal::WsReader;

// What the reader (the HTTP connection's actor), the writer and the handler's actor share; all
// on one shard.
class Connection {
 public:
  Connection(WebSocketOptions options, HttpRequest request, std::string subprotocol, Stream stream)
      : options(std::move(options)),
        request(std::move(request)),
        subprotocol(std::move(subprotocol)),
        stream(std::move(stream)) {}

  size_t queued_bytes() const { return out.size() + writing_bytes; }

  void Queue(WsOpcode opcode, std::string_view payload) {
    AppendWsFrame(out, opcode, payload);
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
  Stream stream;
  Pid owner;
  std::string out;  // frames to write
  size_t writing_bytes = 0;
  Event work;             // the writer waits here
  bool closing = false;   // a close frame is queued
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
  for (;;) {
    if (c.out.empty()) {
      if (c.finished) break;
      (void)co_await c.work.Wait();
      continue;
    }
    std::string writing = std::move(c.out);
    c.out.clear();
    c.writing_bytes = writing.size();
    absl::Status written = co_await c.stream.WriteAll(writing, c.options.write_timeout);
    c.writing_bytes = 0;
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
          std::string subprotocol)
      : handler_(handler),
        options_(std::move(options)),
        request_(std::move(request)),
        subprotocol_(std::move(subprotocol)) {}

  Task<absl::Status> Run(Self self, Stream& stream, std::string leftover) override {
    auto connection = std::make_shared<Connection>(options_, std::move(request_),
                                                   std::move(subprotocol_), std::move(stream));
    connection->owner = self.Spawn(OwnerRun, connection, handler_);
    self.Spawn(WriterRun, connection);
    WsClosed closed = co_await ReadLoop(self, *connection, std::move(leftover));
    self.Send(connection->owner, std::move(closed));
    connection->finished = true;
    connection->work.Notify();
    co_return absl::OkStatus();
  }

 private:
  static Task<WsClosed> ReadLoop(Self self, Connection& c, std::string leftover) {
    WsReader reader({.expect_masked = true, .max_message_bytes = c.options.max_message_bytes});
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
        case WsReader::Event::kMessage:
          self.Send(c.owner, WsMessage{reader.text(), std::move(reader.payload())});
          break;
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
};

}  // namespace net_websocket

absl::Status WebSocket::Send(std::string_view data, bool text) const {
  net_websocket::Connection& c = *connection_;
  if (c.closing) return absl::FailedPreconditionError("the WebSocket is closing");
  if (c.queued_bytes() + data.size() > c.options.max_queued_bytes) {
    if (c.options.overflow == WsOverflow::kDrop) {
      ++c.dropped;
      return absl::ResourceExhaustedError("the peer reads too slowly: message dropped");
    }
    c.QueueClose(net_internal::kWsPolicyViolation, "slow consumer");
    return absl::ResourceExhaustedError("the peer reads too slowly: closing with 1008");
  }
  c.Queue(text ? net_internal::WsOpcode::kText : net_internal::WsOpcode::kBinary, data);
  return absl::OkStatus();
}

void WebSocket::Close(uint16_t code, std::string_view reason) const {
  connection_->QueueClose(code, reason);
}

const HttpRequest& WebSocket::request() const { return connection_->request; }
const std::string& WebSocket::subprotocol() const { return connection_->subprotocol; }
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

HttpResponse Refuse(int status, std::string why) {
  HttpResponse r = HttpResponse::Text(status, why + "\n");
  return r;
}

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
  HttpResponse response;
  response.status = 101;
  response.headers = {{"Upgrade", "websocket"},
                      {"Connection", "Upgrade"},
                      {"Sec-WebSocket-Accept", WebSocketAcceptFor(key)}};
  if (!subprotocol.empty()) response.headers.push_back({"Sec-WebSocket-Protocol", subprotocol});
  response.upgrade = std::make_shared<net_websocket::Upgrade>(
      config->handler, config->options, std::move(request), std::move(subprotocol));
  co_return response;
}

}  // namespace

HttpHandler AcceptWebSocket(WebSocketHandler handler, WebSocketOptions options) {
  auto config = std::make_shared<const Config>(Config{handler, std::move(options)});
  // Not a coroutine: the lambda hands the configuration to Accept, whose frame keeps a copy.
  return
      [config](Self self, HttpRequest request) { return Accept(self, config, std::move(request)); };
}

}  // namespace snow::net
