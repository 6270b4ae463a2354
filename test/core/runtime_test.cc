#include "core/runtime.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "core/snow.h"
#include "test/testing/co_test.h"

namespace snow {
namespace {

using ::snow::testing::IsOk;
using ::snow::testing::RealRuntimeOptions;
using ::snow::testing::RunOnTestRuntime;
using ::snow::testing::StatusIs;

struct Sequenced {
  int sender;
  int64_t seq;
};
struct Done {
  int64_t lost;
  int64_t reordered;
};

Task<absl::Status> Sink(Self self, Pid report_to, int senders, int64_t per_sender) {
  std::vector<int64_t> next(senders, 0);
  int64_t reordered = 0;
  for (int64_t got = 0; got < senders * per_sender; ++got) {
    Sequenced m = co_await self.Receive<Sequenced>();
    if (m.seq != next[m.sender]) ++reordered;
    next[m.sender] = m.seq + 1;
  }
  int64_t lost = 0;
  for (int64_t n : next) lost += per_sender - n;
  self.Send(report_to, Done{lost, reordered});
  co_return absl::OkStatus();
}

Task<absl::Status> Source(Self self, Pid sink, int sender, int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    self.Send(sink, Sequenced{sender, i});
    co_await MaybeYield();
  }
  co_return absl::OkStatus();
}

Task<absl::Status> FifoMain(Self self, ShardId sink_shard, int senders, int64_t per_sender) {
  Pid sink = self.Spawn(SpawnOptions{.placement = Placement::kShard, .shard = sink_shard}, Sink,
                        self.pid(), senders, per_sender);
  for (int s = 0; s < senders; ++s) {
    self.Spawn(SpawnOptions{.placement = Placement::kShard,
                            .shard = static_cast<ShardId>(s % self.runtime().shard_count())},
               Source, sink, s, per_sender);
  }
  Done done = co_await self.Receive<Done>();
  EXPECT_EQ(done.lost, 0);
  EXPECT_EQ(done.reordered, 0);
  co_return absl::OkStatus();
}

TEST(OrderingTest, OneSenderOneShardMillionInOrder) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(2), FifoMain, ShardId{0}, 1, int64_t{1'000'000}),
              IsOk());
}

TEST(OrderingTest, OneSenderAcrossShardsMillionInOrder) {
  // The sender is on shard 0, the sink on shard 1.
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(2), FifoMain, ShardId{1}, 1, int64_t{1'000'000}),
              IsOk());
}

TEST(OrderingTest, ManySendersFromBothShardsKeepPerPairOrder) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(2), FifoMain, ShardId{0}, 6, int64_t{200'000}),
              IsOk());
}

Task<absl::Status> WhereAmI(Self self, Pid report_to) {
  self.Send(report_to, self.shard());
  co_return absl::OkStatus();
}

Task<absl::Status> PlacementMain(Self self) {
  self.Spawn(SpawnOptions{.placement = Placement::kShard, .shard = 1}, WhereAmI, self.pid());
  EXPECT_EQ(co_await self.Receive<ShardId>(), 1u);
  self.Spawn(WhereAmI, self.pid());
  EXPECT_EQ(co_await self.Receive<ShardId>(), self.shard());
  int on[2] = {0, 0};
  for (int i = 0; i < 10; ++i) {
    self.Spawn(SpawnOptions{.placement = Placement::kRoundRobin}, WhereAmI, self.pid());
    ShardId s = co_await self.Receive<ShardId>();
    ++on[s];
  }
  EXPECT_EQ(on[0], 5);
  EXPECT_EQ(on[1], 5);
  self.Spawn(SpawnOptions{.placement = Placement::kLeastLoaded}, WhereAmI, self.pid());
  // Shard 0 has this actor; shard 1 has none left.
  EXPECT_EQ(co_await self.Receive<ShardId>(), 1u);
  co_return absl::OkStatus();
}

TEST(RuntimeTest, SpawnPlacement) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(2), PlacementMain), IsOk());
}

Task<absl::Status> WaitForOutsider(Self self) {
  int n = co_await self.Receive<int>();
  co_return n == 7 ? absl::OkStatus() : absl::InternalError("wrong message");
}

double CpuSeconds() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

TEST(RuntimeTest, IdleRuntimeUsesNoCpu) {
  absl::StatusOr<std::unique_ptr<Runtime>> runtime = Runtime::Create(RealRuntimeOptions(2));
  ASSERT_THAT(runtime, IsOk());
  Pid main = (*runtime)->SpawnMain(WaitForOutsider);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // past the spin budget
  double before = CpuSeconds();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  double used = CpuSeconds() - before;
  // Both shards parked in io_uring_enter: well under 1% of one CPU.
  EXPECT_LT(used, 0.01) << "CPU seconds used while idle: " << used;
  (*runtime)->Send(main, 7);  // a message from outside wakes a parked shard
  EXPECT_THAT((*runtime)->Wait(), IsOk());
}

Task<absl::Status> SleepForever(Self) {
  co_await Sleep(absl::InfiniteDuration());
  co_return absl::OkStatus();
}

TEST(RuntimeTest, RunStopsCleanlyOnSigterm) {
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    RuntimeOptions options = RealRuntimeOptions(2);
    _exit(snow::Run(options, SleepForever));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  kill(child, SIGTERM);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGTERM);
}

TEST(RuntimeTest, VirtualClockReportsDeadlock) {
  EXPECT_THAT(RunOnTestRuntime(WaitForOutsider),
              StatusIs(absl::StatusCode::kDeadlineExceeded, "every actor is blocked"));
}

TEST(RuntimeTest, VirtualClockNeedsOneShard) {
  RuntimeOptions options;
  options.clock = Clock::kVirtual;
  options.shards = 2;
  EXPECT_THAT(Runtime::Create(options), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace snow
