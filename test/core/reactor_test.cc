// The reactor on its own (core/reactor/reactor.h): what actors cannot easily reach.
#include "snow/core/reactor/reactor.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "gtest/gtest.h"

namespace snow::core_internal {
namespace {

struct Recorder : IoTarget {
  Recorder() {
    on_completion = [](IoTarget* self, int32_t result, uint32_t) {
      auto* r = static_cast<Recorder*>(self);
      r->result = result;
      r->done = true;
    };
  }
  int32_t result = 0;
  bool done = false;
};

// An operation and its linked timeout must reach the kernel in one submission. With a single
// free slot left, splitting them would send the read linked to nothing: it would never time out.
TEST(ReactorTest, ATimedOperationIsNotSplitFromItsTimeoutWhenTheQueueIsAlmostFull) {
  absl::StatusOr<std::unique_ptr<Reactor>> reactor =
      Reactor::Create(ReactorOptions{.queue_depth = 4});
  ASSERT_TRUE(reactor.ok()) << reactor.status();
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  // Four slots: the reactor's wake-up read (queued at creation) and two nops leave one free.
  Recorder nops[2];
  for (Recorder& nop : nops) (*reactor)->Submit({.op = IoOp::kNop}, &nop, -1, nullptr);
  Recorder read, timeout;
  char buffer[8];
  KernelTimespec storage;
  (*reactor)->Submit({.op = IoOp::kRead, .fd = fds[0], .buffer = buffer, .length = sizeof(buffer)},
                     &read, 20'000'000, &timeout, &storage);
  for (int i = 0; i < 200 && !read.done; ++i) (*reactor)->Poll(/*wait=*/true, 10'000'000);
  EXPECT_TRUE(read.done) << "the read lost its timeout";
  EXPECT_EQ(read.result, -ECANCELED);
  while ((*reactor)->in_flight() > 0) (*reactor)->Poll(/*wait=*/true, 10'000'000);
  close(fds[0]);
  close(fds[1]);
}

// On kernels before 5.11 liburing's timed wait queues a timeout of its own, whose completion
// comes back with user_data LIBURING_UDATA_TIMEOUT: it names no target and must be skipped.
TEST(ReactorTest, TheLibrarysOwnTimeoutCompletionIsNotDispatched) {
  absl::StatusOr<std::unique_ptr<Reactor>> reactor = Reactor::Create(ReactorOptions{});
  ASSERT_TRUE(reactor.ok()) << reactor.status();
  int64_t in_flight = (*reactor)->in_flight();
  EXPECT_FALSE((*reactor)->Dispatch(Reactor::kLibraryTimeout, -ETIME, 0));
  EXPECT_EQ((*reactor)->in_flight(), in_flight);
  // A real completion still reaches its target through the same path.
  Recorder nop;
  (*reactor)->Submit({.op = IoOp::kNop}, &nop, -1, nullptr);
  for (int i = 0; i < 200 && !nop.done; ++i) (*reactor)->Poll(/*wait=*/true, 10'000'000);
  EXPECT_TRUE(nop.done);
}

}  // namespace
}  // namespace snow::core_internal
