// kv_cluster: a key-value store spread over two nodes, built the way Snow means it to be.
// Each node runs a supervised store registered as "kv"; keys go to a node by hash. Node a also
// serves a line protocol on TCP ("put K V", "get K", "count", "crash NODE") and, as a client of
// its own front end, puts 10,000 keys, reads some back, crashes node b's store on purpose and
// shows that b's keys went with it while a's stayed. perf/compare/kv_cluster.escript is the
// same program in Erlang/OTP.
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "snow/core/snow.h"
#include "snow/dist/node.h"
#include "snow/net/line_reader.h"
#include "snow/net/server.h"
#include "snow/tools/examples/tutorial/two_nodes.h"

namespace {

using namespace snow;

struct Put {
  std::string key, value;
  static constexpr dist::Message<Put> kWire{"kv.Put", "key", "value"};
};
struct Get {
  using Reply = std::optional<std::string>;
  std::string key;
  static constexpr dist::Message<Get> kWire{"kv.Get", "key"};
};
struct Count {
  using Reply = int64_t;
  static constexpr dist::Message<Count> kWire{"kv.Count"};
};
struct Crash {
  static constexpr dist::Message<Crash> kWire{"kv.Crash"};
};

// The store: its state lives in the actor, so a crash empties it and the restart begins afresh.
Task<absl::Status> Store(Self self) {
  SNOW_CO_RETURN_IF_ERROR(self.Register("kv"));
  std::map<std::string, std::string> data;
  for (;;) {
    auto m = co_await self.Receive<Put, Request<Get>, Request<Count>, Crash>();
    if (auto* put = std::get_if<Put>(&m)) {
      data[put->key] = std::move(put->value);
    } else if (auto* get = std::get_if<Request<Get>>(&m)) {
      auto it = data.find(get->body.key);
      Reply(self, get->from, it == data.end() ? std::nullopt : std::optional(it->second));
    } else if (auto* count = std::get_if<Request<Count>>(&m)) {
      Reply(self, count->from, static_cast<int64_t>(data.size()));
    } else {
      co_return absl::InternalError("crashed on purpose");
    }
  }
}

SupervisorSpec StoreSupervisor() {
  return {.intensity = 5, .children = {{.id = "kv", .start = Start(Store)}}};
}

// One line of the protocol, answered with one line.
Task<std::string> Serve(Self self, std::vector<std::string> nodes, std::string line) {
  std::istringstream in(line);
  std::string command, key, value;
  in >> command >> key >> value;
  const std::string& owner = nodes[std::hash<std::string>{}(key) % nodes.size()];
  if (command == "put" && !value.empty()) {
    absl::Status sent = dist::SendNamed(self, "kv", owner, Put{key, value});
    co_return sent.ok() ? "ok" : "error " + sent.ToString();
  } else if (command == "get" && !key.empty()) {
    Get get{key};  // a named local: see docs/pitfalls.md
    absl::StatusOr<std::optional<std::string>> got =
        co_await dist::Call(self, "kv", owner, std::move(get), absl::Seconds(5));
    co_return !got.ok() ? "error " + got.status().ToString() : got->value_or("none");
  } else if (command == "count") {
    std::string counts;
    for (const std::string& node : nodes) {
      absl::StatusOr<int64_t> n = co_await dist::Call(self, "kv", node, Count{}, absl::Seconds(5));
      counts += node + "=" + (n.ok() ? std::to_string(*n) : "?") + " ";  // ?: no store now
    }
    co_return counts;
  } else if (command == "crash") {
    absl::Status sent = dist::SendNamed(self, "kv", key, Crash{});
    co_return sent.ok() ? "ok" : "error " + sent.ToString();
  }
  co_return "error: put K V | get K | count | crash NODE";
}

Task<absl::Status> Connection(Self self, net::TcpStream stream, std::vector<std::string> nodes) {
  co_return co_await net::AnswerLines(
      std::move(stream), [&](std::string line) { return Serve(self, nodes, std::move(line)); });
}

Task<absl::Status> NodeA(Self self, std::string b) {
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, {.name = "a@127.0.0.1:0", .cookie = "kv"}));
  self.SpawnLink(Supervise, StoreSupervisor());
  std::vector<std::string> nodes = {dist::SelfNode(self), b};
  SNOW_CO_ASSIGN_OR_RETURN(
      net::TcpServer server,
      net::TcpServer::Start(self, net::SocketAddress::Loopback(0), {}, Connection, nodes));
  SNOW_CO_ASSIGN_OR_RETURN(net::TcpStream stream,
                           co_await net::TcpStream::Connect(server.address(), absl::Seconds(5)));
  net::LineReader client(std::move(stream));
  // The front end's own client: pipelines its lines, then reads as many answers.
  std::string puts;
  for (int i = 0; i < 10'000; ++i) absl::StrAppend(&puts, "put key", i, " value", i, "\n");
  SNOW_CO_RETURN_IF_ERROR(co_await client.stream().WriteAll(puts));
  SNOW_CO_RETURN_IF_ERROR((co_await client.ReadLines(10'000, absl::Seconds(30))).status());
  std::string questions = "count\nget key42\nget key7\ncrash " + b + "\n";
  SNOW_CO_RETURN_IF_ERROR(co_await client.stream().WriteAll(questions));
  SNOW_CO_ASSIGN_OR_RETURN(auto before, co_await client.ReadLines(4, absl::Seconds(10)));
  std::printf("10,000 keys put; per node: %s\nkey42 = %s, key7 = %s\n", before[0].c_str(),
              before[1].c_str(), before[2].c_str());
  // b's supervisor restarts its store, empty; until then, a call fails (its server ended, or
  // nothing is registered yet).
  for (int tries = 0; tries < 100; ++tries) {
    SNOW_CO_RETURN_IF_ERROR(co_await client.stream().WriteAll(std::string_view("count\n")));
    SNOW_CO_ASSIGN_OR_RETURN(std::string after, co_await client.ReadLine(absl::Seconds(10)));
    if (after.find('?') == std::string::npos) {
      std::printf("after b's store crashed and restarted: %s\n", after.c_str());
      break;
    }
    co_await Sleep(absl::Milliseconds(10));
  }
  co_return co_await client.stream().Close();
}

// Node b: its store's supervisor runs in this actor, until RunTwoNodes stops the node.
Task<absl::Status> NodeB(Self self, int report_fd) {
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, {.name = "b@127.0.0.1:0", .cookie = "kv"}));
  tutorial::ReportNode(report_fd, dist::SelfNode(self));
  SupervisorSpec spec = StoreSupervisor();
  co_return co_await Supervise(self, std::move(spec));
}

}  // namespace

int main(int argc, char** argv) {
  RuntimeOptions options = RuntimeOptions::FromArgs(argc, argv);
  return tutorial::RunTwoNodes([&](int fd) { return Run(options, NodeB, fd); },
                               [&](const std::string& b) { return Run(options, NodeA, b); });
}
