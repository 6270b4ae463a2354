#include "snow/core/runtime.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "snow/core/snow.h"
#include "snow/test/testing/co_test.h"

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

// Writes a byte to `ready_fd` once running, then sleeps until the runtime stops it. While its
// frame is destroyed it writes to `stopping_fd` and blocks until `resume_fd` is readable.
struct BlocksShutdown {
  int stopping_fd;
  int resume_fd;
  ~BlocksShutdown() {
    if (stopping_fd < 0) return;
    char byte = 's';
    (void)!write(stopping_fd, &byte, 1);
    (void)!read(resume_fd, &byte, 1);
  }
};

Task<absl::Status> SleepsUntilStopped(Self, int ready_fd, int stopping_fd, int resume_fd) {
  BlocksShutdown guard{stopping_fd, resume_fd};
  char byte = 'r';
  (void)!write(ready_fd, &byte, 1);
  co_await Sleep(absl::InfiniteDuration());
  co_return absl::OkStatus();
}

// A child process running snow::Run, with pipes to follow it through its start and shutdown.
struct RunChild {
  pid_t pid = -1;
  int ready = -1;     // read: the main actor runs
  int stopping = -1;  // read: shutdown is destroying the main actor
  int resume = -1;    // write: let shutdown go on

  static RunChild Start(bool block_shutdown) {
    int ready[2], stopping[2], resume[2];
    if (pipe(ready) != 0 || pipe(stopping) != 0 || pipe(resume) != 0) return {};
    pid_t pid = fork();
    if (pid == 0) {
      _exit(snow::Run(RealRuntimeOptions(2), SleepsUntilStopped, ready[1],
                      block_shutdown ? stopping[1] : -1, resume[0]));
    }
    close(ready[1]);
    close(stopping[1]);
    close(resume[0]);
    return {pid, ready[0], stopping[0], resume[1]};
  }
  bool Await(int fd) const {
    char byte;
    return read(fd, &byte, 1) == 1;
  }
  // The child's wait status.
  int Reap() {
    close(ready);
    close(stopping);
    close(resume);
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) return -1;
    return status;
  }
};

TEST(RuntimeTest, RunStopsCleanlyOnSigterm) {
  RunChild child = RunChild::Start(/*block_shutdown=*/false);
  ASSERT_GT(child.pid, 0);
  ASSERT_TRUE(child.Await(child.ready));
  kill(child.pid, SIGTERM);
  int status = child.Reap();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGTERM);
}

// The first signal decides the exit code; a second one during shutdown is taken, not left
// pending to kill the process when Run restores the signal mask.
TEST(RuntimeTest, ASecondSignalDuringShutdownKeepsTheFirstSignalsExitCode) {
  RunChild child = RunChild::Start(/*block_shutdown=*/true);
  ASSERT_GT(child.pid, 0);
  ASSERT_TRUE(child.Await(child.ready));
  kill(child.pid, SIGTERM);
  ASSERT_TRUE(child.Await(child.stopping));
  kill(child.pid, SIGINT);
  char byte = 'g';
  ASSERT_EQ(write(child.resume, &byte, 1), 1);
  int status = child.Reap();
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
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
