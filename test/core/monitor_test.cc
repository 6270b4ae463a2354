// Monitors: docs/actors.md, one test per rule.
#include <stdexcept>
#include <string>

#include "snow/core/snow.h"
#include "snow/test/testing/co_test.h"

namespace snow {
namespace {

using ::snow::testing::IsOk;
using ::snow::testing::RealRuntimeOptions;
using ::snow::testing::RunOnTestRuntime;
using ::snow::testing::StatusIs;

struct Quit {
  absl::Status reason;
};

Task<absl::Status> QuitsWhenTold(Self self) {
  Quit q = co_await self.Receive<Quit>();
  co_return q.reason;
}

SNOW_CO_TEST(MonitorTest, DownArrivesOnceWithTheReason) {
  Pid target = self.Spawn(QuitsWhenTold);
  Ref ref = self.Monitor(target);
  self.Send(target, Quit{absl::ResourceExhaustedError("out of cheese")});
  Down down = co_await self.Receive<Down>();
  EXPECT_EQ(down.ref, ref);
  EXPECT_EQ(down.pid, target);
  EXPECT_THAT(down.reason, StatusIs(absl::StatusCode::kResourceExhausted, "out of cheese"));
  absl::StatusOr<Down> again = co_await self.ReceiveFor<Down>(absl::Seconds(10));
  EXPECT_THAT(again, StatusIs(absl::StatusCode::kDeadlineExceeded));
  co_return absl::OkStatus();
}

SNOW_CO_TEST(MonitorTest, DeadOrUnknownPidGivesNoprocAtOnce) {
  Pid target = self.Spawn(QuitsWhenTold);
  self.Send(target, Quit{absl::OkStatus()});
  co_await Yield();
  co_await Yield();
  Ref ref = self.Monitor(target);
  // Already in the mailbox: no waiting needed.
  absl::StatusOr<Down> down = co_await self.ReceiveFor<Down>(absl::ZeroDuration());
  SNOW_CO_ASSERT(down.ok());
  EXPECT_EQ(down->ref, ref);
  EXPECT_THAT(down->reason, StatusIs(absl::StatusCode::kNotFound, "noproc"));

  Pid unknown = Pid::FromParts(0, 0, 987654321);
  Ref ref2 = self.Monitor(unknown);
  absl::StatusOr<Down> down2 = co_await self.ReceiveFor<Down>(absl::ZeroDuration());
  SNOW_CO_ASSERT(down2.ok());
  EXPECT_EQ(down2->ref, ref2);
  EXPECT_EQ(down2->pid, unknown);
  EXPECT_THAT(down2->reason, StatusIs(absl::StatusCode::kNotFound, "noproc"));
  co_return absl::OkStatus();
}

SNOW_CO_TEST(MonitorTest, RemotePidWithoutDistributionGivesNoconnection) {
  Pid remote = Pid::FromParts(3, 0, 42);
  Ref ref = self.Monitor(remote);
  absl::StatusOr<Down> down = co_await self.ReceiveFor<Down>(absl::ZeroDuration());
  SNOW_CO_ASSERT(down.ok());
  EXPECT_EQ(down->ref, ref);
  EXPECT_THAT(down->reason, StatusIs(absl::StatusCode::kUnavailable, "noconnection"));
  co_return absl::OkStatus();
}

SNOW_CO_TEST(MonitorTest, MonitorsStack) {
  Pid target = self.Spawn(QuitsWhenTold);
  Ref a = self.Monitor(target);
  Ref b = self.Monitor(target);
  EXPECT_NE(a, b);
  self.Send(target, Quit{absl::AbortedError("bye")});
  Down first = co_await self.Receive<Down>();
  Down second = co_await self.Receive<Down>();
  EXPECT_EQ(first.ref, a);
  EXPECT_EQ(second.ref, b);
  co_return absl::OkStatus();
}

SNOW_CO_TEST(MonitorTest, DemonitorMeansNoDown) {
  Pid target = self.Spawn(QuitsWhenTold);
  Ref ref = self.Monitor(target);
  EXPECT_TRUE(self.Demonitor(ref));
  Ref other = self.Monitor(target);
  self.Send(target, Quit{absl::AbortedError("bye")});
  Down down = co_await self.Receive<Down>();
  EXPECT_EQ(down.ref, other);  // only the monitor still held fires
  absl::StatusOr<Down> none = co_await self.ReceiveFor<Down>(absl::Seconds(1));
  EXPECT_THAT(none, StatusIs(absl::StatusCode::kDeadlineExceeded));
  co_return absl::OkStatus();
}

SNOW_CO_TEST(MonitorTest, DemonitorWithFlushRemovesADeliveredDown) {
  Pid target = self.Spawn(QuitsWhenTold);
  Ref ref = self.Monitor(target);
  self.Send(target, Quit{absl::AbortedError("bye")});
  self.Send(self.pid(), std::string("after"));
  co_await Yield();  // one shard: the target runs, quits, and its Down is queued here
  EXPECT_EQ(self.mailbox_size(), 2u);
  EXPECT_FALSE(self.Demonitor(ref, DemonitorOption::kFlush));  // it had fired
  EXPECT_EQ(self.mailbox_size(), 1u);
  std::string left = co_await self.Receive<std::string>();
  EXPECT_EQ(left, "after");
  co_return absl::OkStatus();
}

SNOW_CO_TEST(MonitorTest, DemonitorWithoutFlushLeavesADeliveredDown) {
  Pid target = self.Spawn(QuitsWhenTold);
  Ref ref = self.Monitor(target);
  self.Send(target, Quit{absl::OkStatus()});
  co_await Yield();  // the target runs and quits; its Down is queued here
  EXPECT_FALSE(self.Demonitor(ref));
  EXPECT_EQ(self.mailbox_size(), 1u);
  co_return absl::OkStatus();
}

Task<absl::Status> EndsAtOnce(Self) { co_return absl::DataLossError("short life"); }

SNOW_CO_TEST(MonitorTest, SpawnMonitorIsAtomic) {
  SpawnedMonitor m = self.SpawnMonitor(EndsAtOnce);
  Down down = co_await self.Receive<Down>();
  EXPECT_EQ(down.ref, m.ref);
  EXPECT_EQ(down.pid, m.pid);
  EXPECT_THAT(down.reason, StatusIs(absl::StatusCode::kDataLoss, "short life"));
  co_return absl::OkStatus();
}

SNOW_CO_TEST(MonitorTest, AMonitorDiesWithItsWatcher) {
  // A watcher that ends drops its monitors: the target's bookkeeping is cleaned up, and the
  // target's later exit sends nothing anywhere.
  Pid target = self.Spawn(QuitsWhenTold);
  SpawnedMonitor watcher = self.SpawnMonitor(
      +[](Self self, Pid target) -> Task<absl::Status> {
        self.Monitor(target);
        co_return absl::OkStatus();
      },
      target);
  Down w = co_await self.Receive<Down>();
  EXPECT_EQ(w.ref, watcher.ref);
  uint64_t dropped = self.runtime().stats().messages_dropped;
  Ref ref = self.Monitor(target);
  self.Send(target, Quit{absl::OkStatus()});
  Down down = co_await self.Receive<Down>();
  EXPECT_EQ(down.ref, ref);
  EXPECT_EQ(self.runtime().stats().messages_dropped, dropped);
  co_return absl::OkStatus();
}

Task<absl::Status> MonitorAcrossShardsMain(Self self) {
  Pid target = self.Spawn(SpawnOptions{.placement = Placement::kShard, .shard = 1}, QuitsWhenTold);
  Ref ref = self.Monitor(target);
  self.Send(target, Quit{absl::UnauthenticatedError("who?")});
  Down down = co_await self.Receive<Down>();
  EXPECT_EQ(down.ref, ref);
  EXPECT_EQ(down.pid, target);
  EXPECT_THAT(down.reason, StatusIs(absl::StatusCode::kUnauthenticated, "who?"));
  Ref late = self.Monitor(target);
  Down noproc = co_await self.Receive<Down>();
  EXPECT_EQ(noproc.ref, late);
  EXPECT_THAT(noproc.reason, StatusIs(absl::StatusCode::kNotFound, "noproc"));
  co_return absl::OkStatus();
}

TEST(MonitorTest, WorksAcrossShards) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(2), MonitorAcrossShardsMain), IsOk());
}

}  // namespace
}  // namespace snow
