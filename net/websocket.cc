#include "snow/net/websocket.h"

#include <exception>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "snow/core/status.h"
#include "snow/net/crypto.h"
#include "snow/net/internal/websocket_connection.h"

namespace snow::net {
namespace net_websocket {

// What AcceptWebSocket was given, shared by every connection it accepts.
struct Config {
  WebSocketHandler handler;
  WebSocketOptions options;
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
                            std::shared_ptr<const Config> config) {
  OwnerGuard guard{connection};
  absl::Status status = co_await config->handler(self, WebSocket(connection));
  guard.ended_ok = status.ok();
  co_return status;
}

}  // namespace

// The connection after the 101 answer: this actor reads; a writer actor writes; the handler's
// actor owns it.
class Upgrade final : public HttpUpgrade {
 public:
  Upgrade(std::shared_ptr<const Config> config, HttpRequest request, std::string subprotocol,
          std::optional<net_internal::WsDeflateParameters> deflate)
      : config_(std::move(config)),
        request_(std::move(request)),
        subprotocol_(std::move(subprotocol)),
        deflate_(deflate) {}

  // Not a coroutine: everything moves into the connection, which the returned task owns.
  Task<absl::Status> Run(Self self, Stream& stream, std::string leftover) override {
    auto connection = std::make_shared<Connection>(
        false, std::shared_ptr<const WebSocketOptions>(config_, &config_->options),
        std::move(request_), std::move(subprotocol_), deflate_, std::move(stream));
    connection->owner = self.Spawn(OwnerRun, connection, config_);
    self.Spawn(WriterRun, connection);
    return Serve(self, std::move(connection), std::move(leftover));
  }

 private:
  const std::shared_ptr<const Config> config_;
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

using net_websocket::Config;

HttpResponse Refuse(int status, std::string why) { return HttpResponse::Text(status, why + "\n"); }

Task<HttpResponse> Accept(Self self, std::shared_ptr<const Config> config, HttpRequest request) {
  if (request.method != "GET") {
    co_return Refuse(405, "a WebSocket opens with GET").With("Allow", "GET");
  }
  if (request.version_minor < 1 || !HeaderHasToken(request.Header("Upgrade"), "websocket") ||
      !HeaderHasToken(request.Header("Connection"), "upgrade")) {
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
  response.upgrade = std::make_shared<net_websocket::Upgrade>(config, std::move(request),
                                                              std::move(subprotocol), parameters);
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
