// Bounded mailboxes (core/mailbox.h): each overflow policy, the notices that always get in, and
// a bound that holds under a producer ten times faster than its consumer.
#include <cstdint>
#include <vector>

#include "snow/core/snow.h"
#include "snow/test/testing/co_test.h"

namespace snow {
namespace {

using ::snow::testing::IsOk;
using ::snow::testing::StatusIs;

struct Quit {};
struct Kept {
  std::vector<int> values;
};

Task<absl::Status> WaitsForQuit(Self self) {
  (void)co_await self.Receive<Quit>();
  co_return absl::OkStatus();
}

// Waits for the Down of `until` (a notice, which a full mailbox still takes) while ints pile
// up, then takes every int waiting and sends them to `report`.
Task<absl::Status> Hoards(Self self, Pid until, Pid report) {
  self.Monitor(until);
  (void)co_await self.Receive<Down>();
  Kept kept;
  for (;;) {
    absl::StatusOr<int> n = co_await self.ReceiveFor<int>(absl::ZeroDuration());
    if (!n.ok()) break;
    kept.values.push_back(*n);
  }
  self.Send(report, std::move(kept));
  co_return absl::OkStatus();
}

// Spawns a hoarder with a bound of 10 and `overflow`, sends it 0..99, and returns what it kept.
Task<absl::StatusOr<Kept>> SendHundred(Self self, MailboxOverflow overflow) {
  Pid gate = self.Spawn(WaitsForQuit);
  Pid hoarder = self.Spawn({.max_mailbox = 10, .overflow = overflow}, Hoards, gate, self.pid());
  for (int i = 0; i < 100; ++i) self.Send(hoarder, i);
  self.Send(gate, Quit{});
  co_return co_await self.ReceiveFor<Kept>(absl::Seconds(5));
}

SNOW_CO_TEST(MailboxTest, DropNewKeepsTheFirstMessagesAndCountsTheRest) {
  const RuntimeStats before = self.runtime().stats();
  absl::StatusOr<Kept> kept = co_await SendHundred(self, MailboxOverflow::kDropNew);
  SNOW_CO_ASSERT(kept.ok());
  EXPECT_EQ(kept->values, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  const RuntimeStats after = self.runtime().stats();
  EXPECT_EQ(after.mailbox_overflows - before.mailbox_overflows, 90u);
  EXPECT_EQ(after.messages_dropped - before.messages_dropped, 90u);
  co_return absl::OkStatus();
}

SNOW_CO_TEST(MailboxTest, DropOldestKeepsTheLastMessages) {
  const RuntimeStats before = self.runtime().stats();
  absl::StatusOr<Kept> kept = co_await SendHundred(self, MailboxOverflow::kDropOldest);
  SNOW_CO_ASSERT(kept.ok());
  EXPECT_EQ(kept->values, (std::vector<int>{90, 91, 92, 93, 94, 95, 96, 97, 98, 99}));
  EXPECT_EQ(self.runtime().stats().mailbox_overflows - before.mailbox_overflows, 90u);
  co_return absl::OkStatus();
}

Task<absl::Status> NeverReceives(Self self) {
  (void)co_await self.Receive<Quit>();
  co_return absl::OkStatus();
}

SNOW_CO_TEST(MailboxTest, KillEndsTheActorWithMailboxOverflow) {
  Pid full = self.Spawn({.max_mailbox = 10, .overflow = MailboxOverflow::kKill}, NeverReceives);
  Ref watch = self.Monitor(full);
  for (int i = 0; i < 10; ++i) self.Send(full, i);
  absl::StatusOr<Down> early = co_await self.ReceiveFor<Down>(absl::Milliseconds(10));
  EXPECT_THAT(early, StatusIs(absl::StatusCode::kDeadlineExceeded)) << "10 fit in a bound of 10";
  self.Send(full, 10);
  absl::StatusOr<Down> down = co_await self.ReceiveFor<Down>(absl::Seconds(1));
  SNOW_CO_ASSERT(down.ok());
  EXPECT_EQ(down->ref, watch);
  EXPECT_EQ(down->reason, MailboxOverflowReason());
  co_return absl::OkStatus();
}

// A full mailbox still takes what the actor asked for: its monitors' Downs and its calls'
// replies.
struct Ask {
  using Reply = int;
};
Task<absl::Status> Answers(Self self) {
  Request<Ask> ask = co_await self.Receive<Request<Ask>>();
  Reply(self, ask.from, 42);
  co_return absl::OkStatus();
}
Task<absl::Status> FullButAsking(Self self, Pid report) {
  Pid server = self.Spawn(Answers);
  self.Monitor(server);
  for (int i = 0; i < 5; ++i) self.Send(self.pid(), i);  // full: a bound of 5
  self.Send(self.pid(), 5);                              // dropped
  absl::StatusOr<int> answer = co_await Call(self, server, Ask{}, absl::Seconds(1));
  absl::StatusOr<Down> down = co_await self.ReceiveFor<Down>(absl::Seconds(1));
  self.Send(report,
            Kept{{answer.value_or(-1), down.ok() ? 1 : 0, static_cast<int>(self.mailbox_size())}});
  co_return absl::OkStatus();
}

SNOW_CO_TEST(MailboxTest, RepliesAndDownsGetIntoAFullMailbox) {
  self.Spawn({.max_mailbox = 5}, FullButAsking, self.pid());
  absl::StatusOr<Kept> got = co_await self.ReceiveFor<Kept>(absl::Seconds(5));
  SNOW_CO_ASSERT(got.ok());
  EXPECT_EQ(got->values, (std::vector<int>{42, 1, 5}));  // the reply, the Down, 5 ints waiting
  co_return absl::OkStatus();
}

// A producer ten times faster than its consumer: the mailbox never holds more than its bound,
// and every message is either received or counted as dropped, exactly.
struct Tally {
  uint64_t received = 0;
  uint64_t largest_mailbox = 0;
};
Task<absl::Status> SlowConsumer(Self self, Pid producer, Pid report) {
  self.Monitor(producer);
  Tally tally;
  for (;;) {
    tally.largest_mailbox = std::max<uint64_t>(tally.largest_mailbox, self.mailbox_size());
    auto m = co_await self.Receive<int, Down>();
    if (std::holds_alternative<Down>(m)) break;
    ++tally.received;
    for (int i = 0; i < 10; ++i) co_await Yield();  // ten times the producer's work
  }
  for (;;) {  // what was still waiting when the producer ended
    absl::StatusOr<int> n = co_await self.ReceiveFor<int>(absl::ZeroDuration());
    if (!n.ok()) break;
    ++tally.received;
  }
  self.Send(report, tally);
  co_return absl::OkStatus();
}
Task<absl::Status> FastProducer(Self self, int count) {
  Quit go = co_await self.Receive<Quit>();
  (void)go;
  Pid consumer = *self.WhereIs("consumer");
  for (int i = 0; i < count; ++i) {
    self.Send(consumer, i);
    co_await Yield();
  }
  co_return absl::OkStatus();
}

SNOW_CO_TEST(MailboxTest, ABoundHoldsUnderATenTimesFasterProducerAndCountsDropsExactly) {
  constexpr int kSent = 100'000;
  constexpr uint32_t kBound = 1'000;
  const RuntimeStats before = self.runtime().stats();
  Pid producer = self.Spawn(FastProducer, kSent);
  Pid consumer = self.Spawn({.max_mailbox = kBound}, SlowConsumer, producer, self.pid());
  SNOW_CO_RETURN_IF_ERROR(self.runtime().Register("consumer", consumer));
  self.Send(producer, Quit{});
  absl::StatusOr<Tally> tally = co_await self.ReceiveFor<Tally>(absl::Hours(1));
  SNOW_CO_ASSERT(tally.ok());
  const uint64_t dropped = self.runtime().stats().mailbox_overflows - before.mailbox_overflows;
  EXPECT_LE(tally->largest_mailbox, kBound + 1);  // and the producer's Down, a notice
  EXPECT_GT(dropped, 0u) << "the producer never outran the consumer";
  EXPECT_EQ(tally->received + dropped, static_cast<uint64_t>(kSent));
  co_return absl::OkStatus();
}

}  // namespace
}  // namespace snow
