// WebSocket over the HTTP server, against a raw client on loopback that writes its own frames:
// the handshake and its refusals, echo of every kind of message, ping/pong, the closing
// handshake, each close code a real bad frame produces, a crashing handler, a dead peer and a
// slow consumer.
#include "snow/net/websocket.h"

#include <zlib.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "snow/net/http_router.h"
#include "snow/net/internal/websocket_frames.h"
#include "snow/net/websocket_rooms.h"
#include "snow/test/net/http_testing.h"
#include "snow/test/testing/co_test.h"

namespace snow::net {
namespace {

using net_internal::AppendWsFrame;
using net_internal::WsOpcode;
using net_internal::WsReader;
using ::snow::testing::IsOk;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr uint32_t kMask = 0x11223344;
constexpr std::string_view kRfcKey = "dGhlIHNhbXBsZSBub25jZQ==";  // RFC 6455 §1.3

// Echoes; "crash" throws, "quit" returns, "flood" sends 1 MiB at once.
Task<absl::Status> EchoHandler(Self self, WebSocket ws) {
  for (;;) {
    auto event = co_await self.Receive<WsMessage, WsClosed>();
    if (std::holds_alternative<WsClosed>(event)) co_return absl::OkStatus();
    WsMessage& m = std::get<WsMessage>(event);
    if (m.data == "crash") throw std::runtime_error("the handler crashed");
    if (m.data == "quit") co_return absl::OkStatus();
    if (m.data == "flood") {
      const std::string chunk(1024, 'f');
      for (int i = 0; i < 1024; ++i) {
        if (!ws.Send(chunk, false).ok()) break;
      }
      continue;
    }
    if (m.data == "protocol") {
      (void)ws.Send(ws.subprotocol());
      continue;
    }
    (void)ws.Send(m.data, m.text);
  }
}

struct Client {
  TcpStream stream;
  WsReader reader{
      {.expect_masked = false, .max_message_bytes = size_t{1} << 24, .allow_rsv1 = true}};
  std::string buffer = {};
  size_t begin = 0;
};

struct Frame {
  WsReader::Event event = WsReader::Event::kNeedMore;
  bool text = false;
  std::string payload = {};
  uint16_t close_code = 0;
  bool compressed = false;
  bool ended = false;  // the server closed the connection
};

// Connects and upgrades; the server's answer head in `answer`.
Task<absl::StatusOr<Client>> Open(SocketAddress address, std::string extra_headers,
                                  std::string* answer) {
  absl::StatusOr<TcpStream> stream = co_await TcpStream::Connect(address, kHttpTestTimeout);
  SNOW_CO_RETURN_IF_ERROR(stream.status());
  Client c{std::move(*stream)};
  const std::string request = absl::StrCat(
      "GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
      "Sec-WebSocket-Key: ",
      AbslView(kRfcKey), "\r\nSec-WebSocket-Version: 13\r\n", extra_headers, "\r\n");
  absl::Status sent = co_await c.stream.WriteAll(request, kHttpTestTimeout);
  SNOW_CO_RETURN_IF_ERROR(sent);
  std::vector<char> chunk(4096);
  while (c.buffer.find("\r\n\r\n") == std::string::npos) {
    absl::StatusOr<size_t> n = co_await c.stream.ReadSome(std::span<char>(chunk), kHttpTestTimeout);
    SNOW_CO_RETURN_IF_ERROR(n.status());
    if (*n == 0) break;
    c.buffer.append(chunk.data(), *n);
  }
  const size_t head_end = c.buffer.find("\r\n\r\n");
  *answer = c.buffer.substr(0, head_end == std::string::npos ? c.buffer.size() : head_end + 4);
  c.begin = answer->size();
  co_return c;
}

Task<absl::Status> SendFrame(Client& c, WsOpcode op, std::string_view payload, bool fin = true,
                             bool rsv1 = false) {
  std::string bytes;
  AppendWsFrame(bytes, op, payload, fin, kMask, rsv1);
  co_return co_await c.stream.WriteAll(bytes, kHttpTestTimeout);
}

// The next message or control frame from the server (or the end of the connection).
Task<Frame> Next(Client& c) {
  std::vector<char> chunk(64 * 1024);
  for (;;) {
    if (c.begin < c.buffer.size()) {
      size_t used = 0;
      const WsReader::Event e = c.reader.Read(std::string_view(c.buffer).substr(c.begin), &used);
      c.begin += used;
      if (e != WsReader::Event::kNeedMore) {
        Frame f{.event = e};
        if (e == WsReader::Event::kClose) {
          f.close_code = c.reader.close_code();
          f.payload = c.reader.close_reason();
        } else if (e != WsReader::Event::kError) {
          f.text = c.reader.text();
          f.compressed = c.reader.compressed();
          f.payload = c.reader.payload();
        }
        co_return f;
      }
    }
    absl::StatusOr<size_t> n = co_await c.stream.ReadSome(std::span<char>(chunk), kHttpTestTimeout);
    if (!n.ok() || *n == 0) co_return Frame{.ended = true};
    c.buffer.erase(0, c.begin);
    c.begin = 0;
    c.buffer.append(chunk.data(), *n);
  }
}

// Skips frames until a close, answers it as a client should, and returns its code (0 if the
// connection ended without one).
Task<uint16_t> CloseCode(Client& c) {
  for (;;) {
    Frame f = co_await Next(c);
    if (f.ended) co_return 0;
    if (f.event == WsReader::Event::kClose) {
      (void)co_await SendFrame(c, WsOpcode::kClose, net_internal::WsClosePayload(1000, ""));
      co_return f.close_code;
    }
  }
}

HttpHandler Routes(WebSocketOptions options) {
  HttpRouter router;
  router.Get("/ws", AcceptWebSocket(EchoHandler, std::move(options)));
  return router.handler();
}

Task<absl::Status> EchoAndClose(Self, SocketAddress address) {
  std::string answer;
  absl::StatusOr<Client> c = co_await Open(address, "Sec-WebSocket-Protocol: x, chat\r\n", &answer);
  SNOW_CO_RETURN_IF_ERROR(c.status());
  EXPECT_THAT(answer, StartsWith("HTTP/1.1 101 Switching Protocols\r\n"));
  EXPECT_THAT(answer, HasSubstr("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
  EXPECT_THAT(answer, HasSubstr("Sec-WebSocket-Protocol: chat\r\n"));

  SNOW_CO_RETURN_IF_ERROR(co_await SendFrame(*c, WsOpcode::kText, "hello"));
  Frame echo = co_await Next(*c);
  EXPECT_EQ(echo.event, WsReader::Event::kMessage);
  EXPECT_TRUE(echo.text);
  EXPECT_EQ(echo.payload, "hello");
  const std::string big(200000, 'b');
  SNOW_CO_RETURN_IF_ERROR(co_await SendFrame(*c, WsOpcode::kBinary, big));
  Frame big_echo = co_await Next(*c);
  EXPECT_FALSE(big_echo.text);
  EXPECT_EQ(big_echo.payload, big);
  // A fragmented text with a ping between its fragments: the pong first, then the whole text.
  SNOW_CO_RETURN_IF_ERROR(co_await SendFrame(*c, WsOpcode::kText, "frag", false));
  SNOW_CO_RETURN_IF_ERROR(co_await SendFrame(*c, WsOpcode::kPing, "are you there"));
  SNOW_CO_RETURN_IF_ERROR(
      co_await SendFrame(*c, WsOpcode::kContinuation, "mented \xE2\x82", false));
  SNOW_CO_RETURN_IF_ERROR(co_await SendFrame(*c, WsOpcode::kContinuation, "\xAC"));
  Frame pong = co_await Next(*c);
  EXPECT_EQ(pong.event, WsReader::Event::kPong);
  EXPECT_EQ(pong.payload, "are you there");
  Frame joined = co_await Next(*c);
  EXPECT_EQ(joined.payload, "fragmented \xE2\x82\xAC");
  SNOW_CO_RETURN_IF_ERROR(co_await SendFrame(*c, WsOpcode::kText, "protocol"));
  Frame protocol = co_await Next(*c);
  EXPECT_EQ(protocol.payload, "chat");

  // The closing handshake: the server answers with the same code, then ends the connection.
  SNOW_CO_RETURN_IF_ERROR(
      co_await SendFrame(*c, WsOpcode::kClose, net_internal::WsClosePayload(4000, "bye")));
  Frame closed = co_await Next(*c);
  EXPECT_EQ(closed.event, WsReader::Event::kClose);
  EXPECT_EQ(closed.close_code, 4000);
  Frame end = co_await Next(*c);
  EXPECT_TRUE(end.ended);
  co_return absl::OkStatus();
}

TEST(WebSocketTest, EchoesEveryKindOfMessageAndClosesInOrder) {
  EXPECT_THAT(WithHttpServer({}, Routes({.subprotocols = {"chat"}}), EchoAndClose), IsOk());
}

Task<absl::Status> Refusals(Self, SocketAddress address) {
  const std::string base = "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";
  absl::StatusOr<std::string> no_key =
      co_await Exchange(address, base + "Sec-WebSocket-Version: 13\r\nConnection: close\r\n\r\n");
  SNOW_CO_RETURN_IF_ERROR(no_key.status());
  EXPECT_THAT(*no_key, StartsWith("HTTP/1.1 400 "));
  absl::StatusOr<std::string> version = co_await Exchange(
      address, base +
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: "
                   "12\r\nConnection: close\r\n\r\n");
  SNOW_CO_RETURN_IF_ERROR(version.status());
  EXPECT_THAT(*version, StartsWith("HTTP/1.1 426 "));
  EXPECT_THAT(*version, HasSubstr("Sec-WebSocket-Version: 13\r\n"));
  absl::StatusOr<std::string> plain =
      co_await Exchange(address, "GET /ws HTTP/1.1\r\nConnection: close\r\n\r\n");
  SNOW_CO_RETURN_IF_ERROR(plain.status());
  EXPECT_THAT(*plain, StartsWith("HTTP/1.1 400 "));
  std::string answer;
  absl::StatusOr<Client> refused = co_await Open(address, "X-Token: wrong\r\n", &answer);
  SNOW_CO_RETURN_IF_ERROR(refused.status());
  EXPECT_THAT(answer, StartsWith("HTTP/1.1 403 "));
  co_return absl::OkStatus();
}

Task<HttpResponse> OnlyWithToken(Self, HttpRequest request) {
  if (request.Header("X-Token").value_or("") != "right") {
    co_return HttpResponse::Text(403, "no token\n");
  }
  co_return HttpResponse{.status = 101};
}

TEST(WebSocketTest, BadUpgradesAreRefusedWithAnHttpAnswer) {
  EXPECT_THAT(WithHttpServer({}, Routes({.accept = OnlyWithToken}), Refusals), IsOk());
}

// Each bad frame, on a connection of its own, gets its close code.
Task<absl::Status> BadFrames(Self, SocketAddress address) {
  struct Case {
    std::string bytes;
    uint16_t code;
  };
  std::vector<Case> cases;
  std::string unmasked;
  AppendWsFrame(unmasked, WsOpcode::kText, "no mask");
  cases.push_back({unmasked, 1002});
  std::string bad_text;
  AppendWsFrame(bad_text, WsOpcode::kText, "ok \xE2\x82", false, kMask);
  AppendWsFrame(bad_text, WsOpcode::kContinuation, "\x28", true, kMask);
  cases.push_back({bad_text, 1007});
  std::string big;
  AppendWsFrame(big, WsOpcode::kBinary, std::string(5000, 'x'), true, kMask);
  cases.push_back({big, 1009});
  std::string reserved;
  AppendWsFrame(reserved, WsOpcode::kBinary, "r", true, kMask);
  reserved[0] = static_cast<char>(0x83);
  cases.push_back({reserved, 1002});
  std::string stray;
  AppendWsFrame(stray, WsOpcode::kContinuation, "?", true, kMask);
  cases.push_back({stray, 1002});
  std::string crash;
  AppendWsFrame(crash, WsOpcode::kText, "crash", true, kMask);
  cases.push_back({crash, 1011});
  std::string quit;
  AppendWsFrame(quit, WsOpcode::kText, "quit", true, kMask);
  cases.push_back({quit, 1000});
  for (const Case& test : cases) {
    std::string answer;
    absl::StatusOr<Client> c = co_await Open(address, "", &answer);
    SNOW_CO_RETURN_IF_ERROR(c.status());
    absl::Status sent = co_await c->stream.WriteAll(test.bytes, kHttpTestTimeout);
    SNOW_CO_RETURN_IF_ERROR(sent);
    const uint16_t code = co_await CloseCode(*c);
    EXPECT_EQ(code, test.code);
  }
  co_return absl::OkStatus();
}

TEST(WebSocketTest, EachBadFrameClosesWithItsCodeAndAFailingHandlerWith1011) {
  EXPECT_THAT(WithHttpServer({}, Routes({.max_message_bytes = 4096}), BadFrames), IsOk());
}

// A peer that answers no ping is closed; one that answers stays.
Task<absl::Status> Pings(Self, SocketAddress address) {
  std::string answer;
  absl::StatusOr<Client> live = co_await Open(address, "", &answer);
  SNOW_CO_RETURN_IF_ERROR(live.status());
  absl::StatusOr<Client> dead = co_await Open(address, "", &answer);
  SNOW_CO_RETURN_IF_ERROR(dead.status());
  for (int i = 0; i < 3; ++i) {
    Frame ping = co_await Next(*live);
    EXPECT_EQ(ping.event, WsReader::Event::kPing);
    SNOW_CO_RETURN_IF_ERROR(co_await SendFrame(*live, WsOpcode::kPong, ping.payload));
  }
  // The dead one got a ping, answered nothing, and was dropped (no close frame: it is gone).
  Frame ping = co_await Next(*dead);
  EXPECT_EQ(ping.event, WsReader::Event::kPing);
  Frame gone = co_await Next(*dead);
  EXPECT_TRUE(gone.ended || gone.event == WsReader::Event::kClose);
  // The live one still echoes.
  SNOW_CO_RETURN_IF_ERROR(co_await SendFrame(*live, WsOpcode::kText, "still here"));
  Frame echo = co_await Next(*live);
  while (echo.event == WsReader::Event::kPing) echo = co_await Next(*live);
  EXPECT_EQ(echo.payload, "still here");
  co_return absl::OkStatus();
}

TEST(WebSocketTest, APeerThatAnswersNoPingIsClosedAndOneThatAnswersStays) {
  EXPECT_THAT(WithHttpServer({},
                             Routes({.ping_after = absl::Milliseconds(100),
                                     .ping_timeout = absl::Milliseconds(300)}),
                             Pings),
              IsOk());
}

// A consumer that cannot keep up is closed with 1008; another connection is not affected.
Task<absl::Status> SlowConsumer(Self, SocketAddress address) {
  std::string answer;
  absl::StatusOr<Client> slow = co_await Open(address, "", &answer);
  SNOW_CO_RETURN_IF_ERROR(slow.status());
  absl::StatusOr<Client> other = co_await Open(address, "", &answer);
  SNOW_CO_RETURN_IF_ERROR(other.status());
  SNOW_CO_RETURN_IF_ERROR(co_await SendFrame(*slow, WsOpcode::kText, "flood"));
  const uint16_t code = co_await CloseCode(*slow);
  EXPECT_EQ(code, 1008);
  SNOW_CO_RETURN_IF_ERROR(co_await SendFrame(*other, WsOpcode::kText, "unaffected"));
  Frame echo = co_await Next(*other);
  EXPECT_EQ(echo.payload, "unaffected");
  co_return absl::OkStatus();
}

TEST(WebSocketTest, ASlowConsumerIsClosedWith1008AndOthersGoOn) {
  EXPECT_THAT(WithHttpServer({}, Routes({.max_queued_bytes = 64 * 1024}), SlowConsumer), IsOk());
}

// The server closes; a peer that never answers its close frame is dropped after close_timeout.
Task<absl::Status> UnansweredClose(Self, SocketAddress address) {
  std::string answer;
  absl::StatusOr<Client> c = co_await Open(address, "", &answer);
  SNOW_CO_RETURN_IF_ERROR(c.status());
  SNOW_CO_RETURN_IF_ERROR(co_await SendFrame(*c, WsOpcode::kText, "quit"));
  Frame close = co_await Next(*c);
  EXPECT_EQ(close.event, WsReader::Event::kClose);
  EXPECT_EQ(close.close_code, 1000);
  Frame end = co_await Next(*c);  // no answer from here: the server gives up and closes
  EXPECT_TRUE(end.ended);
  co_return absl::OkStatus();
}

TEST(WebSocketTest, APeerThatNeverAnswersTheCloseIsDroppedAfterTheCloseTimeout) {
  EXPECT_THAT(
      WithHttpServer({}, Routes({.close_timeout = absl::Milliseconds(200)}), UnansweredClose),
      IsOk());
}

// Raw DEFLATE as a permessage-deflate peer sends it (sync flush, its 4-byte tail left off), and
// back, with zlib directly rather than Snow's own code.
std::string RawDeflate(std::string_view data) {
  z_stream z{};
  deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_SYNC_FLUSH);
  const size_t n = out.size() - z.avail_out;
  deflateEnd(&z);
  return out.substr(0, n - 4);
}

std::string RawInflate(std::string data) {
  data.append("\x00\x00\xff\xff", 4);
  z_stream z{};
  inflateInit2(&z, -15);
  std::string out(1 << 20, '\0');
  z.next_in = reinterpret_cast<Bytef*>(data.data());
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  inflate(&z, Z_SYNC_FLUSH);
  const size_t n = out.size() - z.avail_out;
  inflateEnd(&z);
  return out.substr(0, n);
}

Task<absl::Status> Deflated(Self, SocketAddress address) {
  std::string answer;
  const std::string offer =
      "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-other\r\n";
  absl::StatusOr<Client> c = co_await Open(address, offer, &answer);
  SNOW_CO_RETURN_IF_ERROR(c.status());
  EXPECT_THAT(
      answer,
      HasSubstr("Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n"));
  std::string text;
  for (int i = 0; i < 20; ++i) absl::StrAppend(&text, "compressible line ", i, " \xE2\x82\xAC\n");
  SNOW_CO_RETURN_IF_ERROR(
      co_await SendFrame(*c, WsOpcode::kText, RawDeflate(text), true, /*rsv1=*/true));
  Frame echo = co_await Next(*c);
  EXPECT_TRUE(echo.compressed);  // large enough to be compressed on the way back
  EXPECT_LT(echo.payload.size(), text.size());
  EXPECT_EQ(RawInflate(echo.payload), text);
  SNOW_CO_RETURN_IF_ERROR(co_await SendFrame(*c, WsOpcode::kText, "short"));  // uncompressed
  Frame short_echo = co_await Next(*c);
  EXPECT_FALSE(short_echo.compressed);
  EXPECT_EQ(short_echo.payload, "short");

  // A bomb: 8 MiB of zeros in a few kilobytes, against the 1 MiB limit.
  const std::string bomb = RawDeflate(std::string(8 << 20, '\0'));
  EXPECT_LT(bomb.size(), 64u * 1024);
  SNOW_CO_RETURN_IF_ERROR(co_await SendFrame(*c, WsOpcode::kBinary, bomb, true, true));
  EXPECT_EQ(co_await CloseCode(*c), 1009);

  absl::StatusOr<Client> bad = co_await Open(address, offer, &answer);
  SNOW_CO_RETURN_IF_ERROR(bad.status());
  SNOW_CO_RETURN_IF_ERROR(
      co_await SendFrame(*bad, WsOpcode::kBinary, "\xff\xfe not deflate", true, true));
  EXPECT_EQ(co_await CloseCode(*bad), 1007);

  absl::StatusOr<Client> plain = co_await Open(address, "", &answer);
  SNOW_CO_RETURN_IF_ERROR(plain.status());
  EXPECT_THAT(answer, Not(HasSubstr("Sec-WebSocket-Extensions")));
  co_return absl::OkStatus();
}

TEST(WebSocketTest, PermessageDeflateIsNegotiatedAndABombIsRefusedWith1009) {
  EXPECT_THAT(WithHttpServer({}, Routes({}), Deflated), IsOk());
}

// A member of the room "lobby": "all:X" broadcasts X, "say:X" to the others, "count" answers
// the members on its shard, "crash" throws.
Task<absl::Status> LobbyMember(Self self, WebSocket ws, std::shared_ptr<Rooms> rooms) {
  rooms->Join(ws, "lobby");
  (void)ws.Send(absl::StrCat("shard ", self.shard()));
  for (;;) {
    auto event = co_await self.Receive<WsMessage, WsClosed>();
    if (std::holds_alternative<WsClosed>(event)) co_return absl::OkStatus();
    const std::string data = std::get<WsMessage>(event).data;
    if (data.starts_with("all:")) rooms->Broadcast(self, "lobby", data.substr(4));
    if (data.starts_with("say:")) rooms->BroadcastExcept(self, "lobby", ws, data.substr(4));
    if (data == "count") (void)ws.Send(absl::StrCat("count ", rooms->LocalMembers("lobby")));
    if (data == "crash") throw std::runtime_error("a member crashed");
  }
}

// Members on both shards; broadcasts reach each member once; a member that closes or crashes
// is gone from the room.
Task<absl::Status> Lobby(Self self) {
  std::shared_ptr<Rooms> rooms = Rooms::Create(self.runtime());
  HttpRouter router;
  router.Get("/ws", AcceptWebSocket([rooms](Self s, WebSocket ws) {
               return LobbyMember(s, std::move(ws), rooms);
             }));
  HttpServerOptions options;
  options.serve.distribution = Distribution::kHandOff;  // connections alternate between shards
  absl::StatusOr<HttpServer> server =
      HttpServer::Start(self, SocketAddress::Loopback(), options, router.handler());
  SNOW_CO_RETURN_IF_ERROR(server.status());
  constexpr int kMembers = 6;
  std::vector<Client> members;
  std::vector<int> shard_of;
  for (int i = 0; i < kMembers; ++i) {
    std::string answer;
    absl::StatusOr<Client> c = co_await Open(server->address(), "", &answer);
    SNOW_CO_RETURN_IF_ERROR(c.status());
    members.push_back(std::move(*c));
    Frame hello = co_await Next(members.back());
    EXPECT_THAT(hello.payload, StartsWith("shard "));
    shard_of.push_back(hello.payload == "shard 0" ? 0 : 1);
  }
  EXPECT_EQ(std::count(shard_of.begin(), shard_of.end(), 0), kMembers / 2);

  SNOW_CO_RETURN_IF_ERROR(co_await SendFrame(members[0], WsOpcode::kText, "all:hello"));
  for (Client& m : members) {
    Frame f = co_await Next(m);
    EXPECT_EQ(f.payload, "hello");
  }
  SNOW_CO_RETURN_IF_ERROR(co_await SendFrame(members[1], WsOpcode::kText, "say:hi"));
  SNOW_CO_RETURN_IF_ERROR(co_await SendFrame(members[1], WsOpcode::kText, "all:second"));
  for (int i = 0; i < kMembers; ++i) {
    Frame f = co_await Next(members[i]);
    if (i != 1) {
      EXPECT_EQ(f.payload, "hi") << i;
      f = co_await Next(members[i]);
    }
    EXPECT_EQ(f.payload, "second") << i;  // exactly once each, in order
  }

  // Member 2 closes, member 3 crashes: both leave the room.
  SNOW_CO_RETURN_IF_ERROR(
      co_await SendFrame(members[2], WsOpcode::kClose, net_internal::WsClosePayload(1000, "")));
  EXPECT_EQ(co_await CloseCode(members[2]), 1000);
  SNOW_CO_RETURN_IF_ERROR(co_await SendFrame(members[3], WsOpcode::kText, "crash"));
  EXPECT_EQ(co_await CloseCode(members[3]), 1011);
  // Wait for both connections to be gone, then count what is left on each shard.
  EXPECT_TRUE((co_await Next(members[2])).ended);
  EXPECT_TRUE((co_await Next(members[3])).ended);
  int counted = 0;
  for (int shard : {0, 1}) {
    const int asker = shard_of[0] == shard   ? 0
                      : shard_of[1] == shard ? 1
                      : shard_of[4] == shard ? 4
                                             : 5;
    SNOW_CO_RETURN_IF_ERROR(co_await SendFrame(members[asker], WsOpcode::kText, "count"));
    Frame f = co_await Next(members[asker]);
    counted += std::stoi(f.payload.substr(6));
  }
  EXPECT_EQ(counted, kMembers - 2);
  server->Stop();
  co_return absl::OkStatus();
}

TEST(WebSocketRoomsTest, BroadcastsReachEveryMemberOnBothShardsOnceAndTheGoneLeave) {
  EXPECT_THAT(testing::RunOnTestRuntime(testing::RealRuntimeOptions(2), Lobby), IsOk());
}

TEST(WebSocketTest, TheAcceptKeyIsTheRfcs) {
  EXPECT_EQ(WebSocketAcceptFor(kRfcKey), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

}  // namespace
}  // namespace snow::net
