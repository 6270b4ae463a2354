#include "snow/core/event.h"

#include <memory>

#include "snow/core/snow.h"
#include "snow/test/testing/co_test.h"

namespace snow {
namespace {

using testing::IsOk;

SNOW_CO_TEST(EventTest, ANotifyBeforeTheWaitMakesItReturnAtOnce) {
  Event event;
  event.Notify();
  const absl::Duration before = MonotonicNow();
  bool notified = co_await event.Wait(absl::Seconds(5));
  EXPECT_TRUE(notified);
  EXPECT_EQ(MonotonicNow(), before);
  co_return absl::OkStatus();
}

SNOW_CO_TEST(EventTest, AWaitWithoutANotifyEndsExactlyAtItsTimeout) {
  Event event;
  const absl::Duration before = MonotonicNow();
  bool notified = co_await event.Wait(absl::Milliseconds(250));
  EXPECT_FALSE(notified);
  EXPECT_EQ(MonotonicNow() - before, absl::Milliseconds(250));
  RuntimeStats stats = self.runtime().stats();
  EXPECT_EQ(stats.timers_pending, 0u);
  co_return absl::OkStatus();
}

Task<absl::Status> NotifyAfter(Self, std::shared_ptr<Event> event, absl::Duration delay) {
  co_await Sleep(delay);
  event->Notify();
  co_return absl::OkStatus();
}

SNOW_CO_TEST(EventTest, ANotifyFromAnotherActorWakesTheWaiterAndCancelsItsTimer) {
  auto event = std::make_shared<Event>();
  const absl::Duration before = MonotonicNow();
  self.Spawn(NotifyAfter, event, absl::Milliseconds(10));
  bool notified = co_await event->Wait(absl::Seconds(5));
  EXPECT_TRUE(notified);
  EXPECT_EQ(MonotonicNow() - before, absl::Milliseconds(10));
  RuntimeStats stats = self.runtime().stats();
  EXPECT_EQ(stats.timers_pending, 0u);
  co_return absl::OkStatus();
}

SNOW_CO_TEST(EventTest, NotifiesBeforeOneWaitCountAsOne) {
  Event event;
  event.Notify();
  event.Notify();
  event.Notify();
  bool first = co_await event.Wait(absl::Seconds(1));
  bool second = co_await event.Wait(absl::Seconds(1));
  EXPECT_TRUE(first);
  EXPECT_FALSE(second);
  co_return absl::OkStatus();
}

Task<absl::Status> WaitForever(Self, std::shared_ptr<Event> event) {
  co_await event->Wait();
  co_return absl::InternalError("woken, but it was killed first");
}

SNOW_CO_TEST(EventTest, AKilledWaiterLeavesTheEventReadyForTheNextOne) {
  auto event = std::make_shared<Event>();
  auto [waiter, ref] = self.SpawnMonitor(WaitForever, event);
  co_await Yield();  // the waiter is now waiting
  self.SendExit(waiter, KillReason());
  Down down = co_await self.Receive<Down>();
  EXPECT_EQ(down.pid, waiter);
  event->Notify();  // nobody waits: remembered for the next Wait
  bool notified = co_await event->Wait(absl::Seconds(1));
  EXPECT_TRUE(notified);
  co_return absl::OkStatus();
}

}  // namespace
}  // namespace snow
