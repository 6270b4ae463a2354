// Services: Call/Cast/Reply (core/service.h).
#include <stdexcept>
#include <string>
#include <variant>

#include "snow/core/snow.h"
#include "snow/test/testing/co_test.h"

namespace snow {
namespace {

using ::snow::testing::IsOk;
using ::snow::testing::RealRuntimeOptions;
using ::snow::testing::RunOnTestRuntime;
using ::snow::testing::StatusIs;

struct GetCount {
  using Reply = int;
};
struct Add {
  int n;
};
struct Explode {
  using Reply = int;
};
struct Never {
  using Reply = std::string;
};
struct Later {
  using Reply = std::string;
  absl::Duration delay;
};

Task<absl::Status> Counter(Self self) {
  int count = 0;
  for (;;) {
    auto m =
        co_await self
            .Receive<Request<GetCount>, Add, Request<Explode>, Request<Never>, Request<Later>>();
    if (auto* get = std::get_if<Request<GetCount>>(&m)) {
      Reply(self, get->from, count);
    } else if (auto* add = std::get_if<Add>(&m)) {
      count += add->n;
    } else if (std::holds_alternative<Request<Explode>>(m)) {
      co_await Sleep(absl::Milliseconds(10));
      throw std::runtime_error("exploded mid-call");
    } else if (auto* later = std::get_if<Request<Later>>(&m)) {
      // A deferred reply: keep where it goes, answer after a while.
      ReplyTo<std::string> to = later->from;
      co_await Sleep(later->body.delay);
      Reply(self, to, std::string("late"));
    }
    // Request<Never> is swallowed without a reply.
  }
}

SNOW_CO_TEST(ServiceTest, CallReturnsTheReplyAndCastIsOneWay) {
  Pid counter = self.Spawn(Counter);
  Cast(self, counter, Add{2});
  Cast(self, counter, Add{40});
  absl::StatusOr<int> n = co_await Call(self, counter, GetCount{}, absl::Seconds(1));
  EXPECT_THAT(n, IsOk());
  EXPECT_EQ(n.value_or(-1), 42);
  EXPECT_EQ(self.mailbox_size(), 0u);  // the call's monitor left no Down behind
  co_return absl::OkStatus();
}

SNOW_CO_TEST(ServiceTest, CallToADeadPidIsNoproc) {
  Pid counter = self.Spawn(Counter);
  self.SendExit(counter, KillReason());
  co_await Yield();
  absl::StatusOr<int> n = co_await Call(self, counter, GetCount{}, absl::Seconds(5));
  EXPECT_THAT(n, StatusIs(absl::StatusCode::kNotFound, "noproc"));
  co_return absl::OkStatus();
}

SNOW_CO_TEST(ServiceTest, CallFailsWithTheCalleesReasonWhenItDiesMidCall) {
  Pid counter = self.Spawn(Counter);
  absl::Duration start = MonotonicNow();
  absl::StatusOr<int> n = co_await Call(self, counter, Explode{}, absl::Seconds(30));
  EXPECT_THAT(n, StatusIs(absl::StatusCode::kInternal, "exploded mid-call"));
  // At the crash (10 ms in), not at the timeout.
  EXPECT_EQ(MonotonicNow() - start, absl::Milliseconds(10));
  co_return absl::OkStatus();
}

SNOW_CO_TEST(ServiceTest, CallTimesOut) {
  Pid counter = self.Spawn(Counter);
  absl::Duration start = MonotonicNow();
  absl::StatusOr<std::string> r = co_await Call(self, counter, Never{}, absl::Milliseconds(250));
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_EQ(MonotonicNow() - start, absl::Milliseconds(250));
  co_return absl::OkStatus();
}

SNOW_CO_TEST(ServiceTest, ALateReplyNeverLandsInTheMailbox) {
  Pid counter = self.Spawn(Counter);
  uint64_t dropped = self.runtime().stats().messages_dropped;
  absl::StatusOr<std::string> r =
      co_await Call(self, counter, Later{absl::Milliseconds(100)}, absl::Milliseconds(50));
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kDeadlineExceeded));
  co_await Sleep(absl::Milliseconds(200));  // the reply has been sent by now
  EXPECT_EQ(self.mailbox_size(), 0u);
  EXPECT_EQ(self.runtime().stats().messages_dropped, dropped + 1);
  // The server is fine and the next call works.
  absl::StatusOr<std::string> ok =
      co_await Call(self, counter, Later{absl::Milliseconds(1)}, absl::Seconds(1));
  EXPECT_THAT(ok, IsOk());
  EXPECT_EQ(ok.value_or(""), "late");
  co_return absl::OkStatus();
}

SNOW_CO_TEST(ServiceTest, CallToItselfIsRefused) {
  absl::StatusOr<int> n = co_await Call(self, self.pid(), GetCount{}, absl::Seconds(1));
  EXPECT_THAT(n, StatusIs(absl::StatusCode::kInvalidArgument));
  co_return absl::OkStatus();
}

SNOW_CO_TEST(ServiceTest, CallSkipsAnOldMailbox) {
  // Unrelated messages queued before the call stay, in order, after it.
  for (int i = 0; i < 1000; ++i) self.Send(self.pid(), i);
  Pid counter = self.Spawn(Counter);
  absl::StatusOr<int> n = co_await Call(self, counter, GetCount{}, absl::Seconds(1));
  EXPECT_THAT(n, IsOk());
  EXPECT_EQ(self.mailbox_size(), 1000u);
  int first = co_await self.Receive<int>();
  EXPECT_EQ(first, 0);
  co_return absl::OkStatus();
}

Task<absl::Status> CallAcrossShardsMain(Self self) {
  Pid counter = self.Spawn(SpawnOptions{.placement = Placement::kShard, .shard = 1}, Counter);
  for (int i = 1; i <= 100; ++i) {
    Cast(self, counter, Add{1});
    absl::StatusOr<int> n = co_await Call(self, counter, GetCount{}, absl::Seconds(5));
    SNOW_CO_ASSERT(n.ok() && *n == i);
  }
  absl::StatusOr<int> boom = co_await Call(self, counter, Explode{}, absl::Seconds(30));
  EXPECT_THAT(boom, StatusIs(absl::StatusCode::kInternal, "exploded mid-call"));
  co_return absl::OkStatus();
}

TEST(ServiceTest, WorksAcrossShards) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(2), CallAcrossShardsMain), IsOk());
}

// TaskGroup's own pattern: children of one actor each making a call at the same time.
Task<absl::Status> CallsForTheCount(Self self, Pid server, absl::StatusOr<int>* count) {
  *count = co_await Call(self, server, GetCount{}, absl::Seconds(3));
  co_return absl::OkStatus();
}

SNOW_CO_TEST(ServiceTest, ConcurrentCallsFromChildrenOfOneActorEachGetTheirReplyAtOnce) {
  Pid counter = self.Spawn(Counter);
  Cast(self, counter, Add{5});
  absl::Duration start = MonotonicNow();
  absl::StatusOr<int> first;
  absl::StatusOr<int> second;
  TaskGroup group;
  group.Start(CallsForTheCount(self, counter, &first));
  group.Start(CallsForTheCount(self, counter, &second));
  absl::Status joined = co_await group.Join();
  EXPECT_THAT(joined, IsOk());
  EXPECT_THAT(first, IsOk());
  EXPECT_THAT(second, IsOk());
  EXPECT_EQ(first.value_or(-1), 5);
  EXPECT_EQ(second.value_or(-1), 5);
  EXPECT_EQ(MonotonicNow() - start, absl::ZeroDuration());  // neither waited for a timeout
  co_return absl::OkStatus();
}

SNOW_CO_TEST(ServiceTest, CallToAnotherNodeWithAnUnregisteredRequestFailsAtOnce) {
  Pid remote = Pid::FromParts(/*node=*/3, /*shard=*/0, /*serial=*/42);
  absl::Duration start = MonotonicNow();
  absl::StatusOr<int> count = co_await Call(self, remote, GetCount{}, absl::Seconds(5));
  EXPECT_THAT(count,
              StatusIs(absl::StatusCode::kFailedPrecondition, "is not registered for the wire"));
  EXPECT_EQ(MonotonicNow() - start, absl::ZeroDuration());
  co_return absl::OkStatus();
}

}  // namespace
}  // namespace snow
