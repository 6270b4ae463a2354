#include "snow/core/io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "snow/core/snow.h"
#include "snow/test/testing/co_test.h"

namespace snow {
namespace {

using ::snow::testing::IsOk;
using ::snow::testing::RealRuntimeOptions;
using ::snow::testing::RunOnTestRuntime;

// Spawned on the reader's shard, so it first runs once the reader has suspended in its read.
Task<absl::Status> Writer(Self, int fd, std::string text) {
  int n = co_await Io({.op = IoOp::kWrite,
                       .fd = fd,
                       .buffer = text.data(),
                       .length = static_cast<uint32_t>(text.size())});
  if (n != static_cast<int>(text.size())) co_return ErrnoToStatus(n, "write");
  co_return absl::OkStatus();
}

Task<absl::Status> ReadsWhatIsWritten(Self self) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) co_return ErrnoToStatus(errno, "pipe");
  self.Spawn(Writer, fds[1], std::string("hello through io_uring"));
  char buffer[64] = {};
  int n =
      co_await Io({.op = IoOp::kRead, .fd = fds[0], .buffer = buffer, .length = sizeof(buffer)});
  EXPECT_EQ(std::string(buffer, n > 0 ? n : 0), "hello through io_uring");
  close(fds[0]);
  close(fds[1]);
  co_return absl::OkStatus();
}

TEST(IoTest, ReadCompletesWhenDataArrives) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(1), ReadsWhatIsWritten), IsOk());
}

Task<absl::Status> ReadTimesOut(Self) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) co_return ErrnoToStatus(errno, "pipe");
  char buffer[8];
  int n = co_await Io({.op = IoOp::kRead, .fd = fds[0], .buffer = buffer, .length = sizeof(buffer)},
                      absl::Milliseconds(20));
  EXPECT_EQ(n, -ETIMEDOUT);
  EXPECT_THAT(ErrnoToStatus(n, "read"), testing::StatusIs(absl::StatusCode::kDeadlineExceeded));
  // The pipe is still usable afterwards: the timed-out read is gone.
  char byte = 'x';
  EXPECT_EQ(write(fds[1], &byte, 1), 1);
  int m = co_await Io({.op = IoOp::kRead, .fd = fds[0], .buffer = buffer, .length = 1});
  EXPECT_EQ(m, 1);
  close(fds[0]);
  close(fds[1]);
  co_return absl::OkStatus();
}

TEST(IoTest, TimeoutCancelsTheOperation) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(1), ReadTimesOut), IsOk());
}

struct Fds {
  int read_end;
  int write_end;
};

Task<absl::Status> BlockedReader(Self, int fd) {
  // The buffer lives in this frame: destroying the frame mid-read must cancel the read first.
  char buffer[256];
  int n = co_await Io({.op = IoOp::kRead, .fd = fd, .buffer = buffer, .length = sizeof(buffer)});
  co_return absl::InternalError(absl::StrCat("read should never complete, got ", n));
}

Task<absl::Status> EndsWhileReadersBlock(Self self, Fds fds) {
  for (int i = 0; i < 8; ++i) self.Spawn(BlockedReader, fds.read_end);
  co_await Yield();            // one shard: the readers run, up to their reads, before this resumes
  co_return absl::OkStatus();  // the runtime destroys the blocked readers
}

TEST(IoTest, DestroyingAnAwaiterCancelsItsOperation) {
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(1), EndsWhileReadersBlock, Fds{fds[0], fds[1]}),
              IsOk());
  // Had a read survived, it would take these bytes; they are all still here.
  ASSERT_EQ(write(fds[1], "abc", 3), 3);
  char buffer[8];
  ASSERT_EQ(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
  EXPECT_EQ(read(fds[0], buffer, sizeof(buffer)), 3);
  close(fds[0]);
  close(fds[1]);
}

Task<absl::Status> ManyNops(Self) {
  for (int i = 0; i < 10'000; ++i) {
    int n = co_await Io({.op = IoOp::kNop});
    if (n != 0) co_return ErrnoToStatus(n, "nop");
  }
  co_return absl::OkStatus();
}

TEST(IoTest, ManyOperationsInARow) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(1), ManyNops), IsOk());
}

}  // namespace
}  // namespace snow
