// A line-protocol key-value server: one actor per connection reads commands with
// net::LineReader and asks the store, a registered and supervised actor, with Call.
//
//   SET key value  -> OK              GET key -> VALUE value | NOT_FOUND
//   DEL key        -> DELETED | NOT_FOUND     QUIT -> BYE, and the server closes
//
// Anything else gets "ERR ..."; a line over 1 KiB gets an ERR too, and the connection closes.
// --self-test starts the server on a free port, runs two scripted sessions, prints them and exits
// (0 if every reply was the expected one).
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "snow/core/snow.h"
#include "snow/net/line_reader.h"
#include "snow/net/server.h"
#include "snow/net/tcp.h"

using snow::Self;
using snow::Task;
namespace net = snow::net;

namespace {

constexpr absl::Duration kTimeout = absl::Seconds(5);

// [snippet store]
// The requests name their replies (core/service.h).
struct Set {
  using Reply = bool;
  std::string key;
  std::string value;
};
struct Get {
  using Reply = std::optional<std::string>;
  std::string key;
};
struct Del {
  using Reply = bool;  // whether the key was there
  std::string key;
};

// The store: a gen_server over a map, registered as "kv". Its supervisor restarts it (empty)
// if it crashes; connections find the new one by name.
Task<absl::Status> Store(Self self) {
  SNOW_CO_RETURN_IF_ERROR(self.Register("kv"));
  std::map<std::string, std::string> data;
  for (;;) {
    auto m = co_await self.Receive<snow::Request<Set>, snow::Request<Get>, snow::Request<Del>>();
    if (auto* set = std::get_if<snow::Request<Set>>(&m)) {
      data[set->body.key] = std::move(set->body.value);
      snow::Reply(self, set->from, true);
    } else if (auto* get = std::get_if<snow::Request<Get>>(&m)) {
      auto it = data.find(get->body.key);
      snow::Reply(self, get->from, it == data.end() ? std::nullopt : std::optional(it->second));
    } else {
      auto& del = std::get<snow::Request<Del>>(m);
      snow::Reply(self, del.from, data.erase(del.body.key) > 0);
    }
  }
}
// [end store]

// [snippet command]
// One command line (or the reader's error) to its reply.
Task<std::string> Execute(Self self, absl::StatusOr<std::string> line) {
  if (!line.ok()) co_return "ERR " + std::string(line.status().message());
  if (*line == "QUIT") co_return "BYE";
  std::vector<std::string> words = absl::StrSplit(*line, absl::MaxSplits(' ', 2));
  std::optional<snow::Pid> store = self.WhereIs("kv");
  if (!store) co_return "ERR the store is restarting";
  if (words[0] == "SET" && words.size() == 3) {
    Set set{words[1], words[2]};
    absl::StatusOr<bool> done = co_await snow::Call(self, *store, std::move(set), kTimeout);
    co_return done.ok() ? "OK" : "ERR " + done.status().ToString();
  }
  if (words[0] == "GET" && words.size() == 2) {
    Get get{words[1]};
    absl::StatusOr<std::optional<std::string>> value =
        co_await snow::Call(self, *store, std::move(get), kTimeout);
    if (!value.ok()) co_return "ERR " + value.status().ToString();
    co_return value->has_value() ? "VALUE " + **value : "NOT_FOUND";
  }
  if (words[0] == "DEL" && words.size() == 2) {
    Del del{words[1]};
    absl::StatusOr<bool> found = co_await snow::Call(self, *store, std::move(del), kTimeout);
    if (!found.ok()) co_return "ERR " + found.status().ToString();
    co_return *found ? "DELETED" : "NOT_FOUND";
  }
  co_return "ERR usage: SET key value | GET key | DEL key | QUIT";
}
// [end command]

// [snippet connection]
// One connection: a line in, a line out, until QUIT, the end of the stream, or bad input.
Task<absl::Status> Connection(Self self, net::TcpStream stream) {
  net::LineReader reader(std::move(stream), {.max_line_bytes = 1024});
  for (;;) {
    absl::StatusOr<std::string> line = co_await reader.ReadLine(absl::Minutes(5));
    // Too long: the reader has lost its place in the stream, so answer and hang up.
    bool too_long = absl::IsResourceExhausted(line.status());
    if (!line.ok() && !too_long) break;  // kOutOfRange: the client closed; or timeout, reset
    bool last = too_long || *line == "QUIT";
    std::string reply = co_await Execute(self, std::move(line));
    reply += "\r\n";
    absl::Status sent = co_await reader.stream().WriteAll(reply);
    if (!sent.ok() || last) break;
  }
  absl::Status closed = co_await reader.stream().Close();
  co_return closed;
}
// [end connection]

// A client: sends each line, prints it and the reply, and checks the reply.
struct Step {
  std::string send;
  std::string expect;
};
Task<absl::Status> Session(net::SocketAddress address, std::vector<Step> steps) {
  absl::StatusOr<net::TcpStream> stream = co_await net::TcpStream::Connect(address, kTimeout);
  if (!stream.ok()) co_return stream.status();
  net::LineReader client(std::move(*stream));
  for (const Step& step : steps) {
    std::string request = step.send + "\r\n";
    absl::Status sent = co_await client.stream().WriteAll(request);
    if (!sent.ok()) co_return sent;
    absl::StatusOr<std::string> reply = co_await client.ReadLine(kTimeout);
    if (!reply.ok()) co_return reply.status();
    std::string shown = step.send.size() > 40 ? step.send.substr(0, 12) + "..." : step.send;
    std::printf("> %s\n< %s\n", shown.c_str(), reply->c_str());
    if (*reply != step.expect) co_return absl::InternalError("expected " + step.expect);
  }
  absl::StatusOr<std::string> end = co_await client.ReadLine(kTimeout);
  if (!absl::IsOutOfRange(end.status())) co_return absl::InternalError("still open");
  absl::Status closed = co_await client.stream().Close();
  co_return closed;
}

Task<absl::Status> Main(Self self, uint16_t port, bool self_test) {
  // [snippet supervision]
  snow::SupervisorSpec spec{.intensity = 3,
                            .period = absl::Seconds(5),
                            .children = {{.id = "kv", .start = snow::Start(Store)}}};
  self.SpawnLink(snow::Supervise, std::move(spec));
  // [end supervision]
  // A child's start has no init handshake: wait until the store has registered.
  while (!self.WhereIs("kv")) co_await snow::Sleep(absl::Milliseconds(1));
  // [snippet server]
  SNOW_CO_ASSIGN_OR_RETURN(
      net::TcpServer server,
      net::TcpServer::Start(self, net::SocketAddress::Loopback(port), {}, Connection));
  // [end server]
  std::printf("line server on %s\n", server.address().ToString().c_str());
  std::fflush(stdout);
  if (!self_test) co_await snow::Sleep(absl::InfiniteDuration());  // until a signal
  std::vector<Step> commands = {{"SET greeting hello, world", "OK"},
                                {"GET greeting", "VALUE hello, world"},
                                {"DEL greeting", "DELETED"},
                                {"GET greeting", "NOT_FOUND"},
                                {"PUT x 1", "ERR usage: SET key value | GET key | DEL key | QUIT"},
                                {"QUIT", "BYE"}};
  absl::Status session = co_await Session(server.address(), std::move(commands));
  SNOW_CO_RETURN_IF_ERROR(session);
  std::vector<Step> hostile = {
      {std::string(1100, 'x'), "ERR a line is longer than the limit of 1024 bytes"}};
  absl::Status refused = co_await Session(server.address(), std::move(hostile));
  server.Stop();
  co_return refused;
}

}  // namespace

int main(int argc, char** argv) {
  int port = 7070;
  bool self_test = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::printf(
          "usage: %s [--port=N | --self-test] [runtime options]\n"
          "A line-protocol key-value server on 127.0.0.1, port 7070 by default.\n%s",
          argv[0], snow::RuntimeOptions::kUsage);
      return 0;
    }
    self_test = self_test || arg == "--self-test";
    bool ok = arg == "--self-test" || arg.starts_with("--snow-") ||
              (arg.starts_with("--port=") && absl::SimpleAtoi(arg.substr(7), &port) && port >= 0 &&
               port <= 65535);
    if (!ok) {
      std::fprintf(stderr, "line_server: bad argument %s (see --help)\n", argv[i]);
      return 2;
    }
  }
  return snow::Run(snow::RuntimeOptions::FromArgs(argc, argv), Main,
                   static_cast<uint16_t>(self_test ? 0 : port), self_test);
}
