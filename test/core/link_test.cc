// Links and exit signals: docs/actors.md, one test per rule.
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "snow/core/snow.h"
#include "snow/test/testing/co_test.h"

namespace snow {
namespace {

using ::snow::testing::IsOk;
using ::snow::testing::RealRuntimeOptions;
using ::snow::testing::RunOnTestRuntime;
using ::snow::testing::StatusIs;

struct Crash {};
struct Ping {
  Pid from;
};
struct Pong {};

// Waits for commands: Crash throws, Ping answers Pong; anything else is ignored.
Task<absl::Status> Worker(Self self) {
  for (;;) {
    auto m = co_await self.Receive<Crash, Ping>();
    if (std::holds_alternative<Crash>(m)) throw std::runtime_error("worker crashed");
    self.Send(std::get<Ping>(m).from, Pong{});
  }
}

Task<absl::Status> ReturnsNormally(Self) { co_return absl::OkStatus(); }

struct Quit {};
Task<absl::Status> QuitsWhenTold(Self self) {
  Quit q = co_await self.Receive<Quit>();
  (void)q;
  co_return absl::OkStatus();
}

Task<absl::Status> CrashesAtOnce(Self) {
  throw std::runtime_error("crashed at once");
  co_return absl::OkStatus();
}

Task<absl::Status> EndsWith(Self, absl::Status reason) { co_return reason; }

// Links to `child` (SpawnLink-ed by us), then waits forever: it lives only as long as its links.
Task<absl::Status> LinksTo(Self self, Pid target) {
  self.Link(target);
  for (;;) {
    Ping p = co_await self.Receive<Ping>();
    self.Send(p.from, Pong{});
  }
}

// True if `pid` answers a Ping within a (virtual) second.
Task<bool> IsAlive(Self self, Pid pid) {
  self.Send(pid, Ping{self.pid()});
  absl::StatusOr<Pong> pong = co_await self.ReceiveFor<Pong>(absl::Seconds(1));
  co_return pong.ok();
}

SNOW_CO_TEST(LinkTest, AbnormalExitKillsTheLinkedActorWithTheSameReason) {
  Pid worker = self.Spawn(Worker);
  Pid linked = self.Spawn(LinksTo, worker);
  Ref watch = self.Monitor(linked);
  co_await Yield();  // let the link be made
  self.Send(worker, Crash{});
  Down down = co_await self.Receive<Down>();
  EXPECT_EQ(down.ref, watch);
  EXPECT_EQ(down.pid, linked);
  EXPECT_THAT(down.reason, StatusIs(absl::StatusCode::kInternal, "worker crashed"));
  co_return absl::OkStatus();
}

SNOW_CO_TEST(LinkTest, NormalExitDoesNotKillALinkedActor) {
  Pid child = self.Spawn(QuitsWhenTold);
  Pid linked = self.Spawn(LinksTo, child);
  Ref watch = self.Monitor(child);
  co_await Yield();  // let the link be made
  self.Send(child, Quit{});
  auto is_watched = [watch](const Down& d) { return d.ref == watch; };
  Down down = co_await self.Receive<Down>(is_watched);
  EXPECT_THAT(down.reason, IsOk());
  bool alive = co_await IsAlive(self, linked);
  EXPECT_TRUE(alive);
  co_return absl::OkStatus();
}

SNOW_CO_TEST(LinkTest, TrapExitTurnsExitSignalsIntoMessages) {
  self.TrapExits();
  EXPECT_TRUE(self.trapping_exits());
  Pid crasher = self.SpawnLink(CrashesAtOnce);
  Exit e = co_await self.Receive<Exit>();
  EXPECT_EQ(e.from, crasher);
  EXPECT_THAT(e.reason, StatusIs(absl::StatusCode::kInternal, "crashed at once"));
  // A trapping actor hears normal exits too.
  Pid normal = self.SpawnLink(ReturnsNormally);
  Exit n = co_await self.Receive<Exit>();
  EXPECT_EQ(n.from, normal);
  EXPECT_THAT(n.reason, IsOk());
  co_return absl::OkStatus();
}

SNOW_CO_TEST(LinkTest, SpawnLinkIsAtomic) {
  // The child runs at once and ends inside SpawnLink: the link already existed, so its exit
  // signal is here when SpawnLink returns.
  self.TrapExits();
  Pid child = self.SpawnLink(EndsWith, absl::DataLossError("first breath"));
  EXPECT_EQ(self.mailbox_size(), 1u);
  Exit e = co_await self.Receive<Exit>();
  EXPECT_EQ(e.from, child);
  EXPECT_THAT(e.reason, StatusIs(absl::StatusCode::kDataLoss, "first breath"));
  co_return absl::OkStatus();
}

Task<absl::Status> TrapsAndReports(Self self, Pid report_to) {
  self.TrapExits();
  for (;;) {
    Exit e = co_await self.Receive<Exit>();
    self.Send(report_to, e);
  }
}

SNOW_CO_TEST(LinkTest, KillIsUntrappableAndLinksHearKilled) {
  self.TrapExits();
  Pid trapper = self.SpawnLink(TrapsAndReports, self.pid());
  Ref watch = self.Monitor(trapper);
  co_await Yield();
  // An ordinary exit signal is trapped and reported...
  self.SendExit(trapper, absl::CancelledError("please stop"));
  Exit reported = co_await self.Receive<Exit>();
  EXPECT_EQ(reported.from, self.pid());
  EXPECT_THAT(reported.reason, StatusIs(absl::StatusCode::kCancelled, "please stop"));
  // ...kill is not.
  self.SendExit(trapper, KillReason());
  Down down = co_await self.Receive<Down>();
  EXPECT_EQ(down.ref, watch);
  EXPECT_THAT(down.reason, StatusIs(absl::StatusCode::kAborted, "killed"));
  Exit e = co_await self.Receive<Exit>();
  EXPECT_EQ(e.from, trapper);
  EXPECT_THAT(e.reason, StatusIs(absl::StatusCode::kAborted, "killed"));
  EXPECT_FALSE(IsKill(e.reason));
  co_return absl::OkStatus();
}

SNOW_CO_TEST(LinkTest, NormalExitSignalIsIgnoredUnlessTrapped) {
  Pid worker = self.Spawn(Worker);
  self.SendExit(worker, NormalReason());
  bool alive = co_await IsAlive(self, worker);
  EXPECT_TRUE(alive);
  Ref watch = self.Monitor(worker);
  self.SendExit(worker, absl::CancelledError("go away"));
  Down down = co_await self.Receive<Down>();
  EXPECT_EQ(down.ref, watch);
  EXPECT_THAT(down.reason, StatusIs(absl::StatusCode::kCancelled, "go away"));
  co_return absl::OkStatus();
}

SNOW_CO_TEST(LinkTest, LinkToADeadPidGivesNoproc) {
  self.TrapExits();
  Pid dead = self.Spawn(ReturnsNormally);
  co_await Yield();
  co_await Yield();
  self.Link(dead);
  Exit e = co_await self.Receive<Exit>();
  EXPECT_EQ(e.from, dead);
  EXPECT_THAT(e.reason, StatusIs(absl::StatusCode::kNotFound, "noproc"));
  Pid never = Pid::FromParts(0, 0, 123456789);
  self.Link(never);
  Exit unknown = co_await self.Receive<Exit>();
  EXPECT_EQ(unknown.from, never);
  EXPECT_THAT(unknown.reason, StatusIs(absl::StatusCode::kNotFound, "noproc"));
  co_return absl::OkStatus();
}

SNOW_CO_TEST(LinkTest, LinkToARemotePidWithoutDistributionGivesNoconnection) {
  self.TrapExits();
  Pid remote = Pid::FromParts(7, 0, 42);
  self.Link(remote);
  Exit e = co_await self.Receive<Exit>();
  EXPECT_EQ(e.from, remote);
  EXPECT_THAT(e.reason, StatusIs(absl::StatusCode::kUnavailable, "noconnection"));
  co_return absl::OkStatus();
}

SNOW_CO_TEST(LinkTest, UnlinkStopsPropagation) {
  Pid worker = self.Spawn(Worker);
  self.Link(worker);
  self.Unlink(worker);
  Ref watch = self.Monitor(worker);
  self.Send(worker, Crash{});
  Down down = co_await self.Receive<Down>();
  EXPECT_EQ(down.ref, watch);
  // Still alive, and no Exit arrived.
  EXPECT_EQ(self.mailbox_size(), 0u);
  co_return absl::OkStatus();
}

SNOW_CO_TEST(LinkTest, ParentIsTheSpawnLinker) {
  struct WhoIsParent {
    Pid from;
  };
  self.TrapExits();
  Pid child = self.SpawnLink(+[](Self self) -> Task<absl::Status> {
    auto ask = co_await self.Receive<WhoIsParent>();
    self.Send(ask.from, self.parent());
    co_return absl::OkStatus();
  });
  self.Send(child, WhoIsParent{self.pid()});
  Pid parent = co_await self.Receive<Pid>();
  EXPECT_EQ(parent, self.pid());
  EXPECT_FALSE(self.parent());
  co_return absl::OkStatus();
}

// A chain: each actor SpawnLinks the next on the other shard; the last tells `root` its PID
// and crashes when told to. Its exit reason travels back up the whole chain.
Task<absl::Status> ChainLink(Self self, Pid root, int remaining, uint32_t shards) {
  if (remaining == 0) {
    self.Send(root, self.pid());
    Crash c = co_await self.Receive<Crash>();
    (void)c;
    co_return absl::DataLossError("end of the chain");
  }
  ShardId next = (self.shard() + 1) % shards;
  self.SpawnLink(SpawnOptions{.placement = Placement::kShard, .shard = next}, ChainLink, root,
                 remaining - 1, shards);
  Ping never = co_await self.Receive<Ping>();
  (void)never;
  co_return absl::OkStatus();
}

Task<absl::Status> ChainAcrossShardsMain(Self self, int length) {
  self.TrapExits();
  Pid head = self.SpawnLink(SpawnOptions{.placement = Placement::kShard, .shard = 1}, ChainLink,
                            self.pid(), length, 2u);
  Pid tail = co_await self.Receive<Pid>();
  EXPECT_EQ(self.runtime().stats().live_actors, static_cast<uint64_t>(length) + 2);
  self.Send(tail, Crash{});
  Exit e = co_await self.Receive<Exit>();
  EXPECT_EQ(e.from, head);
  EXPECT_THAT(e.reason, StatusIs(absl::StatusCode::kDataLoss, "end of the chain"));
  co_return absl::OkStatus();
}

TEST(LinkTest, ChainPropagatesAcrossShards) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(2), ChainAcrossShardsMain, 1000), IsOk());
}

// Per-pair order: messages sent before an exit signal arrive before it, across shards.
Task<absl::Status> SendsThenCrashes(Self self, Pid to, int count) {
  for (int i = 0; i < count; ++i) self.Send(to, i);
  throw std::runtime_error("done sending");
  co_return absl::OkStatus();
}

Task<absl::Status> OrderAcrossShardsMain(Self self, int count) {
  self.TrapExits();
  Pid sender = self.SpawnLink(SpawnOptions{.placement = Placement::kShard, .shard = 1},
                              SendsThenCrashes, self.pid(), count);
  int expected = 0;
  for (;;) {
    auto m = co_await self.Receive<int, Exit>();
    if (auto* n = std::get_if<int>(&m)) {
      SNOW_CO_ASSERT(*n == expected);
      ++expected;
      continue;
    }
    Exit e = std::get<Exit>(m);
    EXPECT_EQ(e.from, sender);
    EXPECT_EQ(expected, count);  // every message came before the exit signal
    co_return absl::OkStatus();
  }
}

TEST(LinkTest, MessagesSentBeforeAnExitSignalArriveBeforeItAcrossShards) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(2), OrderAcrossShardsMain, 100'000), IsOk());
}

// An actor doomed while it runs (it killed a linked actor, whose exit comes straight back)
// ends at its next suspension with the propagated reason, not by being destroyed mid-run.
Task<absl::Status> KillsItsPartner(Self self) {
  Pid partner = self.SpawnLink(Worker);
  co_await Yield();
  self.SendExit(partner, absl::InternalError("take this"));
  // The partner is gone and its exit signal has doomed us; we still run to the next suspension.
  co_await Yield();
  co_return absl::OkStatus();  // never reached
}

SNOW_CO_TEST(LinkTest, AnActorDoomedWhileRunningEndsAtItsNextSuspension) {
  Ref watch;
  Pid pid;
  {
    SpawnedMonitor m = self.SpawnMonitor(KillsItsPartner);
    watch = m.ref;
    pid = m.pid;
  }
  Down down = co_await self.Receive<Down>();
  EXPECT_EQ(down.ref, watch);
  EXPECT_EQ(down.pid, pid);
  EXPECT_THAT(down.reason, StatusIs(absl::StatusCode::kInternal, "take this"));
  co_return absl::OkStatus();
}

// A kill that reaches a new actor before its first run ends it with reason killed, and its
// queued first run is withdrawn with it. Each level spawns the next from its own first run, so
// the deeper levels spawn past the eager-start nesting bound, where a same-shard spawn is
// queued instead of run at once.
Task<absl::Status> SpawnsAndKillsAtEveryDepth(Self self, Pid report, int levels) {
  if (levels > 1) self.Spawn(SpawnsAndKillsAtEveryDepth, report, levels - 1);
  SpawnedMonitor victim = self.SpawnMonitor(Worker);
  self.SendExit(victim.pid, KillReason());
  Down down = co_await self.Receive<Down>();
  self.Send(report, std::move(down));
  co_return absl::OkStatus();
}

SNOW_CO_TEST(LinkTest, AKillBeforeTheFirstRunEndsTheActorAtAnySpawnDepth) {
  constexpr int kLevels = 40;
  self.Spawn(SpawnsAndKillsAtEveryDepth, self.pid(), kLevels);
  for (int i = 0; i < kLevels; ++i) {
    Down down = co_await self.Receive<Down>();
    EXPECT_THAT(down.reason, StatusIs(absl::StatusCode::kAborted, "killed"));
  }
  EXPECT_EQ(self.runtime().stats().live_actors, 1u);
  co_return absl::OkStatus();
}

// The same across shards: the spawn and the kill reach the other shard in one batch, so the
// kill is handled after the new actor is queued there and before it first runs.
Task<absl::Status> SpawnsAndKillsOnAnotherShard(Self self, int rounds) {
  for (int i = 0; i < rounds; ++i) {
    SpawnedMonitor victim =
        self.SpawnMonitor(SpawnOptions{.placement = Placement::kShard, .shard = 1}, Worker);
    self.SendExit(victim.pid, KillReason());
  }
  for (int i = 0; i < rounds; ++i) {
    Down down = co_await self.Receive<Down>();
    SNOW_CO_ASSERT(down.reason.code() == absl::StatusCode::kAborted);
  }
  co_return absl::OkStatus();
}

TEST(LinkTest, ASpawnAndAKillArrivingTogetherOnAnotherShardEndTheActor) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(2), SpawnsAndKillsOnAnotherShard, 2000), IsOk());
}

}  // namespace
}  // namespace snow
