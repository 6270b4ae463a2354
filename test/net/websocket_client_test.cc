// ConnectWebSocket against Snow's server (echo, deflate, subprotocols, refusal, the closing
// handshake both ways, the owner's end) and against raw servers that break the rules (a masked
// frame, a wrong accept key, silence after the handshake).
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "snow/core/snow.h"
#include "snow/net/http_router.h"
#include "snow/net/internal/websocket_frames.h"
#include "snow/net/tcp.h"
#include "snow/net/websocket.h"
#include "snow/test/net/http_testing.h"
#include "snow/test/testing/co_test.h"

namespace snow::net {
namespace {

using net_internal::AppendWsFrame;
using net_internal::WsOpcode;
using net_internal::WsReader;
using ::snow::testing::IsOk;
using ::snow::testing::RealRuntimeOptions;
using ::snow::testing::RunOnTestRuntime;
using ::snow::testing::StatusIs;
using ::testing::HasSubstr;

// What the server's handler saw at the end, for the test to check.
struct ServerSaw {
  uint16_t code;
};

// Echoes; tells `watcher` (registered as "watcher") the code it was closed with.
Task<absl::Status> Echo(Self self, WebSocket ws) {
  for (;;) {
    auto event = co_await self.Receive<WsMessage, WsClosed>();
    if (auto* closed = std::get_if<WsClosed>(&event)) {
      (void)self.SendNamed("watcher", ServerSaw{closed->code});
      co_return absl::OkStatus();
    }
    WsMessage& m = std::get<WsMessage>(event);
    if (m.data == "bye") co_return absl::OkStatus();  // closes with 1000
    (void)ws.Send(m.data, m.text);
  }
}

Task<HttpResponse> OnlyWithToken(Self, HttpRequest request) {
  if (request.Header("Authorization").value_or("") != "Bearer yes") {
    co_return HttpResponse::Text(403, "no token\n");
  }
  HttpResponse go_on;
  go_on.status = 101;
  co_return go_on;
}

// Tells the peer what its request() shows: a header the client chose, and whether the
// handshake's own headers are still there.
Task<absl::Status> ShowRequest(Self self, WebSocket ws) {
  const HttpRequest& r = ws.request();
  auto has = [&r](std::string_view name) { return r.Header(name) ? "yes" : "no"; };
  (void)ws.Send(absl::StrCat(r.path, " token=", AbslView(r.Header("Authorization").value_or("-")),
                             " key=", has("Sec-WebSocket-Key"), " upgrade=", has("Upgrade"),
                             " host=", has("Host")));
  (void)co_await self.Receive<WsClosed>();
  co_return absl::OkStatus();
}

template <typename Test>
absl::Status WithEchoServer(Test test) {
  HttpRouter router;
  router.Get("/echo", AcceptWebSocket(Echo, {.subprotocols = {"chat.v2", "chat.v1"}}));
  router.Get("/guarded", AcceptWebSocket(Echo, {.accept = OnlyWithToken}));
  router.Get("/plain", AcceptWebSocket(Echo, {.deflate = false}));
  router.Get("/request", AcceptWebSocket(ShowRequest));
  return WithHttpServer({}, router.handler(), [test](Self self, SocketAddress address) {
    EXPECT_TRUE(self.Register("watcher").ok());
    return test(self, address);
  });
}

Task<WsMessage> NextMessage(Self self) {
  auto event = co_await self.Receive<WsMessage, WsClosed>();
  if (auto* m = std::get_if<WsMessage>(&event)) co_return std::move(*m);
  co_return WsMessage{.text = false, .data = "<closed>"};
}

Task<absl::Status> EchoesEveryKind(Self self, SocketAddress address) {
  for (const char* path : {"/echo", "/plain"}) {
    absl::StatusOr<WebSocket> ws = co_await ConnectWebSocket(self, address, path);
    SNOW_CO_RETURN_IF_ERROR(ws.status());
    EXPECT_EQ(ws->compressed(), std::string_view(path) == "/echo") << path;
    const std::vector<std::string> messages = {"", "hello", std::string(125, 'a'),
                                               std::string(126, 'b'), std::string(70000, 'c')};
    for (const std::string& m : messages) {
      SNOW_CO_RETURN_IF_ERROR(ws->Send(m, /*text=*/true));
      WsMessage echo = co_await NextMessage(self);
      EXPECT_TRUE(echo.text);
      EXPECT_EQ(echo.data, m) << path << " " << m.size();
    }
    std::string binary(100000, '\0');
    for (size_t i = 0; i < binary.size(); ++i) binary[i] = static_cast<char>(i * 7919 % 251);
    SNOW_CO_RETURN_IF_ERROR(ws->Send(binary, /*text=*/false));
    WsMessage echo = co_await NextMessage(self);
    EXPECT_FALSE(echo.text);
    EXPECT_EQ(echo.data, binary);

    // The closing handshake from the client: both sides see the code.
    ws->Close(4000, "done");
    auto end = co_await self.Receive<WsClosed>();
    EXPECT_EQ(end.code, 4000);
    auto saw = co_await self.ReceiveFor<ServerSaw>(kHttpTestTimeout);
    SNOW_CO_RETURN_IF_ERROR(saw.status());
    EXPECT_EQ(saw->code, 4000);
  }
  co_return absl::OkStatus();
}

TEST(WebSocketClientTest, EchoesEveryKindOfMessageWithAndWithoutDeflateAndClosesInOrder) {
  EXPECT_THAT(WithEchoServer(EchoesEveryKind), IsOk());
}

Task<absl::Status> Negotiates(Self self, SocketAddress address) {
  WebSocketClientOptions options;
  options.websocket.subprotocols = {"chat.v3", "chat.v1"};
  absl::StatusOr<WebSocket> ws = co_await ConnectWebSocket(self, address, "/echo", options);
  SNOW_CO_RETURN_IF_ERROR(ws.status());
  EXPECT_EQ(ws->subprotocol(), "chat.v1");

  absl::StatusOr<WebSocket> refused = co_await ConnectWebSocket(self, address, "/guarded");
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kPermissionDenied, "403"));
  WebSocketClientOptions with_token;
  with_token.headers = {{"Authorization", "Bearer yes"}};
  absl::StatusOr<WebSocket> let_in =
      co_await ConnectWebSocket(self, address, "/guarded", with_token);
  SNOW_CO_RETURN_IF_ERROR(let_in.status());

  // The server's handler ending closes with 1000, which this side reads.
  SNOW_CO_RETURN_IF_ERROR(let_in->Send("bye"));
  auto end = co_await self.Receive<WsClosed>();
  EXPECT_EQ(end.code, 1000);
  co_return absl::OkStatus();
}

TEST(WebSocketClientTest, NegotiatesSubprotocolsSendsHeadersAndReportsARefusal) {
  EXPECT_THAT(WithEchoServer(Negotiates), IsOk());
}

Task<absl::Status> ConnectThenReturn(Self self, SocketAddress address) {
  absl::StatusOr<WebSocket> ws = co_await ConnectWebSocket(self, address, "/echo");
  SNOW_CO_RETURN_IF_ERROR(ws.status());
  co_return absl::OkStatus();  // the owner ends with the connection open
}

Task<absl::Status> OwnerEnds(Self self, SocketAddress address) {
  self.Spawn(ConnectThenReturn, address);
  auto saw = co_await self.ReceiveFor<ServerSaw>(kHttpTestTimeout);
  SNOW_CO_RETURN_IF_ERROR(saw.status());
  EXPECT_EQ(saw->code, 1001);
  co_return absl::OkStatus();
}

Task<absl::Status> KeepsTheRequest(Self self, SocketAddress address) {
  WebSocketClientOptions options;
  options.headers = {{"Authorization", "Bearer 7"}};
  absl::StatusOr<WebSocket> ws = co_await ConnectWebSocket(self, address, "/request", options);
  SNOW_CO_RETURN_IF_ERROR(ws.status());
  // Both sides keep the request without the handshake's spent headers, and with the others.
  WsMessage shown = co_await NextMessage(self);
  EXPECT_EQ(shown.data, "/request token=Bearer 7 key=no upgrade=no host=yes");
  EXPECT_EQ(ws->request().Header("Authorization").value_or(""), "Bearer 7");
  EXPECT_FALSE(ws->request().Header("Sec-WebSocket-Key").has_value());
  co_return absl::OkStatus();
}

TEST(WebSocketClientTest, BothSidesKeepTheRequestWithoutTheHandshakesOwnHeaders) {
  EXPECT_THAT(WithEchoServer(KeepsTheRequest), IsOk());
}

TEST(WebSocketClientTest, AnOwnerThatEndsClosesItsConnectionWith1001) {
  EXPECT_THAT(WithEchoServer(OwnerEnds), IsOk());
}

// A raw server: answers the upgrade (with the right key unless `wrong_key`), then does `then`:
// "masked" sends a masked frame and reports the close code the client answers with;
// "silent" reads and drops everything.
Task<absl::Status> RawServer(Self self, TcpListener listener, bool wrong_key, std::string then,
                             Pid report) {
  absl::StatusOr<TcpStream> stream = co_await listener.Accept();
  SNOW_CO_RETURN_IF_ERROR(stream.status());
  absl::StatusOr<std::string> request = co_await ReadRequestHead(*stream);
  if (!request.ok()) co_return absl::OkStatus();  // the client gave up: nothing to answer
  const size_t at = request->find("Sec-WebSocket-Key: ") + 19;
  const std::string key = request->substr(at, request->find("\r\n", at) - at);
  std::vector<char> chunk(4096);
  const std::string answer =
      absl::StrCat("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n",
                   "Connection: Upgrade\r\nSec-WebSocket-Accept: ",
                   wrong_key ? WebSocketAcceptFor("another") : WebSocketAcceptFor(key), "\r\n\r\n");
  SNOW_CO_RETURN_IF_ERROR(co_await stream->WriteAll(answer, kHttpTestTimeout));
  if (then == "masked") {
    std::string frame;
    AppendWsFrame(frame, WsOpcode::kText, "masked by a server", true, 0x01020304);
    SNOW_CO_RETURN_IF_ERROR(co_await stream->WriteAll(frame, kHttpTestTimeout));
    WsReader reader({.expect_masked = true, .max_message_bytes = 1 << 16});
    for (;;) {
      absl::StatusOr<size_t> n =
          co_await stream->ReadSome(std::span<char>(chunk), kHttpTestTimeout);
      if (!n.ok() || *n == 0) break;
      size_t used = 0;
      if (reader.Read(std::string_view(chunk.data(), *n), &used) == WsReader::Event::kClose) {
        self.Send(report, ServerSaw{reader.close_code()});
        break;
      }
    }
  } else {
    for (;;) {
      absl::StatusOr<size_t> n =
          co_await stream->ReadSome(std::span<char>(chunk), kHttpTestTimeout);
      if (!n.ok() || *n == 0) break;
    }
  }
  co_return co_await stream->Close();
}

Task<absl::Status> AgainstRawServers(Self self) {
  {
    absl::StatusOr<TcpListener> listener = TcpListener::Bind(SocketAddress::Loopback());
    SNOW_CO_RETURN_IF_ERROR(listener.status());
    const SocketAddress address = listener->local_address();
    self.Spawn(RawServer, std::move(*listener), true, std::string("silent"), self.pid());
    absl::StatusOr<WebSocket> ws = co_await ConnectWebSocket(self, address, "/");
    EXPECT_THAT(ws, StatusIs(absl::StatusCode::kDataLoss, "Sec-WebSocket-Accept"));
  }
  {
    absl::StatusOr<TcpListener> listener = TcpListener::Bind(SocketAddress::Loopback());
    SNOW_CO_RETURN_IF_ERROR(listener.status());
    const SocketAddress address = listener->local_address();
    self.Spawn(RawServer, std::move(*listener), false, std::string("masked"), self.pid());
    absl::StatusOr<WebSocket> ws = co_await ConnectWebSocket(self, address, "/");
    SNOW_CO_RETURN_IF_ERROR(ws.status());
    auto end = co_await self.Receive<WsClosed>();
    EXPECT_EQ(end.code, 1002);
    auto saw = co_await self.ReceiveFor<ServerSaw>(kHttpTestTimeout);
    SNOW_CO_RETURN_IF_ERROR(saw.status());
    EXPECT_EQ(saw->code, 1002);
  }
  {
    absl::StatusOr<TcpListener> listener = TcpListener::Bind(SocketAddress::Loopback());
    SNOW_CO_RETURN_IF_ERROR(listener.status());
    const SocketAddress address = listener->local_address();
    self.Spawn(RawServer, std::move(*listener), false, std::string("silent"), self.pid());
    WebSocketClientOptions options;
    options.websocket.ping_after = absl::Milliseconds(50);
    options.websocket.ping_timeout = absl::Milliseconds(50);
    absl::StatusOr<WebSocket> ws = co_await ConnectWebSocket(self, address, "/", options);
    SNOW_CO_RETURN_IF_ERROR(ws.status());
    auto end = co_await self.Receive<WsClosed>();
    EXPECT_EQ(end.code, 1006);
    EXPECT_THAT(end.reason, HasSubstr("ping"));
  }
  co_return absl::OkStatus();
}

TEST(WebSocketClientTest, AWrongKeyAMaskedServerFrameAndASilentServerAreEachDetected) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(1), AgainstRawServers), IsOk());
}

}  // namespace
}  // namespace snow::net
