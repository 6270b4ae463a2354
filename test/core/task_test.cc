#include "snow/core/task.h"

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "snow/core/snow.h"
#include "snow/test/testing/co_test.h"
#include "snow/test/testing/counted.h"

namespace snow {
namespace {

Task<int> Answer() { co_return 42; }
Task<int> Twice() {
  int a = co_await Answer();
  int b = co_await Answer();
  co_return a + b;
}
Task<void> Throws() {
  throw std::runtime_error("boom");
  co_return;
}
Task<std::string> Deep(int depth) {
  if (depth == 0) co_return std::string("bottom");
  std::string below = co_await Deep(depth - 1);
  co_return below;
}

SNOW_CO_TEST(TaskTest, AwaitsNestedTasksAndReturnsValues) {
  int sum = co_await Twice();
  EXPECT_EQ(sum, 84);
  co_return absl::OkStatus();
}

SNOW_CO_TEST(TaskTest, ExceptionPropagatesToTheAwaiter) {
  bool caught = false;
  try {
    co_await Throws();
  } catch (const std::runtime_error& e) {
    caught = std::string(e.what()) == "boom";
  }
  EXPECT_TRUE(caught);
  co_return absl::OkStatus();
}

SNOW_CO_TEST(TaskTest, DeepChainsUseNoStack) {
  // Symmetric transfer: 100,000 nested awaits would overflow the stack otherwise.
  std::string s = co_await Deep(100'000);
  EXPECT_EQ(s, "bottom");
  co_return absl::OkStatus();
}

TEST(TaskTest, UnawaitedTaskIsDestroyedWithoutRunning) {
  static int ran = 0;
  struct Local {
    static Task<void> Body() {
      ++ran;
      co_return;
    }
  };
  { Task<void> t = Local::Body(); }
  EXPECT_EQ(ran, 0);
}

// ---- Status macros around co_await ----

using ::snow::testing::IsOk;
using ::snow::testing::StatusIs;

Task<absl::StatusOr<int>> Half(int n) {
  if (n % 2 != 0) co_return absl::InvalidArgumentError(absl::StrCat(n, " is odd"));
  co_return n / 2;
}

Task<absl::Status> Quarter(int n, int* out) {
  SNOW_CO_ASSIGN_OR_RETURN(int half, co_await Half(n));
  SNOW_CO_ASSIGN_OR_RETURN(*out, co_await Half(half));
  SNOW_CO_RETURN_IF_ERROR((co_await Half(*out * 2)).status());
  co_return absl::OkStatus();
}

SNOW_CO_TEST(StatusMacroTest, AssignOrReturnTakesACoAwaitAndReturnsTheFirstError) {
  int quarter = 0;
  absl::Status ok = co_await Quarter(12, &quarter);
  EXPECT_THAT(ok, IsOk());
  EXPECT_EQ(quarter, 3);
  quarter = -1;
  absl::Status odd = co_await Quarter(6, &quarter);  // 6 -> 3, and 3 is odd
  EXPECT_THAT(odd, StatusIs(absl::StatusCode::kInvalidArgument, "3 is odd"));
  EXPECT_EQ(quarter, -1);  // the second assignment never ran
  co_return absl::OkStatus();
}

// The form docs/pitfalls.md recommends for g++ 12: an aggregate argument of a coroutine built
// in a named local, then moved into the call inside the co_await. Each object is destroyed once.
struct Tracked : testing::Counted<Tracked> {};
struct Order {
  std::string item;  // long enough to live on the heap: a double free would show under ASan
  Tracked tracked = {};
};

Task<absl::StatusOr<size_t>> Place(Order order) {
  co_await Yield();
  co_return order.item.size();
}

SNOW_CO_TEST(StatusMacroTest, AnAggregateBuiltInANamedLocalIsDestroyedOnce) {
  {
    Order order{.item = std::string(100, 'x')};
    SNOW_CO_ASSIGN_OR_RETURN(size_t placed, co_await Place(std::move(order)));
    EXPECT_EQ(placed, 100u);
  }
  EXPECT_EQ(Tracked::live.load(), 0);
  co_return absl::OkStatus();
}

}  // namespace
}  // namespace snow

namespace snow {
namespace {

using ::snow::testing::IsOk;
using ::snow::testing::StatusIs;

Task<absl::Status> Step(std::vector<int>* log, int id, absl::Duration delay) {
  co_await Sleep(delay);
  log->push_back(id);
  co_return id == 3 ? absl::NotFoundError("three fails") : absl::OkStatus();
}

SNOW_CO_TEST(TaskGroupTest, RunsChildrenConcurrentlyAndJoinsAll) {
  std::vector<int> log;
  absl::Duration start = MonotonicNow();
  TaskGroup group;
  group.Start(Step(&log, 1, absl::Seconds(3)));
  group.Start(Step(&log, 2, absl::Seconds(1)));
  group.Start(Step(&log, 3, absl::Seconds(2)));
  EXPECT_EQ(group.running(), 3u);
  absl::Status joined = co_await group.Join();
  EXPECT_THAT(joined, StatusIs(absl::StatusCode::kNotFound, "three fails"));
  EXPECT_EQ(log, (std::vector<int>{2, 3, 1}));
  EXPECT_EQ(MonotonicNow() - start, absl::Seconds(3));  // concurrent, not 6 s
  EXPECT_EQ(group.running(), 0u);
  absl::Status again = co_await group.Join();  // nothing left: at once, OK
  EXPECT_THAT(again, IsOk());
  co_return absl::OkStatus();
}

Task<absl::Status> ThrowsInGroup() {
  co_await Yield();
  throw std::runtime_error("child threw");
}

SNOW_CO_TEST(TaskGroupTest, JoinRethrowsAChildsException) {
  TaskGroup group;
  group.Start(ThrowsInGroup());
  bool caught = false;
  try {
    absl::Status s = co_await group.Join();
    (void)s;
  } catch (const std::runtime_error& e) {
    caught = std::string(e.what()) == "child threw";
  }
  EXPECT_TRUE(caught);
  co_return absl::OkStatus();
}

Task<absl::Status> SleepsLong(std::shared_ptr<int> token) {
  co_await Sleep(absl::Hours(1));
  ++*token;
  co_return absl::OkStatus();
}

Task<absl::Status> OwnerOfGroup(Self self, std::reference_wrapper<std::weak_ptr<int>> watch_ref) {
  std::weak_ptr<int>* watch = &watch_ref.get();
  auto token = std::make_shared<int>(0);
  *watch = token;
  TaskGroup group;
  group.Start(SleepsLong(token));
  token.reset();
  co_await self.Receive<int>();  // never comes: the runtime stops and destroys this frame
  absl::Status joined = co_await group.Join();
  co_return joined;
}

Task<absl::Status> EndsWhileGroupRuns(Self self,
                                      std::reference_wrapper<std::weak_ptr<int>> watch_ref) {
  std::weak_ptr<int>* watch = &watch_ref.get();
  self.Spawn(OwnerOfGroup, std::ref(*watch));
  co_await Yield();
  co_await Yield();
  co_return absl::OkStatus();
}

TEST(TaskGroupTest, CancellationDestroysRunningChildren) {
  std::weak_ptr<int> watch;
  EXPECT_THAT(testing::RunOnTestRuntime(testing::RealRuntimeOptions(1), EndsWhileGroupRuns,
                                        std::ref(watch)),
              IsOk());
  EXPECT_TRUE(watch.expired());  // the child's frame (holding the token) was destroyed
}

// Several children of one actor may wait in receives at once: each message goes to the
// receive that has waited longest among those it matches, and a timeout ends only its own.
template <typename T>
Task<absl::Status> ReceivesInto(Self self, T* got) {
  *got = co_await self.Receive<T>();
  co_return absl::OkStatus();
}

template <typename T>
Task<absl::Status> ReceivesWithin(Self self, absl::Duration timeout, absl::StatusOr<T>* got) {
  *got = co_await self.ReceiveFor<T>(timeout);
  co_return absl::OkStatus();
}

SNOW_CO_TEST(TaskGroupTest, ChildrenWaitingForDifferentTypesAreEachWoken) {
  int number = 0;
  std::string text;
  TaskGroup group;
  group.Start(ReceivesInto(self, &number));
  group.Start(ReceivesInto(self, &text));
  self.SendAfter(absl::Seconds(1), self.pid(), std::string("text"));
  self.SendAfter(absl::Seconds(2), self.pid(), 7);
  absl::Status joined = co_await group.Join();
  EXPECT_THAT(joined, IsOk());
  EXPECT_EQ(number, 7);
  EXPECT_EQ(text, "text");
  co_return absl::OkStatus();
}

SNOW_CO_TEST(TaskGroupTest, ChildrenWaitingForOneTypeTakeMessagesInTheOrderTheyWaited) {
  int first = 0;
  int second = 0;
  int third = 0;
  TaskGroup group;
  group.Start(ReceivesInto(self, &first));
  group.Start(ReceivesInto(self, &second));
  group.Start(ReceivesInto(self, &third));
  self.SendAfter(absl::Seconds(1), self.pid(), 1);
  self.SendAfter(absl::Seconds(2), self.pid(), 2);
  self.SendAfter(absl::Seconds(3), self.pid(), 3);
  absl::Status joined = co_await group.Join();
  EXPECT_THAT(joined, IsOk());
  EXPECT_EQ(first, 1);
  EXPECT_EQ(second, 2);
  EXPECT_EQ(third, 3);
  co_return absl::OkStatus();
}

SNOW_CO_TEST(TaskGroupTest, AChildsReceiveTimeoutLeavesTheOtherChildWaiting) {
  absl::Duration start = MonotonicNow();
  absl::StatusOr<int> number;
  std::string text;
  TaskGroup group;
  group.Start(ReceivesInto(self, &text));
  group.Start(ReceivesWithin(self, absl::Seconds(1), &number));
  self.SendAfter(absl::Seconds(2), self.pid(), std::string("after the timeout"));
  absl::Status joined = co_await group.Join();
  EXPECT_THAT(joined, IsOk());
  EXPECT_THAT(number, StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_EQ(text, "after the timeout");
  EXPECT_EQ(MonotonicNow() - start, absl::Seconds(2));
  co_return absl::OkStatus();
}

// An actor that ends while its group still has children — by an exception, by Self::Exit, or
// by returning early — ends with its own reason, and the children are cancelled with it: a
// group left without Join is cancelled, never a reason to stop the process.
enum class HowItEnds { kThrows, kExits, kReturnsEarly };

Task<absl::Status> EndsWithAChildRunning(Self self, HowItEnds how, std::shared_ptr<int> token) {
  TaskGroup group;
  group.Start(SleepsLong(std::move(token)));
  co_await Yield();
  switch (how) {
    case HowItEnds::kThrows:
      throw std::runtime_error("threw with a child running");
    case HowItEnds::kExits:
      self.Exit(absl::DataLossError("exited with a child running"));
    case HowItEnds::kReturnsEarly:
      break;
  }
  co_return absl::FailedPreconditionError("returned with a child running");
}

SNOW_CO_TEST(TaskGroupTest, AnActorEndingWithAChildRunningEndsWithItsReasonAndCancelsTheChild) {
  struct Case {
    HowItEnds how;
    absl::StatusCode code;
    std::string message;
  };
  const Case cases[] = {
      {HowItEnds::kThrows, absl::StatusCode::kInternal, "threw with a child running"},
      {HowItEnds::kExits, absl::StatusCode::kDataLoss, "exited with a child running"},
      {HowItEnds::kReturnsEarly, absl::StatusCode::kFailedPrecondition,
       "returned with a child running"},
  };
  for (const Case& c : cases) {
    auto token = std::make_shared<int>(0);
    std::weak_ptr<int> watch = token;
    SpawnedMonitor m = self.SpawnMonitor(EndsWithAChildRunning, c.how, std::move(token));
    Down down = co_await self.Receive<Down>();
    EXPECT_EQ(down.pid, m.pid);
    EXPECT_THAT(down.reason, StatusIs(c.code, c.message));
    EXPECT_TRUE(watch.expired());  // the child's frame, holding the token, is gone
  }
  EXPECT_EQ(self.runtime().stats().timers_pending, 0u);  // the children's sleeps were removed
  co_return absl::OkStatus();
}

}  // namespace
}  // namespace snow
