// Remote spawn (dist/spawn.h) between the test node and snow-node children, two separately built
// programs that agree on "snow.node.reporter" by name: spawn both ways, the documented errors,
// SpawnLink and SpawnMonitor of children that end at once, and a spawned child's node killed.
#include "snow/dist/spawn.h"

#include <signal.h>

#include <functional>
#include <string>
#include <variant>

#include "absl/strings/str_cat.h"
#include "snow/core/exit_reason.h"
#include "snow/core/supervisor.h"
#include "snow/test/dist/dist_testing.h"

namespace snow::dist_testing {
namespace {

using node_services::Report;
using node_services::SpawnBack;
using ::snow::testing::IsOk;
using ::snow::testing::StatusIs;

Task<absl::Status> SpawnBothWays(Self self, std::reference_wrapper<NodeProcess> a_ref) {
  NodeProcess& a = a_ref.get();
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, TestNodeOptions()));
  // Not connected yet: the spawn connects first.
  absl::StatusOr<Pid> child =
      co_await dist::Spawn(self, a.name(), "snow.node.reporter", self.pid(), int64_t{5}, "hello");
  SNOW_CO_RETURN_IF_ERROR(child.status());
  EXPECT_EQ(dist::NodeOf(self, *child), a.name());
  absl::StatusOr<Report> report = co_await self.ReceiveFor<Report>(kReplyTimeout);
  SNOW_CO_RETURN_IF_ERROR(report.status());
  EXPECT_EQ(report->from, *child);
  EXPECT_EQ(report->n, 5);
  EXPECT_EQ(report->text, "hello");
  // The child node spawns one here, by the same name, from its own build.
  SpawnBack back{dist::SelfNode(self), self.pid(), 7};
  absl::StatusOr<absl::StatusOr<Pid>> here =
      co_await dist::Call(self, "calls", a.name(), std::move(back), kReplyTimeout);
  SNOW_CO_RETURN_IF_ERROR(here.status());
  SNOW_CO_RETURN_IF_ERROR(here->status());
  EXPECT_TRUE((*here)->is_local());
  report = co_await self.ReceiveFor<Report>(kReplyTimeout);
  SNOW_CO_RETURN_IF_ERROR(report.status());
  EXPECT_EQ(report->from, **here);
  EXPECT_EQ(report->text, "spawned back");
  // Children are placed round-robin over the peer's shards.
  absl::flat_hash_set<ShardId> shards;
  for (int i = 0; i < 4; ++i) {
    absl::StatusOr<Pid> another =
        co_await dist::Spawn(self, a.name(), "snow.node.reporter", self.pid(), int64_t{i}, "n");
    SNOW_CO_RETURN_IF_ERROR(another.status());
    shards.insert(another->shard());
    SNOW_CO_RETURN_IF_ERROR((co_await self.ReceiveFor<Report>(kReplyTimeout)).status());
  }
  EXPECT_EQ(shards.size(), 2u);
  co_return absl::OkStatus();
}

TEST(DistSpawnTest, SpawnsARegisteredFunctionOnAnotherNodeAndBack) {
  NodeProcess a = StartChild({.name = "a@127.0.0.1:0", .shards = 2});
  EXPECT_THAT(RunAsNode(SpawnBothWays, std::ref(a)), IsOk());
}

Task<absl::Status> SpawnErrors(Self self, std::reference_wrapper<NodeProcess> a) {
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, TestNodeOptions()));
  const std::string node = a.get().name();
  absl::StatusOr<Pid> r = co_await dist::Spawn(self, node, "snow.node.nothing", int64_t{1});
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kNotFound, "snow.node.nothing"));
  // (string, i64, string) for (Pid, i64, string): the first argument is the wrong kind.
  r = co_await dist::Spawn(self, node, "snow.node.reporter", "not a pid", int64_t{1}, "x");
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument, "{0}"));
  // Too few arguments.
  r = co_await dist::Spawn(self, node, "snow.node.reporter", self.pid());
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument, "do not match its parameters"));
  // Nobody listens there.
  r = co_await dist::Spawn(self, "x@127.0.0.1:1", "snow.node.reporter", self.pid(), int64_t{1},
                           "x");
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kUnavailable));
  // And the peer serves on.
  r = co_await dist::Spawn(self, node, "snow.node.reporter", self.pid(), int64_t{1}, "fine");
  EXPECT_THAT(r, IsOk());
  co_return absl::OkStatus();
}

TEST(DistSpawnTest, UnknownNamesWrongArgumentsAndUnreachableNodesAreTheDocumentedErrors) {
  NodeProcess a = StartChild({.name = "a@127.0.0.1:0"});
  EXPECT_THAT(RunAsNode(SpawnErrors, std::ref(a)), IsOk());
}

Task<absl::Status> ChildrenThatEndAtOnce(Self self, std::reference_wrapper<NodeProcess> a) {
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, TestNodeOptions()));
  self.TrapExits();
  const std::string node = a.get().name();
  for (int i = 0; i < 20; ++i) {
    const std::string why = absl::StrCat("boom ", i);
    absl::StatusOr<Pid> linked =
        co_await dist::SpawnLink(self, node, "snow.node.reporter", self.pid(), int64_t{-1}, why);
    SNOW_CO_RETURN_IF_ERROR(linked.status());
    absl::StatusOr<Exit> exit = co_await self.ReceiveFor<Exit>(kReplyTimeout);
    if (!exit.ok()) co_return absl::InternalError(absl::StrCat("no exit from child ", i));
    EXPECT_EQ(exit->from, *linked);
    EXPECT_THAT(exit->reason, StatusIs(absl::StatusCode::kAborted, why));

    absl::StatusOr<SpawnedMonitor> watched =
        co_await dist::SpawnMonitor(self, node, "snow.node.reporter", self.pid(), int64_t{-1}, why);
    SNOW_CO_RETURN_IF_ERROR(watched.status());
    auto is_it = [ref = watched->ref](const Down& d) { return d.ref == ref; };
    absl::StatusOr<Down> down = co_await self.ReceiveFor<Down>(kReplyTimeout, is_it);
    if (!down.ok()) co_return absl::InternalError(absl::StrCat("no down from child ", i));
    EXPECT_EQ(down->pid, watched->pid);
    EXPECT_THAT(down->reason, StatusIs(absl::StatusCode::kAborted, why));
  }
  // A monitored child that lives: Demonitor takes the monitor down, and no Down comes when it
  // ends later.
  absl::StatusOr<SpawnedMonitor> live =
      co_await dist::SpawnMonitor(self, node, "snow.node.reporter", self.pid(), int64_t{1}, "ok");
  SNOW_CO_RETURN_IF_ERROR(live.status());
  SNOW_CO_RETURN_IF_ERROR((co_await self.ReceiveFor<Report>(kReplyTimeout)).status());
  EXPECT_TRUE(self.Demonitor(live->ref));
  co_return absl::OkStatus();
}

TEST(DistSpawnTest, SpawnLinkAndSpawnMonitorNoticeAChildThatEndsAtOnce) {
  NodeProcess a = StartChild({.name = "a@127.0.0.1:0", .shards = 2});
  EXPECT_THAT(RunAsNode(ChildrenThatEndAtOnce, std::ref(a)), IsOk());
}

Task<absl::Status> ChildNodeKilled(Self self, std::reference_wrapper<NodeProcess> a) {
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, TestNodeOptions()));
  self.TrapExits();
  const std::string node = a.get().name();
  absl::StatusOr<Pid> linked =
      co_await dist::SpawnLink(self, node, "snow.node.reporter", self.pid(), int64_t{1}, "l");
  SNOW_CO_RETURN_IF_ERROR(linked.status());
  absl::StatusOr<SpawnedMonitor> watched =
      co_await dist::SpawnMonitor(self, node, "snow.node.reporter", self.pid(), int64_t{2}, "m");
  SNOW_CO_RETURN_IF_ERROR(watched.status());
  for (int i = 0; i < 2; ++i) {
    SNOW_CO_RETURN_IF_ERROR((co_await self.ReceiveFor<Report>(kReplyTimeout)).status());
  }
  a.get().Signal(SIGKILL);
  bool exited = false, down = false;
  while (!exited || !down) {
    auto m = co_await self.ReceiveFor<Exit, Down>(absl::Seconds(2));
    SNOW_CO_RETURN_IF_ERROR(m.status());
    if (auto* exit = std::get_if<Exit>(&*m)) {
      EXPECT_EQ(exit->from, *linked);
      EXPECT_EQ(exit->reason, NoConnectionReason());
      exited = true;
    } else {
      EXPECT_EQ(std::get<Down>(*m).ref, watched->ref);
      EXPECT_EQ(std::get<Down>(*m).pid, watched->pid);
      EXPECT_EQ(std::get<Down>(*m).reason, NoConnectionReason());
      down = true;
    }
  }
  co_return absl::OkStatus();
}

TEST(DistSpawnTest, KillNineOfTheChildsNodeExitsItsLinkAndDownsItsMonitor) {
  NodeProcess a = StartChild({.name = "a@127.0.0.1:0"});
  EXPECT_THAT(RunAsNode(ChildNodeKilled, std::ref(a)), IsOk());
}

// A supervisor here keeps permanent children on two peers; kill -9 of one peer moves its
// children to the other (failover), counted as restarts; losing both peers is more restarts than
// the intensity allows, and the supervisor gives up.
struct Peers {
  NodeProcess* b;
  NodeProcess* c;
};

Task<absl::StatusOr<Report>> ReportFrom(Self self, std::string_view text) {
  auto is_it = [text](const Report& r) { return r.text == text; };
  co_return co_await self.ReceiveFor<Report>(kReplyTimeout, is_it);
}

Task<absl::Status> SupervisedAcrossNodes(Self self, Peers peers) {
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, TestNodeOptions()));
  self.TrapExits();
  const std::string b = peers.b->name(), c = peers.c->name();
  SupervisorSpec spec{
      .strategy = Strategy::kOneForOne,
      .intensity = 2,
      .period = absl::Seconds(30),
      .children = {
          {.id = "b1", .start = dist::StartOn({b, c}, "snow.node.reporter", self.pid(), 1, "b1")},
          {.id = "b2", .start = dist::StartOn({b, c}, "snow.node.reporter", self.pid(), 2, "b2")},
          {.id = "c1", .start = dist::StartOn({c, b}, "snow.node.reporter", self.pid(), 3, "c1")},
      }};
  Pid sup = self.SpawnLink(Supervise, std::move(spec));
  for (const char* id : {"b1", "b2", "c1"}) {
    SNOW_CO_RETURN_IF_ERROR((co_await ReportFrom(self, id)).status());
  }
  absl::StatusOr<std::vector<ChildInfo>> which = co_await WhichChildren(self, sup, kReplyTimeout);
  SNOW_CO_RETURN_IF_ERROR(which.status());
  EXPECT_EQ((*which)[0].node, b);
  EXPECT_EQ((*which)[1].node, b);
  EXPECT_EQ((*which)[2].node, c);

  peers.b->Signal(SIGKILL);
  for (const char* id : {"b1", "b2"}) {
    absl::StatusOr<Report> again = co_await ReportFrom(self, id);
    SNOW_CO_RETURN_IF_ERROR(again.status());
    EXPECT_EQ(dist::NodeOf(self, again->from), c) << id;
  }
  which = co_await WhichChildren(self, sup, kReplyTimeout);
  SNOW_CO_RETURN_IF_ERROR(which.status());
  for (const ChildInfo& child : *which) {
    EXPECT_EQ(child.node, c) << child.id;
    EXPECT_TRUE(child.pid) << child.id;
  }
  // Two restarts so far, the intensity: one more and the supervisor gives up. Losing c as well
  // restarts all three, and no node is left to start them on.
  peers.c->Signal(SIGKILL);
  auto is_sup = [sup](const Exit& e) { return e.from == sup; };
  absl::StatusOr<Exit> gave_up = co_await self.ReceiveFor<Exit>(kReplyTimeout, is_sup);
  SNOW_CO_RETURN_IF_ERROR(gave_up.status());
  EXPECT_THAT(gave_up->reason, StatusIs(absl::StatusCode::kCancelled, "shutdown"));
  co_return absl::OkStatus();
}

TEST(DistSpawnTest, ASupervisorRestartsTheChildrenOfAKilledNodeOnTheNextCandidate) {
  NodeProcess b = StartChild({.name = "b@127.0.0.1:0", .shards = 2});
  NodeProcess c = StartChild({.name = "c@127.0.0.1:0"});
  EXPECT_THAT(RunAsNode(SupervisedAcrossNodes, Peers{&b, &c}), IsOk());
}

Task<absl::Status> StopsRemoteChildren(Self self, std::reference_wrapper<NodeProcess> a) {
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, TestNodeOptions()));
  self.TrapExits();
  const std::string node = a.get().name();
  SupervisorSpec spec{
      .children = {
          {.id = "r1", .start = dist::StartOn({node}, "snow.node.reporter", self.pid(), 1, "r1")},
          {.id = "r2", .start = dist::StartOn({node}, "snow.node.reporter", self.pid(), 2, "r2")},
      }};
  Pid sup = self.SpawnLink(Supervise, std::move(spec));
  absl::StatusOr<Report> r1 = co_await ReportFrom(self, "r1");
  absl::StatusOr<Report> r2 = co_await ReportFrom(self, "r2");
  SNOW_CO_RETURN_IF_ERROR(r1.status());
  SNOW_CO_RETURN_IF_ERROR(r2.status());
  // Watch both children, then stop one through the supervisor and the rest with it.
  Ref m1 = self.Monitor(r1->from);
  Ref m2 = self.Monitor(r2->from);
  SNOW_CO_RETURN_IF_ERROR(co_await TerminateChild(self, sup, "r1", kReplyTimeout));
  auto down_of = [](Ref ref) { return [ref](const Down& d) { return d.ref == ref; }; };
  absl::StatusOr<Down> d1 = co_await self.ReceiveFor<Down>(kReplyTimeout, down_of(m1));
  SNOW_CO_RETURN_IF_ERROR(d1.status());
  EXPECT_THAT(d1->reason, StatusIs(absl::StatusCode::kCancelled, "shutdown"));
  self.SendExit(sup, absl::CancelledError("shutdown"));
  absl::StatusOr<Down> d2 = co_await self.ReceiveFor<Down>(kReplyTimeout, down_of(m2));
  SNOW_CO_RETURN_IF_ERROR(d2.status());
  EXPECT_THAT(d2->reason, StatusIs(absl::StatusCode::kCancelled, "shutdown"));
  co_return absl::OkStatus();
}

TEST(DistSpawnTest, ASupervisorStopsItsRemoteChildren) {
  NodeProcess a = StartChild({.name = "a@127.0.0.1:0"});
  EXPECT_THAT(RunAsNode(StopsRemoteChildren, std::ref(a)), IsOk());
}

}  // namespace
}  // namespace snow::dist_testing
