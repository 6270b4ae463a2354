// A WebSocket echo server: every message sent to /echo comes back, text as text, binary as
// binary; and rooms: a connection to /room/:name is told "joined", then each message it sends
// goes to every other member of that room (the broadcast workload of snow-load). test/interop/
// runs clients that no one here wrote against it (Node.js's ws, and raw bytes from Python).
//
//   example_ws_echo --listen=127.0.0.1:8081      # serves until Ctrl-C; prints ws://.../echo
//   example_ws_echo --listen=127.0.0.1:0         # a free port: the first line says which
//   example_ws_echo --self-test                  # a free port, one exchange, exits
//   example_ws_echo --tls                        # wss:// with a self-signed certificate
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "absl/strings/numbers.h"
#include "snow/core/snow.h"
#include "snow/net/http_router.h"
#include "snow/net/http_server.h"
#include "snow/net/tcp.h"
#include "snow/net/tls.h"
#include "snow/net/websocket.h"
#include "snow/net/websocket_rooms.h"

using snow::Self;
using snow::Task;
namespace net = snow::net;

// The connection's actor: messages arrive in its mailbox, the end of the connection last.
Task<absl::Status> Echo(Self self, net::WebSocket ws) {
  for (;;) {
    auto event = co_await self.Receive<net::WsMessage, net::WsClosed>();
    if (std::holds_alternative<net::WsClosed>(event)) co_return absl::OkStatus();
    net::WsMessage& message = std::get<net::WsMessage>(event);
    (void)ws.Send(message.data, message.text);  // fails only once the connection is closing
  }
}

// A room member: joins, then hands each message to the others, on every shard.
Task<absl::Status> Member(Self self, net::WebSocket ws, std::shared_ptr<net::Rooms> rooms) {
  const std::string room(ws.request().Param("name").value_or(""));
  rooms->Join(ws, room);
  (void)ws.Send("joined");
  for (;;) {
    auto event = co_await self.Receive<net::WsMessage, net::WsClosed>();
    if (std::holds_alternative<net::WsClosed>(event)) co_return absl::OkStatus();
    net::WsMessage& message = std::get<net::WsMessage>(event);
    rooms->BroadcastExcept(self, room, ws, message.data, message.text);
  }
}

// A client's frame as the RFC has it: FIN and the opcode, the mask bit and a 7-bit length, the
// mask, then the payload XOR the mask.
std::string MaskedFrame(uint8_t opcode, std::string_view payload) {
  const char mask[4] = {'\x37', '\x42', '\x1a', '\x5c'};
  std::string frame = {static_cast<char>(0x80 | opcode), static_cast<char>(0x80 | payload.size())};
  frame.append(mask, 4);
  for (size_t i = 0; i < payload.size(); ++i) frame += static_cast<char>(payload[i] ^ mask[i % 4]);
  return frame;
}

// Reads until `buffer` holds `pattern`; its end's offset.
Task<absl::StatusOr<size_t>> ReadUntil(net::TcpStream& client, std::string& buffer,
                                       std::string_view pattern) {
  char chunk[4096];
  while (buffer.find(pattern) == std::string::npos) {
    SNOW_CO_ASSIGN_OR_RETURN(size_t n, co_await client.ReadSome(chunk, absl::Seconds(5)));
    if (n == 0) co_return absl::InternalError("the server closed the connection");
    buffer.append(chunk, n);
  }
  co_return buffer.find(pattern) + pattern.size();
}

// One exchange over a plain socket, checked, as a test would: the upgrade with the RFC's
// sample key, a masked "hello" and its echo, a close (1000) and its answer.
Task<absl::Status> EchoOnce(net::SocketAddress address) {
  SNOW_CO_ASSIGN_OR_RETURN(net::TcpStream client,
                           co_await net::TcpStream::Connect(address, absl::Seconds(5)));
  const std::string_view upgrade =
      "GET /echo HTTP/1.1\r\nHost: me\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  SNOW_CO_RETURN_IF_ERROR(co_await client.WriteAll(upgrade, absl::Seconds(5)));
  std::string answer;
  SNOW_CO_ASSIGN_OR_RETURN(size_t head, co_await ReadUntil(client, answer, "\r\n\r\n"));
  std::printf("%s", answer.substr(0, head).c_str());
  if (!answer.starts_with("HTTP/1.1 101 ") ||
      answer.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") >= head) {
    co_return absl::InternalError("unexpected answer to the upgrade");
  }
  SNOW_CO_RETURN_IF_ERROR(co_await client.WriteAll(MaskedFrame(0x1, "hello"), absl::Seconds(5)));
  SNOW_CO_RETURN_IF_ERROR((co_await ReadUntil(client, answer, "\x81\x05hello")).status());
  std::printf("echo: hello\n");
  SNOW_CO_RETURN_IF_ERROR(
      co_await client.WriteAll(MaskedFrame(0x8, "\x03\xe8"), absl::Seconds(5)));  // 1000
  SNOW_CO_RETURN_IF_ERROR((co_await ReadUntil(client, answer, "\x88\x02\x03\xe8")).status());
  std::printf("closed: 1000\n");
  co_return co_await client.Close();
}

Task<absl::Status> Main(Self self, std::string listen, size_t max_message_bytes, bool self_test,
                        bool tls) {
  net::HttpRouter router;
  router.Get("/echo", net::AcceptWebSocket(Echo, {.max_message_bytes = max_message_bytes}));
  std::shared_ptr<net::Rooms> rooms = net::Rooms::Create(self.runtime());
  // Not a coroutine: the lambda hands `rooms` to Member, whose frame keeps a copy.
  router.Get("/room/:name", net::AcceptWebSocket([rooms](Self self, net::WebSocket ws) {
               return Member(self, std::move(ws), rooms);
             }));
  SNOW_CO_ASSIGN_OR_RETURN(net::SocketAddress address, net::SocketAddress::Parse(listen));
  net::HttpServerOptions options;
  if (tls) {  // wss:// with an ephemeral self-signed certificate
    SNOW_CO_ASSIGN_OR_RETURN(net::TlsCertificate certificate,
                             net::TlsCertificate::GenerateSelfSigned());
    SNOW_CO_ASSIGN_OR_RETURN(options.tls, net::TlsContext::Create({.role = net::TlsRole::kServer,
                                                                   .certificate = certificate}));
  }
  SNOW_CO_ASSIGN_OR_RETURN(net::HttpServer server,
                           net::HttpServer::Start(self, address, options, router.handler()));
  std::printf("%s://%s/echo\n", tls ? "wss" : "ws", server.address().ToString().c_str());
  std::fflush(stdout);  // the first line tells a test where to connect
  if (self_test) co_return co_await EchoOnce(server.address());
  co_await snow::Sleep(absl::InfiniteDuration());  // serves until SIGINT or SIGTERM
  co_return absl::OkStatus();
}

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:8081";
  size_t max_message_bytes = net::WebSocketOptions{}.max_message_bytes;
  bool self_test = false;
  bool tls = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--help" || a == "-h") {
      std::printf(
          "usage: %s [--listen=HOST:PORT | --self-test] [--tls] [--max-message-bytes=N] "
          "[runtime options]\n"
          "A WebSocket echo server on ws://HOST:PORT/echo (default 127.0.0.1:8081; port 0: a\n"
          "free one), its address on the first line of output.\n%s",
          argv[0], snow::RuntimeOptions::kUsage);
      return 0;
    }
    bool ok = a == "--self-test" || a == "--tls" || a.starts_with("--snow-") ||
              a.starts_with("--listen=") ||
              (a.starts_with("--max-message-bytes=") &&
               absl::SimpleAtoi(snow::AbslView(a.substr(20)), &max_message_bytes));
    if (!ok) {
      std::fprintf(stderr, "ws_echo: bad argument %s (see --help)\n", argv[i]);
      return 2;
    }
    if (a.starts_with("--listen=")) listen = std::string(a.substr(9));
    if (a == "--tls") tls = true;
    if (a == "--self-test") {
      self_test = true;
      listen = "127.0.0.1:0";
    }
  }
  return snow::Run(snow::RuntimeOptions::FromArgs(argc, argv), Main, listen, max_message_bytes,
                   self_test, tls && !self_test);  // the self-test speaks plain TCP
}
