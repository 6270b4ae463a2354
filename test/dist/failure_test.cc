// Node failures seen from the test node: a killed node, a stopped (frozen) node, and a node that
// restarts under the same name.
#include <signal.h>

#include <functional>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "snow/core/exit_reason.h"
#include "snow/test/dist/dist_testing.h"

namespace snow::dist_testing {
namespace {

using node_services::SinkQuery;
using node_services::SinkReport;
using ::snow::testing::IsOk;
using ::snow::testing::StatusIs;

// Waits for NodeDown of `node`; returns how long it took from `since`.
Task<absl::StatusOr<absl::Duration>> NodeDownAfter(Self self, std::string node, absl::Time since,
                                                   absl::Duration timeout) {
  auto is_node = [node](const dist::NodeDown& down) { return down.node == node; };
  absl::StatusOr<dist::NodeDown> down = co_await self.ReceiveFor<dist::NodeDown>(timeout, is_node);
  if (!down.ok()) co_return down.status();
  EXPECT_FALSE(down->reason.ok());
  co_return absl::Now() - since;
}

Task<absl::Status> KillNine(Self self, std::reference_wrapper<NodeProcess> a_ref) {
  NodeProcess* a = &a_ref.get();
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, TestNodeOptions()));
  dist::MonitorNodes(self);
  SNOW_CO_RETURN_IF_ERROR(co_await dist::Connect(self, a->name()));
  // The dialing side sets up the hangup watch right after the connection is up.
  const absl::Time deadline = absl::Now() + kReplyTimeout;
  while (dist::Stats(self).watched_peers == 0 && absl::Now() < deadline) {
    co_await Sleep(absl::Milliseconds(1));
  }
  EXPECT_EQ(dist::Stats(self).watched_peers, 1u);
  absl::Time killed = absl::Now();
  a->Signal(SIGKILL);
  // The kernel closes the dead node's sockets: no heartbeat (60 s here) is needed.
  absl::StatusOr<absl::Duration> after =
      co_await NodeDownAfter(self, a->name(), killed, absl::Seconds(2));
  EXPECT_THAT(after, IsOk());
  EXPECT_TRUE(dist::Nodes(self).empty());
  EXPECT_EQ(dist::Stats(self).watched_peers, 0u);
  co_return absl::OkStatus();
}

TEST(DistFailureTest, KillNineGivesNodeDownWithinTwoSeconds) {
  NodeProcess a = StartChild({.name = "a@127.0.0.1:0"});
  EXPECT_THAT(RunAsNode(KillNine, std::ref(a)), IsOk());
}

// Links and monitors are kept by the shard of their local actor: when the node goes, every shard
// answers for its own. A watcher on each shard of a 2-shard node monitors and links (trapping
// exits) to an actor on each shard of a 2-shard peer, talks to them so that its lane is in use,
// and hears Down and Exit with noconnection for both after a kill -9.
struct Watched {
  ShardId shard = 0;
  int downs = 0;
  int exits = 0;
};

Task<absl::Status> WatchBoth(Self self, std::vector<Pid> remote, Pid parent) {
  self.TrapExits();
  std::vector<Ref> refs;
  for (Pid pid : remote) {
    refs.push_back(self.Monitor(pid));
    self.Link(pid);
    SinkQuery probe{self.pid(), (uint64_t{1} << 62) | self.shard(), 0};
    self.Send(pid, probe);
    SNOW_CO_RETURN_IF_ERROR((co_await self.ReceiveFor<SinkReport>(kReplyTimeout)).status());
  }
  self.Send(parent, Watched{self.shard(), -1, -1});  // set up: the parent may kill the node
  Watched seen{self.shard()};
  while (seen.downs < static_cast<int>(remote.size()) ||
         seen.exits < static_cast<int>(remote.size())) {
    auto signal = co_await self.ReceiveFor<Down, Exit>(absl::Seconds(10));
    if (!signal.ok()) co_return signal.status();
    if (auto* down = std::get_if<Down>(&*signal)) {
      EXPECT_TRUE(absl::IsUnavailable(down->reason)) << down->reason;
      ++seen.downs;
    } else if (auto* exit = std::get_if<Exit>(&*signal)) {
      EXPECT_TRUE(absl::IsUnavailable(exit->reason)) << exit->reason;
      ++seen.exits;
    }
  }
  self.Send(parent, seen);
  co_return absl::OkStatus();
}

Task<absl::Status> EveryShardHearsTheLoss(Self self, std::reference_wrapper<NodeProcess> a_ref) {
  NodeProcess* a = &a_ref.get();
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, TestNodeOptions()));
  SNOW_CO_RETURN_IF_ERROR(co_await dist::Connect(self, a->name()));
  std::vector<Pid> sinks;
  for (int shard = 0; shard < 2; ++shard) {
    SNOW_CO_RETURN_IF_ERROR(dist::SendNamed(self, absl::StrCat("sink.", shard), a->name(),
                                            SinkQuery{self.pid(), 0, 0}));
    absl::StatusOr<SinkReport> probed = co_await self.ReceiveFor<SinkReport>(kReplyTimeout);
    SNOW_CO_RETURN_IF_ERROR(probed.status());
    sinks.push_back(probed->sink);
  }
  for (ShardId shard = 0; shard < 2; ++shard) {
    self.Spawn(SpawnOptions{.placement = Placement::kShard, .shard = shard}, WatchBoth, sinks,
               self.pid());
  }
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<Watched> ready = co_await self.ReceiveFor<Watched>(kReplyTimeout);
    SNOW_CO_RETURN_IF_ERROR(ready.status());
  }
  a->Signal(SIGKILL);
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<Watched> heard = co_await self.ReceiveFor<Watched>(absl::Seconds(20));
    SNOW_CO_RETURN_IF_ERROR(heard.status());
    EXPECT_EQ(heard->downs, 2) << "watcher on shard " << heard->shard;
    EXPECT_EQ(heard->exits, 2) << "watcher on shard " << heard->shard;
  }
  co_return absl::OkStatus();
}

TEST(DistFailureTest, LinksAndMonitorsOnEveryShardHearNoconnection) {
  NodeProcess a = StartChild({.name = "a@127.0.0.1:0", .shards = 2});
  node_services::RegisterServiceMessages();
  EXPECT_THAT(testing::RunOnTestRuntime(testing::RealRuntimeOptions(2), EveryShardHearsTheLoss,
                                        std::ref(a)),
              IsOk());
}

Task<absl::Status> SigStop(Self self, std::reference_wrapper<NodeProcess> a_ref) {
  NodeProcess* a = &a_ref.get();
  dist::NodeOptions options = TestNodeOptions();
  options.tick = absl::Seconds(1);
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, options));
  dist::MonitorNodes(self);
  SNOW_CO_RETURN_IF_ERROR(co_await dist::Connect(self, a->name()));
  absl::Time stopped = absl::Now();
  a->Signal(SIGSTOP);
  // A stopped node keeps its sockets open: only the heartbeat (1 s of silence) notices.
  absl::StatusOr<absl::Duration> after =
      co_await NodeDownAfter(self, a->name(), stopped, absl::Seconds(3));
  a->Signal(SIGCONT);
  EXPECT_THAT(after, IsOk());
  if (after.ok()) {
    EXPECT_GE(*after, absl::Milliseconds(500)) << "down before the tick could have run out";
  }
  co_return absl::OkStatus();
}

TEST(DistFailureTest, SigStopGivesNodeDownWithinTheTick) {
  NodeProcess a = StartChild({.name = "a@127.0.0.1:0", .tick_ms = 1000});
  EXPECT_THAT(RunAsNode(SigStop, std::ref(a)), IsOk());
}

Task<absl::Status> Restart(Self self, std::reference_wrapper<NodeProcess> a_ref) {
  NodeProcess* a = &a_ref.get();
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, TestNodeOptions()));
  dist::MonitorNodes(self);
  std::string name = a->name();  // with the port it got: the restart reuses it
  SNOW_CO_ASSIGN_OR_RETURN(Pid old_echo, co_await EchoNamed(self, name, 1));

  a->Signal(SIGKILL);
  absl::StatusOr<absl::Duration> down =
      co_await NodeDownAfter(self, name, absl::Now(), absl::Seconds(10));
  SNOW_CO_RETURN_IF_ERROR(down.status());
  SNOW_CHECK(a->Wait(absl::Seconds(10)).ok(), "the killed node was not reaped");
  *a = RestartChild({.name = name});
  SNOW_CO_RETURN_IF_ERROR(co_await dist::Connect(self, name));

  // The new incarnation answers, from a PID that is not the old one.
  SNOW_CO_ASSIGN_OR_RETURN(Pid new_echo, co_await EchoNamed(self, name, 2));
  EXPECT_NE(new_echo, old_echo);
  EXPECT_EQ(dist::NodeOf(self, new_echo), name);

  // A send to the old PID reaches nobody, even though a node of that name is up again.
  Echo to_old{self.pid(), 3, {}};
  self.Send(old_echo, to_old);
  absl::StatusOr<Echo> stale = co_await self.ReceiveFor<Echo>(absl::Seconds(2));
  EXPECT_THAT(stale, StatusIs(absl::StatusCode::kDeadlineExceeded));

  // Monitoring the old PID says at once that it is gone.
  Ref ref = self.Monitor(old_echo);
  auto is_ref = [ref](const Down& d) { return d.ref == ref; };
  absl::StatusOr<Down> gone = co_await self.ReceiveFor<Down>(kReplyTimeout, is_ref);
  EXPECT_THAT(gone, IsOk());
  if (gone.ok()) {
    EXPECT_EQ(gone->pid, old_echo);
    EXPECT_THAT(gone->reason, StatusIs(absl::StatusCode::kNotFound, "noproc"));
  }

  // The new PID works by direct send.
  Echo to_new{self.pid(), 4, {}};
  self.Send(new_echo, to_new);
  absl::StatusOr<Echo> fresh = co_await self.ReceiveFor<Echo>(kReplyTimeout);
  EXPECT_THAT(fresh, IsOk());
  if (fresh.ok()) {
    EXPECT_EQ(fresh->n, 4);
    EXPECT_EQ(fresh->from, new_echo);
  }
  co_return absl::OkStatus();
}

TEST(DistFailureTest, PidsOfAPreviousIncarnationAreDead) {
  NodeProcess a = StartChild({.name = "a@127.0.0.1:0"});
  EXPECT_THAT(RunAsNode(Restart, std::ref(a)), IsOk());
}

// NodeOptions::keep_connected: a kept peer that is killed and restarted is dialed again with
// backoff, without anyone calling Connect; NodeUp says it is back, and its old PIDs stay dead.
Task<absl::Status> KeptConnected(Self self, std::reference_wrapper<NodeProcess> a_ref) {
  NodeProcess* a = &a_ref.get();
  const std::string name = a->name();
  dist::NodeOptions options = TestNodeOptions();
  options.keep_connected = {name};
  options.reconnect_initial = absl::Milliseconds(20);
  options.reconnect_max = absl::Milliseconds(200);
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, options));
  dist::MonitorNodes(self);
  auto up_of = [name](const dist::NodeUp& up) { return up.node == name; };
  SNOW_CO_RETURN_IF_ERROR((co_await self.ReceiveFor<dist::NodeUp>(kReplyTimeout, up_of)).status());
  SNOW_CO_ASSIGN_OR_RETURN(Pid old_echo, co_await EchoNamed(self, name, 1));
  for (int round = 0; round < 2; ++round) {
    a->Signal(SIGKILL);
    SNOW_CO_RETURN_IF_ERROR(
        (co_await NodeDownAfter(self, name, absl::Now(), absl::Seconds(10))).status());
    SNOW_CHECK(a->Wait(absl::Seconds(10)).ok(), "the killed node was not reaped");
    // A few redials fail while it is away (backoff), then it is back under the same name.
    *a = RestartChild({.name = name});
    SNOW_CO_RETURN_IF_ERROR(
        (co_await self.ReceiveFor<dist::NodeUp>(kReplyTimeout, up_of)).status());
    SNOW_CO_ASSIGN_OR_RETURN(Pid echo, co_await EchoNamed(self, name, 2 + round));
    EXPECT_NE(echo, old_echo);
    Ref ref = self.Monitor(old_echo);
    auto is_ref = [ref](const Down& d) { return d.ref == ref; };
    absl::StatusOr<Down> gone = co_await self.ReceiveFor<Down>(kReplyTimeout, is_ref);
    SNOW_CO_RETURN_IF_ERROR(gone.status());
    EXPECT_THAT(gone->reason, StatusIs(absl::StatusCode::kNotFound, "noproc"));
    old_echo = echo;
  }
  co_return absl::OkStatus();
}

TEST(DistFailureTest, AKeptPeerIsDialedAgainWhenItComesBack) {
  NodeProcess a = StartChild({.name = "a@127.0.0.1:0"});
  EXPECT_THAT(RunAsNode(KeptConnected, std::ref(a)), IsOk());
}

// 10,000 actors each link to and monitor an actor of a node that is then killed: each hears
// one Exit and one Down with noconnection, and no more.
struct Watching {
  Pid watcher;
};
struct Heard {
  int downs = 0;
  int exits = 0;
};
struct Recount {};

Task<absl::Status> LinksAndWatches(Self self, Pid target, Pid parent) {
  self.TrapExits();
  self.Link(target);
  Ref ref = self.Monitor(target);
  self.Send(parent, Watching{self.pid()});
  Heard heard;
  while (heard.downs == 0 || heard.exits == 0) {
    auto m = co_await self.Receive<Down, Exit>();
    if (auto* down = std::get_if<Down>(&m)) {
      if (down->ref == ref && down->reason == NoConnectionReason()) ++heard.downs;
    } else if (std::get<Exit>(m).from == target &&
               std::get<Exit>(m).reason == NoConnectionReason()) {
      ++heard.exits;
    }
  }
  self.Send(parent, heard);
  (void)co_await self.Receive<Recount>();
  while ((co_await self.ReceiveFor<Down, Exit>(absl::ZeroDuration())).ok()) ++heard.downs;
  self.Send(parent, heard);
  co_return absl::OkStatus();
}

Task<absl::Status> TenThousandWatchers(Self self, std::reference_wrapper<NodeProcess> a) {
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, TestNodeOptions()));
  SNOW_CO_ASSIGN_OR_RETURN(Pid echo, co_await EchoNamed(self, a.get().name(), 1));
  constexpr int kWatchers = 10'000;
  std::vector<Pid> watchers;
  for (int i = 0; i < kWatchers; ++i) self.Spawn(LinksAndWatches, echo, self.pid());
  for (int i = 0; i < kWatchers; ++i) {
    absl::StatusOr<Watching> w = co_await self.ReceiveFor<Watching>(kReplyTimeout);
    SNOW_CO_RETURN_IF_ERROR(w.status());
    watchers.push_back(w->watcher);
  }
  // Every link and monitor is set up on the peer once a message sent after them comes back.
  SNOW_CO_RETURN_IF_ERROR((co_await EchoNamed(self, a.get().name(), 2)).status());
  a.get().Signal(SIGKILL);
  for (int i = 0; i < kWatchers; ++i) {
    absl::StatusOr<Heard> heard = co_await self.ReceiveFor<Heard>(kReplyTimeout);
    SNOW_CO_RETURN_IF_ERROR(heard.status());
    if (heard->downs != 1 || heard->exits != 1) {
      co_return absl::InternalError(
          absl::StrCat("a watcher heard ", heard->downs, " downs and ", heard->exits, " exits"));
    }
  }
  for (Pid w : watchers) self.Send(w, Recount{});
  int extra = 0;
  for (int i = 0; i < kWatchers; ++i) {
    absl::StatusOr<Heard> heard = co_await self.ReceiveFor<Heard>(kReplyTimeout);
    SNOW_CO_RETURN_IF_ERROR(heard.status());
    extra += heard->downs - 1;
  }
  EXPECT_EQ(extra, 0);
  co_return absl::OkStatus();
}

TEST(DistFailureTest, TenThousandLinksAndMonitorsToAKilledNodeFireOnceEach) {
  NodeProcess a = StartChild({.name = "a@127.0.0.1:0"});
  EXPECT_THAT(RunAsNode(TenThousandWatchers, std::ref(a)), IsOk());
}

}  // namespace
}  // namespace snow::dist_testing
