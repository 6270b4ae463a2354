// The client side of WebSocket: the opening handshake over HttpClient, then the same connection
// machinery as a server's (net/internal/websocket_connection.h), with frames masked.
#include <algorithm>
#include <array>
#include <utility>
#include <variant>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "snow/core/exit_reason.h"
#include "snow/core/status.h"
#include "snow/net/crypto.h"
#include "snow/net/internal/websocket_connection.h"
#include "snow/net/websocket.h"

namespace snow::net {
namespace {

using net_websocket::Connection;

// The reader tells the watcher that the connection has ended.
struct ReaderDone {};

// Closes the connection with 1001 if its owner ends before it.
Task<absl::Status> WatchOwner(Self self, std::shared_ptr<Connection> connection) {
  self.Monitor(connection->owner);
  auto event = co_await self.Receive<Down, ReaderDone>();
  if (std::holds_alternative<Down>(event) && !connection->finished) {
    connection->QueueClose(net_internal::kWsGoingAway, "the client went away");
  }
  co_return absl::OkStatus();
}

Task<absl::Status> ClientReader(Self self, std::shared_ptr<Connection> connection,
                                std::string leftover, Pid watcher) {
  absl::Status served =
      co_await net_websocket::Serve(self, std::move(connection), std::move(leftover));
  self.Send(watcher, ReaderDone{});
  co_return served;
}

}  // namespace

Task<absl::StatusOr<WebSocket>> ConnectWebSocket(Self self, SocketAddress address,
                                                 std::string target,
                                                 WebSocketClientOptions options) {
  absl::StatusOr<HttpClient> http = co_await HttpClient::Connect(address, options.http);
  SNOW_CO_RETURN_IF_ERROR(http.status());
  std::array<uint8_t, 16> nonce;
  SNOW_CO_RETURN_IF_ERROR(RandomBytes(nonce));
  const std::string key = absl::Base64Escape(
      absl::string_view(reinterpret_cast<const char*>(nonce.data()), nonce.size()));

  HttpRequest upgrade;
  upgrade.method = "GET";
  upgrade.target = std::move(target);
  upgrade.headers = {{"Upgrade", "websocket"},
                     {"Connection", "Upgrade"},
                     {"Sec-WebSocket-Key", key},
                     {"Sec-WebSocket-Version", "13"}};
  const WebSocketOptions& ws = options.websocket;
  if (!ws.subprotocols.empty()) {
    upgrade.headers.push_back({"Sec-WebSocket-Protocol", absl::StrJoin(ws.subprotocols, ", ")});
  }
  if (ws.deflate) {
    upgrade.headers.push_back(
        {"Sec-WebSocket-Extensions", std::string(net_internal::kWsDeflateClientOffer)});
  }
  for (HttpHeader& h : options.headers) upgrade.headers.push_back(std::move(h));
  const std::string upgrade_target = upgrade.target;
  absl::StatusOr<HttpResponse> answer = co_await http->Fetch(upgrade);
  SNOW_CO_RETURN_IF_ERROR(answer.status());

  if (answer->status != 101) {
    (void)co_await http->Close();
    co_return absl::PermissionDeniedError(
        absl::StrCat("the server refused the WebSocket upgrade: ", answer->status, " ",
                     AbslView(HttpReason(answer->status)), " ", answer->body));
  }
  auto refuse = [](std::string why) {
    return absl::DataLossError(absl::StrCat("WebSocket handshake: ", why));
  };
  absl::Status broken;
  if (!HeaderHasToken(answer->Header("Upgrade"), "websocket") ||
      !HeaderHasToken(answer->Header("Connection"), "upgrade")) {
    broken = refuse("the 101 answer lacks Upgrade: websocket or Connection: Upgrade");
  } else if (answer->Header("Sec-WebSocket-Accept").value_or("") != WebSocketAcceptFor(key)) {
    broken = refuse("Sec-WebSocket-Accept does not answer the key");
  }
  std::string subprotocol(answer->Header("Sec-WebSocket-Protocol").value_or(""));
  if (broken.ok() && !subprotocol.empty() &&
      std::find(ws.subprotocols.begin(), ws.subprotocols.end(), subprotocol) ==
          ws.subprotocols.end()) {
    broken = refuse(
        absl::StrCat("the server chose subprotocol \"", subprotocol, "\", which was not offered"));
  }
  std::optional<net_internal::WsDeflateParameters> deflate;
  if (std::optional<std::string_view> extensions = answer->Header("Sec-WebSocket-Extensions");
      broken.ok() && extensions && !extensions->empty()) {
    absl::StatusOr<net_internal::WsDeflateParameters> agreed =
        ws.deflate ? net_internal::ReadWsDeflateAnswer(*extensions)
                   : absl::FailedPreconditionError("the server agreed to an extension not offered");
    if (agreed.ok()) {
      deflate = *agreed;
    } else {
      broken = refuse(std::string(agreed.status().message()));
    }
  }
  if (!broken.ok()) {
    (void)co_await http->Close();
    co_return broken;
  }

  std::string unread;
  Stream stream = http->TakeStream(&unread);
  HttpRequest request;  // what WebSocket::request() shows on this side: the request sent
  request.method = "GET";
  request.target = upgrade_target;
  request.path = upgrade_target.substr(0, upgrade_target.find('?'));
  request.headers = std::move(upgrade.headers);
  auto connection = std::make_shared<Connection>(
      true, std::make_shared<const WebSocketOptions>(options.websocket), std::move(request),
      std::move(subprotocol), deflate, std::move(stream));
  connection->owner = self.pid();
  const Pid watcher = self.Spawn(WatchOwner, connection);
  self.Spawn(net_websocket::WriterRun, connection);
  self.Spawn(ClientReader, connection, std::move(unread), watcher);
  co_return WebSocket(std::move(connection));
}

Task<absl::StatusOr<WebSocket>> ConnectWebSocket(Self self, SocketAddress address,
                                                 std::string target) {
  const WebSocketClientOptions defaults;
  co_return co_await ConnectWebSocket(self, address, std::move(target), defaults);
}

}  // namespace snow::net
