// Tutorial, step 5: two nodes. Node b registers a "pong" actor; node a connects, sends to it
// by name, gets its PID back in the reply, then sends to that PID and monitors it as if it
// were local. When b stops, a sees the monitor fire and NodeDown.
#include <cstdio>
#include <string>

#include "snow/core/snow.h"
#include "snow/dist/node.h"
#include "snow/tools/examples/tutorial/two_nodes.h"

using snow::Pid;
using snow::Self;
using snow::Task;
namespace dist = snow::dist;

namespace {

// [snippet messages]
// A message that crosses nodes declares its wire name and its fields' names, in order, with
// dist::Message, which also registers it in every program that contains it. Types are matched
// by these names, never by C++ layout.
struct Ping {
  Pid from;
  int64_t n = 0;
  static constexpr dist::Message<Ping> kWire{"tutorial.Ping", "from", "n"};
};
struct Pong {
  Pid from;
  int64_t n = 0;
  static constexpr dist::Message<Pong> kWire{"tutorial.Pong", "from", "n"};
};
struct Quit {
  int64_t code = 0;
  static constexpr dist::Message<Quit> kWire{"tutorial.Quit", "code"};
};

// [end messages]

// [snippet node_b]
Task<absl::Status> PongServer(Self self) {
  SNOW_CO_RETURN_IF_ERROR(self.Register("pong"));
  for (;;) {
    auto m = co_await self.Receive<Ping, Quit>();
    if (std::holds_alternative<Quit>(m)) co_return absl::OkStatus();
    Ping ping = std::get<Ping>(m);
    self.Send(ping.from, Pong{self.pid(), ping.n});  // ping.from is a PID on node a
  }
}

Task<absl::Status> NodeB(Self self, int report_fd) {
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, {.name = "b@127.0.0.1:0", .cookie = "tutorial"}));
  self.SpawnMonitor(PongServer);                          // Down when it ends
  tutorial::ReportNode(report_fd, dist::SelfNode(self));  // "b@127.0.0.1:<port>"
  // Node b lives until the pong server ends (or 30 s pass), then stops with its main actor.
  absl::StatusOr<snow::Down> down = co_await self.ReceiveFor<snow::Down>(absl::Seconds(30));
  co_return down.ok() ? down->reason : down.status();
}
// [end node_b]

// [snippet node_a]
Task<absl::Status> NodeA(Self self, std::string b) {
  // [snippet readme]
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, {.name = "a@127.0.0.1:0", .cookie = "tutorial"}));
  dist::MonitorNodes(self);  // NodeUp / NodeDown messages from now on
  absl::Status connected = co_await dist::Connect(self, b);
  if (!connected.ok()) co_return connected;
  dist::NodeUp up = co_await self.Receive<dist::NodeUp>();
  std::printf("a: node up: %s\n", up.node.c_str());

  // {pong, b} ! Ping: send by registered name; the reply carries the server's PID.
  SNOW_CO_RETURN_IF_ERROR(dist::SendNamed(self, "pong", b, Ping{self.pid(), 1}));
  absl::StatusOr<Pong> pong = co_await self.ReceiveFor<Pong>(absl::Seconds(5));
  if (!pong.ok()) co_return pong.status();
  std::printf("a: pong %lld from %s\n", static_cast<long long>(pong->n),
              dist::PidToString(self, pong->from).c_str());

  // A remote PID works with Send and Monitor as a local one does.
  snow::Ref watch = self.Monitor(pong->from);
  self.Send(pong->from, Ping{self.pid(), 2});
  // [end readme]
  absl::StatusOr<Pong> second = co_await self.ReceiveFor<Pong>(absl::Seconds(5));
  if (!second.ok()) co_return second.status();
  std::printf("a: pong %lld\n", static_cast<long long>(second->n));

  self.Send(pong->from, Quit{});
  absl::StatusOr<snow::Down> down = co_await self.ReceiveFor<snow::Down>(absl::Seconds(5));
  if (!down.ok()) co_return down.status();
  std::printf("a: the pong server ended: %s\n", down->reason.ToString().c_str());
  absl::StatusOr<dist::NodeDown> gone = co_await self.ReceiveFor<dist::NodeDown>(absl::Seconds(5));
  if (!gone.ok()) co_return gone.status();
  std::printf("a: node down: %s (%s)\n", gone->node.c_str(), gone->reason.ToString().c_str());
  (void)watch;
  co_return absl::OkStatus();
}
// [end node_a]

}  // namespace

int main(int argc, char** argv) {
  snow::RuntimeOptions options = snow::RuntimeOptions::FromArgs(argc, argv);
  return tutorial::RunTwoNodes([&](int fd) { return snow::Run(options, NodeB, fd); },
                               [&](const std::string& b) { return snow::Run(options, NodeA, b); });
}
