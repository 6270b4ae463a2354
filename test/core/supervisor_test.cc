// Supervisors (core/supervisor.h): each strategy, restart type, intensity and shutdown rule.
//
// Workers report to the test's main actor (the probe): Started{name} when they start and
// Stopped{name} when their frame goes away (a destructor, so a kill is seen too). The tests
// assert the exact sequence, on the deterministic runtime.
#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>
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

struct Started {
  std::string name;
  Pid pid;
};
struct Stopped {
  std::string name;
};
struct Crash {};
struct Quit {};

enum class Mode { kObedient, kIgnoresShutdown, kCrashesAtStart };

// Sends Stopped when the worker's frame is destroyed, however that happens.
class StopNotice {
 public:
  StopNotice(Self self, Pid probe, std::string name)
      : self_(self), probe_(probe), name_(std::move(name)) {}
  StopNotice(const StopNotice&) = delete;
  StopNotice& operator=(const StopNotice&) = delete;
  ~StopNotice() { self_.Send(probe_, Stopped{name_}); }

 private:
  Self self_;
  Pid probe_;
  std::string name_;
};

Task<absl::Status> Worker(Self self, Pid probe, std::string name, Mode mode) {
  if (mode == Mode::kCrashesAtStart) {
    self.Send(probe, Started{name, self.pid()});
    throw std::runtime_error(name + " cannot start");
  }
  StopNotice notice(self, probe, name);
  if (mode == Mode::kIgnoresShutdown) self.TrapExits();
  self.Send(probe, Started{name, self.pid()});
  for (;;) {
    auto m = co_await self.Receive<Crash, Quit, Exit>();
    if (std::holds_alternative<Crash>(m)) throw std::runtime_error(name + " crashed");
    if (std::holds_alternative<Quit>(m)) co_return absl::OkStatus();
    // Exit (only when trapping): ignored, on purpose.
  }
}

ChildSpec WorkerSpec(Pid probe, std::string name, Restart restart = Restart::kPermanent,
                     Mode mode = Mode::kObedient) {
  return ChildSpec{.id = name, .start = Start(Worker, probe, name, mode), .restart = restart};
}

// Receives the next Started or Stopped and renders it as "+name" or "-name".
Task<std::string> NextEvent(Self self) {
  absl::StatusOr<std::variant<Started, Stopped>> m =
      co_await self.ReceiveFor<Started, Stopped>(absl::Seconds(60));
  if (!m.ok()) co_return std::string("timeout");
  if (auto* s = std::get_if<Started>(&*m)) co_return "+" + s->name;
  co_return "-" + std::get<Stopped>(*m).name;
}

Task<std::vector<std::string>> NextEvents(Self self, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    std::string e = co_await NextEvent(self);
    out.push_back(std::move(e));
  }
  co_return out;
}

Task<Pid> PidOf(Self self, Pid supervisor, std::string id) {
  absl::StatusOr<std::vector<ChildInfo>> children = co_await WhichChildren(self, supervisor);
  if (!children.ok()) co_return Pid();
  for (const ChildInfo& c : *children) {
    if (c.id == id) co_return c.pid;
  }
  co_return Pid();
}

// No Started/Stopped arrives within a (virtual) second.
Task<bool> Quiet(Self self) {
  absl::StatusOr<std::variant<Started, Stopped>> m =
      co_await self.ReceiveFor<Started, Stopped>(absl::Seconds(1));
  co_return !m.ok();
}

SupervisorSpec ThreeWorkers(Pid probe, Strategy strategy) {
  return SupervisorSpec{
      .strategy = strategy,
      .intensity = 3,
      .period = absl::Seconds(5),
      .children = {WorkerSpec(probe, "a"), WorkerSpec(probe, "b"), WorkerSpec(probe, "c")}};
}

using Events = std::vector<std::string>;

SNOW_CO_TEST(SupervisorTest, ChildrenStartInOrder) {
  Pid sup = self.SpawnLink(Supervise, ThreeWorkers(self.pid(), Strategy::kOneForOne));
  Events started = co_await NextEvents(self, 3);
  EXPECT_EQ(started, (Events{"+a", "+b", "+c"}));
  absl::StatusOr<ChildCounts> counts = co_await CountChildren(self, sup);
  SNOW_CO_ASSERT(counts.ok());
  EXPECT_EQ(counts->specs, 3);
  EXPECT_EQ(counts->active, 3);
  EXPECT_EQ(counts->workers, 3);
  EXPECT_EQ(counts->supervisors, 0);
  co_return absl::OkStatus();
}

SNOW_CO_TEST(SupervisorTest, OneForOneRestartsOnlyTheChildThatEnded) {
  Pid sup = self.SpawnLink(Supervise, ThreeWorkers(self.pid(), Strategy::kOneForOne));
  Events started = co_await NextEvents(self, 3);
  Pid a = co_await PidOf(self, sup, "a");
  Pid b = co_await PidOf(self, sup, "b");
  Pid c = co_await PidOf(self, sup, "c");
  self.Send(b, Crash{});
  Events restart = co_await NextEvents(self, 2);
  EXPECT_EQ(restart, (Events{"-b", "+b"}));
  bool quiet = co_await Quiet(self);
  EXPECT_TRUE(quiet);
  Pid a2 = co_await PidOf(self, sup, "a");
  Pid b2 = co_await PidOf(self, sup, "b");
  Pid c2 = co_await PidOf(self, sup, "c");
  EXPECT_EQ(a2, a);
  EXPECT_NE(b2, b);
  EXPECT_TRUE(b2);
  EXPECT_EQ(c2, c);
  co_return absl::OkStatus();
}

SNOW_CO_TEST(SupervisorTest, OneForAllStopsTheOthersInReverseAndRestartsAllInOrder) {
  Pid sup = self.SpawnLink(Supervise, ThreeWorkers(self.pid(), Strategy::kOneForAll));
  Events started = co_await NextEvents(self, 3);
  Pid b = co_await PidOf(self, sup, "b");
  self.Send(b, Crash{});
  // b ends by itself, then c and a are stopped (newest first), then all start in order.
  Events restart = co_await NextEvents(self, 6);
  EXPECT_EQ(restart, (Events{"-b", "-c", "-a", "+a", "+b", "+c"}));
  bool quiet = co_await Quiet(self);
  EXPECT_TRUE(quiet);
  co_return absl::OkStatus();
}

SNOW_CO_TEST(SupervisorTest, RestForOneRestartsTheChildAndThoseStartedAfterIt) {
  Pid sup = self.SpawnLink(Supervise, ThreeWorkers(self.pid(), Strategy::kRestForOne));
  Events started = co_await NextEvents(self, 3);
  Pid a = co_await PidOf(self, sup, "a");
  Pid b = co_await PidOf(self, sup, "b");
  self.Send(b, Crash{});
  Events restart = co_await NextEvents(self, 4);
  EXPECT_EQ(restart, (Events{"-b", "-c", "+b", "+c"}));
  bool quiet = co_await Quiet(self);
  EXPECT_TRUE(quiet);
  Pid a2 = co_await PidOf(self, sup, "a");
  EXPECT_EQ(a2, a);
  co_return absl::OkStatus();
}

SNOW_CO_TEST(SupervisorTest, SimpleOneForOneStartsChildrenOnDemand) {
  Pid probe = self.pid();
  Pid sup = self.SpawnLink(
      Supervise,
      SupervisorSpec{.strategy = Strategy::kSimpleOneForOne,
                     .intensity = 5,
                     .children = {{.id = "template",
                                   .start = Start(Worker, probe, std::string("t"), Mode::kObedient),
                                   .restart = Restart::kTransient}}});
  std::vector<Pid> pids;
  std::vector<std::string> names = {"x", "y", "z"};
  for (const std::string& name : names) {
    // A named spec: no braced temporary inside a co_await expression (docs/pitfalls.md; g++ 12
    // mis-handles it).
    ChildSpec spec{.start = Start(Worker, probe, name, Mode::kObedient)};
    absl::StatusOr<Pid> pid = co_await StartChild(self, sup, std::move(spec));
    SNOW_CO_ASSERT(pid.ok());
    pids.push_back(*pid);
  }
  Events started = co_await NextEvents(self, 3);
  EXPECT_EQ(started, (Events{"+x", "+y", "+z"}));
  // A crash restarts that child only (transient, abnormal exit).
  self.Send(pids[1], Crash{});
  Events restart = co_await NextEvents(self, 2);
  EXPECT_EQ(restart, (Events{"-y", "+y"}));
  // A normal exit of a transient child: gone for good.
  self.Send(pids[0], Quit{});
  Events quit = co_await NextEvents(self, 1);
  EXPECT_EQ(quit, (Events{"-x"}));
  // TerminateChild names simple children by PID.
  absl::Status stopped = co_await TerminateChild(self, sup, pids[2]);
  EXPECT_THAT(stopped, IsOk());
  Events stop = co_await NextEvents(self, 1);
  EXPECT_EQ(stop, (Events{"-z"}));
  absl::StatusOr<ChildCounts> counts = co_await CountChildren(self, sup);
  SNOW_CO_ASSERT(counts.ok());
  EXPECT_EQ(counts->specs, 1);  // only the restarted y
  EXPECT_EQ(counts->active, 1);
  absl::Status again = co_await TerminateChild(self, sup, pids[2]);
  EXPECT_THAT(again, StatusIs(absl::StatusCode::kNotFound));
  co_return absl::OkStatus();
}

SNOW_CO_TEST(SupervisorTest, TransientIsRestartedOnlyAfterAnAbnormalExit) {
  Pid probe = self.pid();
  Pid sup = self.SpawnLink(
      Supervise,
      SupervisorSpec{.intensity = 5, .children = {WorkerSpec(probe, "t", Restart::kTransient)}});
  Events started = co_await NextEvents(self, 1);
  Pid t = co_await PidOf(self, sup, "t");
  self.Send(t, Crash{});
  Events crashed = co_await NextEvents(self, 2);
  EXPECT_EQ(crashed, (Events{"-t", "+t"}));
  Pid t2 = co_await PidOf(self, sup, "t");
  self.Send(t2, Quit{});
  Events quit = co_await NextEvents(self, 1);
  EXPECT_EQ(quit, (Events{"-t"}));
  bool quiet = co_await Quiet(self);
  EXPECT_TRUE(quiet);
  // The spec stays, not running.
  absl::StatusOr<std::vector<ChildInfo>> children = co_await WhichChildren(self, sup);
  SNOW_CO_ASSERT(children.ok() && children->size() == 1);
  EXPECT_EQ((*children)[0].id, "t");
  EXPECT_FALSE((*children)[0].pid);
  co_return absl::OkStatus();
}

SNOW_CO_TEST(SupervisorTest, TemporaryIsNeverRestartedAndIsForgotten) {
  Pid probe = self.pid();
  Pid sup = self.SpawnLink(
      Supervise, SupervisorSpec{.intensity = 5,
                                .children = {WorkerSpec(probe, "tmp", Restart::kTemporary),
                                             WorkerSpec(probe, "perm")}});
  Events started = co_await NextEvents(self, 2);
  Pid tmp = co_await PidOf(self, sup, "tmp");
  self.Send(tmp, Crash{});
  Events crashed = co_await NextEvents(self, 1);
  EXPECT_EQ(crashed, (Events{"-tmp"}));
  bool quiet = co_await Quiet(self);
  EXPECT_TRUE(quiet);
  absl::StatusOr<std::vector<ChildInfo>> children = co_await WhichChildren(self, sup);
  SNOW_CO_ASSERT(children.ok() && children->size() == 1);
  EXPECT_EQ((*children)[0].id, "perm");
  co_return absl::OkStatus();
}

SNOW_CO_TEST(SupervisorTest, ExceedingTheIntensityStopsEveryChildAndExitsWithShutdown) {
  Pid probe = self.pid();
  self.TrapExits();
  Pid sup = self.SpawnLink(Supervise, SupervisorSpec{.intensity = 2,
                                                     .period = absl::Seconds(10),
                                                     .children = {WorkerSpec(probe, "first"),
                                                                  WorkerSpec(probe, "flaky")}});
  Events started = co_await NextEvents(self, 2);
  for (int i = 0; i < 3; ++i) {
    Pid flaky = co_await PidOf(self, sup, "flaky");
    self.Send(flaky, Crash{});
    co_await Sleep(absl::Seconds(1));
  }
  Events seen = co_await NextEvents(self, 6);
  EXPECT_EQ(seen, (Events{"-flaky", "+flaky", "-flaky", "+flaky", "-flaky", "-first"}));
  Exit e = co_await self.Receive<Exit>();
  EXPECT_EQ(e.from, sup);
  EXPECT_TRUE(IsShutdown(e.reason)) << e.reason;
  co_return absl::OkStatus();
}

SNOW_CO_TEST(SupervisorTest, RestartsOutsideThePeriodDoNotCount) {
  Pid probe = self.pid();
  self.TrapExits();
  Pid sup = self.SpawnLink(Supervise, SupervisorSpec{.intensity = 1,
                                                     .period = absl::Seconds(1),
                                                     .children = {WorkerSpec(probe, "w")}});
  Events started = co_await NextEvents(self, 1);
  for (int i = 0; i < 5; ++i) {
    Pid w = co_await PidOf(self, sup, "w");
    self.Send(w, Crash{});
    Events restart = co_await NextEvents(self, 2);
    EXPECT_EQ(restart, (Events{"-w", "+w"}));
    co_await Sleep(absl::Seconds(2));
  }
  EXPECT_EQ(self.mailbox_size(), 0u);  // no Exit: the supervisor is still up
  co_return absl::OkStatus();
}

SNOW_CO_TEST(SupervisorTest, ACrashLoopingChildIsBoundedByTheIntensity) {
  Pid probe = self.pid();
  self.TrapExits();
  Pid sup = self.SpawnLink(
      Supervise, SupervisorSpec{.intensity = 3,
                                .period = absl::Seconds(5),
                                .children = {WorkerSpec(probe, "loop", Restart::kPermanent,
                                                        Mode::kCrashesAtStart)}});
  Exit e = co_await self.Receive<Exit>();
  EXPECT_EQ(e.from, sup);
  EXPECT_TRUE(IsShutdown(e.reason)) << e.reason;
  // One start and exactly `intensity` restarts: no storm.
  int starts = 0;
  while (self.mailbox_size() > 0) {
    std::string event = co_await NextEvent(self);
    if (event == "+loop") ++starts;
  }
  EXPECT_EQ(starts, 4);
  co_return absl::OkStatus();
}

SNOW_CO_TEST(SupervisorTest, IntensityExceededEscalatesToTheParentSupervisor) {
  Pid probe = self.pid();
  SupervisorSpec inner{
      .intensity = 1, .period = absl::Seconds(10), .children = {WorkerSpec(probe, "leaf")}};
  Pid top =
      self.SpawnLink(Supervise, SupervisorSpec{.intensity = 5,
                                               .period = absl::Seconds(10),
                                               .children = {{.id = "inner",
                                                             .start = Start(Supervise, inner),
                                                             .shutdown = absl::InfiniteDuration(),
                                                             .type = ChildType::kSupervisor}}});
  Events started = co_await NextEvents(self, 1);
  EXPECT_EQ(started, (Events{"+leaf"}));
  Pid inner1 = co_await PidOf(self, top, "inner");
  SNOW_CO_ASSERT(inner1);
  absl::StatusOr<ChildCounts> counts = co_await CountChildren(self, top);
  SNOW_CO_ASSERT(counts.ok());
  EXPECT_EQ(counts->supervisors, 1);
  // Two crashes in the inner supervisor's period: it gives up, the top one restarts it.
  Pid leaf = co_await PidOf(self, inner1, "leaf");
  self.Send(leaf, Crash{});
  Events first = co_await NextEvents(self, 2);
  EXPECT_EQ(first, (Events{"-leaf", "+leaf"}));
  Pid leaf2 = co_await PidOf(self, inner1, "leaf");
  self.Send(leaf2, Crash{});
  Events second = co_await NextEvents(self, 2);
  EXPECT_EQ(second, (Events{"-leaf", "+leaf"}));  // by a new inner supervisor
  Pid inner2 = co_await PidOf(self, top, "inner");
  EXPECT_TRUE(inner2);
  EXPECT_NE(inner2, inner1);
  co_return absl::OkStatus();
}

Task<absl::Status> OwnsASupervisor(Self self, SupervisorSpec spec) {
  Pid sup = self.SpawnLink(Supervise, std::move(spec));
  self.Send(self.parent(), sup);
  Quit q = co_await self.Receive<Quit>();
  (void)q;
  co_return absl::CancelledError("owner leaves");
}

SNOW_CO_TEST(SupervisorTest, WhenItsParentEndsChildrenStopInReverseStartOrder) {
  self.TrapExits();
  Pid owner = self.SpawnLink(OwnsASupervisor, ThreeWorkers(self.pid(), Strategy::kOneForOne));
  Pid sup = co_await self.Receive<Pid>();
  Ref watch = self.Monitor(sup);
  Events started = co_await NextEvents(self, 3);
  EXPECT_EQ(started, (Events{"+a", "+b", "+c"}));
  self.Send(owner, Quit{});
  Events stopped = co_await NextEvents(self, 3);
  EXPECT_EQ(stopped, (Events{"-c", "-b", "-a"}));
  auto is_watched = [watch](const Down& d) { return d.ref == watch; };
  Down down = co_await self.Receive<Down>(is_watched);
  EXPECT_THAT(down.reason, StatusIs(absl::StatusCode::kCancelled, "owner leaves"));
  co_return absl::OkStatus();
}

SNOW_CO_TEST(SupervisorTest, AChildThatIgnoresShutdownIsKilledAfterItsTimeout) {
  Pid probe = self.pid();
  ChildSpec stubborn = WorkerSpec(probe, "stubborn", Restart::kPermanent, Mode::kIgnoresShutdown);
  stubborn.shutdown = absl::Milliseconds(300);
  Pid sup = self.SpawnLink(Supervise, SupervisorSpec{.children = {stubborn}});
  Events started = co_await NextEvents(self, 1);
  Pid pid = co_await PidOf(self, sup, "stubborn");
  Ref watch = self.Monitor(pid);
  absl::Duration before = MonotonicNow();
  absl::Status stopped = co_await TerminateChild(self, sup, std::string("stubborn"));
  EXPECT_THAT(stopped, IsOk());
  EXPECT_EQ(MonotonicNow() - before, absl::Milliseconds(300));
  Down down = co_await self.Receive<Down>();
  EXPECT_EQ(down.ref, watch);
  EXPECT_THAT(down.reason, StatusIs(absl::StatusCode::kAborted, "killed"));
  co_return absl::OkStatus();
}

SNOW_CO_TEST(SupervisorTest, BrutalKillDoesNotWait) {
  Pid probe = self.pid();
  ChildSpec stubborn = WorkerSpec(probe, "stubborn", Restart::kPermanent, Mode::kIgnoresShutdown);
  stubborn.shutdown = kBrutalKill;
  Pid sup = self.SpawnLink(Supervise, SupervisorSpec{.children = {stubborn}});
  Events started = co_await NextEvents(self, 1);
  absl::Duration before = MonotonicNow();
  absl::Status stopped = co_await TerminateChild(self, sup, std::string("stubborn"));
  EXPECT_THAT(stopped, IsOk());
  EXPECT_EQ(MonotonicNow() - before, absl::ZeroDuration());
  Events gone = co_await NextEvents(self, 1);
  EXPECT_EQ(gone, (Events{"-stubborn"}));
  co_return absl::OkStatus();
}

Task<absl::StatusOr<Pid>> FailsToStart(Self) {
  co_return absl::UnavailableError("port 80 is taken");
}

SNOW_CO_TEST(SupervisorTest, AChildThatFailsToStartStopsTheSupervisorAtStartup) {
  Pid probe = self.pid();
  self.TrapExits();
  Pid sup =
      self.SpawnLink(Supervise, SupervisorSpec{.children = {WorkerSpec(probe, "ok"),
                                                            {.id = "bad", .start = FailsToStart},
                                                            WorkerSpec(probe, "never")}});
  Exit e = co_await self.Receive<Exit>();
  EXPECT_EQ(e.from, sup);
  // "ok" was started and stopped again (before it ever ran); "never" was not started.
  EXPECT_EQ(self.runtime().stats().live_actors, 1u);
  EXPECT_EQ(self.runtime().stats().actors_spawned, 3u);
  EXPECT_TRUE(IsShutdown(e.reason)) << e.reason;
  EXPECT_THAT(e.reason, StatusIs(absl::StatusCode::kCancelled, "\"bad\""));
  EXPECT_THAT(e.reason, StatusIs(absl::StatusCode::kCancelled, "port 80 is taken"));
  co_return absl::OkStatus();
}

SNOW_CO_TEST(SupervisorTest, ManagingChildrenAtRunTime) {
  Pid probe = self.pid();
  Pid sup = self.SpawnLink(Supervise, SupervisorSpec{.children = {WorkerSpec(probe, "a")}});
  Events started = co_await NextEvents(self, 1);

  ChildSpec b_spec = WorkerSpec(probe, "b");
  absl::StatusOr<Pid> b = co_await StartChild(self, sup, b_spec);
  EXPECT_THAT(b, IsOk());
  absl::StatusOr<Pid> dup = co_await StartChild(self, sup, b_spec);
  EXPECT_THAT(dup, StatusIs(absl::StatusCode::kAlreadyExists, "already started"));
  ChildSpec bad_spec{.id = "bad", .start = FailsToStart};
  absl::StatusOr<Pid> bad = co_await StartChild(self, sup, bad_spec);
  EXPECT_THAT(bad, StatusIs(absl::StatusCode::kUnavailable, "port 80 is taken"));

  absl::Status running = co_await DeleteChild(self, sup, "b");
  EXPECT_THAT(running, StatusIs(absl::StatusCode::kFailedPrecondition));
  absl::Status stopped = co_await TerminateChild(self, sup, std::string("b"));
  EXPECT_THAT(stopped, IsOk());
  absl::StatusOr<ChildCounts> counts = co_await CountChildren(self, sup);
  SNOW_CO_ASSERT(counts.ok());
  EXPECT_EQ(counts->specs, 2);
  EXPECT_EQ(counts->active, 1);
  absl::StatusOr<Pid> b2 = co_await RestartChild(self, sup, "b");
  EXPECT_THAT(b2, IsOk());
  absl::StatusOr<Pid> again = co_await RestartChild(self, sup, "b");
  EXPECT_THAT(again, StatusIs(absl::StatusCode::kFailedPrecondition, "running"));
  absl::Status stopped2 = co_await TerminateChild(self, sup, std::string("b"));
  EXPECT_THAT(stopped2, IsOk());
  absl::Status deleted = co_await DeleteChild(self, sup, "b");
  EXPECT_THAT(deleted, IsOk());
  absl::Status unknown = co_await DeleteChild(self, sup, "b");
  EXPECT_THAT(unknown, StatusIs(absl::StatusCode::kNotFound));
  absl::StatusOr<std::vector<ChildInfo>> children = co_await WhichChildren(self, sup);
  SNOW_CO_ASSERT(children.ok() && children->size() == 1);
  EXPECT_EQ((*children)[0].id, "a");
  Events seen = co_await NextEvents(self, 4);
  EXPECT_EQ(seen, (Events{"+b", "-b", "+b", "-b"}));
  co_return absl::OkStatus();
}

SNOW_CO_TEST(SupervisorTest, ABadSpecIsRefused) {
  self.TrapExits();
  Pid probe = self.pid();
  Pid sup = self.SpawnLink(
      Supervise, SupervisorSpec{.children = {WorkerSpec(probe, "a"), WorkerSpec(probe, "a")}});
  Exit e = co_await self.Receive<Exit>();
  EXPECT_EQ(e.from, sup);
  EXPECT_THAT(e.reason, StatusIs(absl::StatusCode::kInvalidArgument, "two children"));
  co_return absl::OkStatus();
}

// Children on another shard are supervised the same way.
Task<absl::Status> AcrossShardsMain(Self self) {
  Pid probe = self.pid();
  SpawnOptions other{.placement = Placement::kShard, .shard = 1};
  Pid sup = self.SpawnLink(
      Supervise,
      SupervisorSpec{
          .strategy = Strategy::kOneForAll,
          .intensity = 10,
          .children = {
              {.id = "a", .start = Start(other, Worker, probe, std::string("a"), Mode::kObedient)},
              {.id = "b", .start = Start(Worker, probe, std::string("b"), Mode::kObedient)}}});
  // Started in order, but a runs on another shard: its report may come second.
  Events started = co_await NextEvents(self, 2);
  std::sort(started.begin(), started.end());
  EXPECT_EQ(started, (Events{"+a", "+b"}));
  Pid a = co_await PidOf(self, sup, "a");
  EXPECT_EQ(a.shard(), 1u);
  self.Send(a, Crash{});
  // a ends, b is stopped (the supervisor waits for it), then both start again.
  Events stopped = co_await NextEvents(self, 2);
  EXPECT_EQ(stopped, (Events{"-a", "-b"}));
  Events restarted = co_await NextEvents(self, 2);
  std::sort(restarted.begin(), restarted.end());
  EXPECT_EQ(restarted, (Events{"+a", "+b"}));
  co_return absl::OkStatus();
}

TEST(SupervisorTest, SupervisesChildrenOnOtherShards) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(2), AcrossShardsMain), IsOk());
}

}  // namespace
}  // namespace snow
