#include "snow/core/actor.h"

#include <atomic>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "snow/core/snow.h"
#include "snow/test/testing/co_test.h"
#include "snow/test/testing/counted.h"

namespace snow {
namespace {

using ::snow::testing::IsOk;
using ::snow::testing::RunOnTestRuntime;
using ::snow::testing::StatusIs;
using ::snow::testing::TestRuntimeOptions;

struct Ping {
  Pid from;
  int n;
};
struct Pong {
  int n;
};
struct Stop {};

Task<absl::Status> Ponger(Self self) {
  for (;;) {
    Ping p = co_await self.Receive<Ping>();
    if (p.n < 0) co_return absl::OkStatus();
    self.Send(p.from, Pong{p.n + 1});
  }
}

SNOW_CO_TEST(ActorTest, PingPongRoundTrip) {
  Pid pong = self.Spawn(Ponger);
  self.Send(pong, Ping{self.pid(), 41});
  Pong reply = co_await self.Receive<Pong>();
  EXPECT_EQ(reply.n, 42);
  self.Send(pong, Ping{self.pid(), -1});
  co_return absl::OkStatus();
}

SNOW_CO_TEST(ActorTest, SelectiveReceiveKeepsUnmatchedInOrder) {
  self.Send(self.pid(), 1);
  self.Send(self.pid(), std::string("a"));
  self.Send(self.pid(), 2);
  self.Send(self.pid(), std::string("b"));
  self.Send(self.pid(), 3.5);
  std::string first = co_await self.Receive<std::string>();
  EXPECT_EQ(first, "a");
  double d = co_await self.Receive<double>();
  EXPECT_EQ(d, 3.5);
  EXPECT_EQ(self.mailbox_size(), 3u);
  // What is left comes out in the order it was sent.
  auto m1 = co_await self.Receive<int, std::string>();
  auto m2 = co_await self.Receive<int, std::string>();
  auto m3 = co_await self.Receive<int, std::string>();
  EXPECT_EQ(std::get<int>(m1), 1);
  EXPECT_EQ(std::get<int>(m2), 2);
  EXPECT_EQ(std::get<std::string>(m3), "b");
  EXPECT_EQ(self.mailbox_size(), 0u);
  co_return absl::OkStatus();
}

SNOW_CO_TEST(ActorTest, ReceiveWithPredicateTakesTheFirstMatch) {
  for (int i = 0; i < 10; ++i) self.Send(self.pid(), i);
  int seven = co_await self.Receive<int>([](int n) { return n == 7; });
  EXPECT_EQ(seven, 7);
  int big = co_await self.Receive<int>([](int n) { return n > 4; });
  EXPECT_EQ(big, 5);
  std::vector<int> rest;
  while (self.mailbox_size() > 0) rest.push_back(co_await self.Receive<int>());
  EXPECT_EQ(rest, (std::vector<int>{0, 1, 2, 3, 4, 6, 8, 9}));
  co_return absl::OkStatus();
}

Task<absl::Status> SendLater(Self self, Pid to, absl::Duration delay, int value) {
  co_await Sleep(delay);
  self.Send(to, value);
  co_return absl::OkStatus();
}

SNOW_CO_TEST(ActorTest, WaitingReceiveSkipsNonMatchingArrivals) {
  self.Spawn(SendLater, self.pid(), absl::Seconds(1), 1);
  self.Spawn(SendLater, self.pid(), absl::Seconds(2), 2);
  int two = co_await self.Receive<int>([](int n) { return n == 2; });
  EXPECT_EQ(two, 2);
  EXPECT_EQ(self.mailbox_size(), 1u);  // the 1 that arrived while waiting stays
  co_return absl::OkStatus();
}

SNOW_CO_TEST(ActorTest, ReceiveTimeoutFiresOnTimeAndLeavesNoTimer) {
  absl::Duration start = MonotonicNow();
  absl::StatusOr<int> r = co_await self.ReceiveFor<int>(absl::Seconds(3));
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_EQ(MonotonicNow() - start, absl::Seconds(3));  // virtual clock: exact
  EXPECT_EQ(self.runtime().stats().timers_pending, 0u);

  // A message that arrives in time cancels the timer.
  self.Spawn(SendLater, self.pid(), absl::Seconds(1), 5);
  absl::StatusOr<int> got = co_await self.ReceiveFor<int>(absl::Seconds(10));
  EXPECT_THAT(got, IsOk());
  EXPECT_EQ(*got, 5);
  EXPECT_EQ(self.runtime().stats().timers_pending, 0u);
  EXPECT_EQ(MonotonicNow() - start, absl::Seconds(4));

  // Zero timeout: only what is already queued.
  absl::StatusOr<int> none = co_await self.ReceiveFor<int>(absl::ZeroDuration());
  EXPECT_THAT(none, StatusIs(absl::StatusCode::kDeadlineExceeded));
  self.Send(self.pid(), 9);
  absl::StatusOr<int> nine = co_await self.ReceiveFor<int>(absl::ZeroDuration());
  EXPECT_THAT(nine, IsOk());
  co_return absl::OkStatus();
}

// Sends to `to` after its receive deadline has passed, without letting the shard loop fire
// that deadline's timer first; then makes sure the loop runs before the receiver resumes.
Task<absl::Status> SendPastTheDeadline(Self self, Pid to) {
  absl::Time until = absl::Now() + absl::Milliseconds(20);
  while (absl::Now() < until) {
  }
  self.Send(to, 7);
  // Doomed, this actor goes back to the loop at its next suspension, not to the receiver; the
  // loop then fires the receiver's due timer while the receiver is woken but not yet resumed.
  self.SendExit(self.pid(), KillReason());
  co_await self.Receive<Stop>();
  co_return absl::OkStatus();
}

Task<absl::Status> MessageBeatsItsDueTimerMain(Self self) {
  self.Spawn(SendPastTheDeadline, self.pid());
  absl::StatusOr<int> got = co_await self.ReceiveFor<int>(absl::Milliseconds(5));
  EXPECT_EQ(got.value_or(-1), 7);
  EXPECT_EQ(self.runtime().stats().timers_pending, 0u);
  // Woken once: a second wake-up queued by the timer would cut this sleep short.
  absl::Time before_sleep = absl::Now();
  co_await Sleep(absl::Milliseconds(30));
  EXPECT_GE(absl::Now() - before_sleep, absl::Milliseconds(30));
  co_return absl::OkStatus();
}

TEST(ActorTimeoutTest, MessageDeliveredBeforeTheTimerFiresWins) {
  EXPECT_THAT(RunOnTestRuntime(testing::RealRuntimeOptions(1), MessageBeatsItsDueTimerMain),
              IsOk());
}

SNOW_CO_TEST(ActorTest, SendAfterDeliversAndCancelStopsIt) {
  absl::Duration start = MonotonicNow();
  self.SendAfter(absl::Seconds(2), self.pid(), std::string("late"));
  TimerRef cancelled = self.SendAfter(absl::Seconds(1), self.pid(), std::string("never"));
  EXPECT_TRUE(self.CancelTimer(cancelled));
  EXPECT_FALSE(self.CancelTimer(cancelled));  // already cancelled
  std::string got = co_await self.Receive<std::string>();
  EXPECT_EQ(got, "late");
  EXPECT_EQ(MonotonicNow() - start, absl::Seconds(2));
  absl::StatusOr<std::string> more = co_await self.ReceiveFor<std::string>(absl::Seconds(5));
  EXPECT_THAT(more, StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_EQ(self.runtime().stats().timers_pending, 0u);
  co_return absl::OkStatus();
}

Task<absl::Status> ExitAtOnce(Self) { co_return absl::OkStatus(); }

SNOW_CO_TEST(ActorTest, SendToDeadPidIsDroppedAndCounted) {
  Pid gone = self.Spawn(ExitAtOnce);
  co_await Yield();  // let it run and end
  uint64_t before = self.runtime().stats().messages_dropped;
  self.Send(gone, 1);
  self.Send(gone, std::string("two"));
  self.Send(Pid::FromParts(0, 0, 999'999'999), 3);  // never existed
  EXPECT_EQ(self.runtime().stats().messages_dropped, before + 3);
  co_return absl::OkStatus();
}

Task<absl::Status> Greets(Self self, Pid parent) {
  self.Send(parent, std::string("hello"));
  co_await self.Receive<Stop>();
  co_return absl::OkStatus();
}

SNOW_CO_TEST(ActorTest, SameShardSpawnRunsTheChildUpToItsFirstReceive) {
  Pid child = self.Spawn(Greets, self.pid());
  // Already greeted: the child ran inside Spawn and is now waiting in its receive.
  EXPECT_EQ(self.mailbox_size(), 1u);
  EXPECT_EQ(co_await self.Receive<std::string>(), "hello");
  self.Send(child, Stop{});
  co_return absl::OkStatus();
}

struct ChainEnd {
  int length;
};

// Spawns the next link before doing anything else: each spawn runs its child at once, so
// without a bound on nesting this would be 200,000 frames deep on one stack.
Task<absl::Status> ChainLink(Self self, Pid report_to, int left, int length) {
  if (left > 0) {
    self.Spawn(ChainLink, report_to, left - 1, length + 1);
  } else {
    self.Send(report_to, ChainEnd{length});
  }
  co_return absl::OkStatus();
}

SNOW_CO_TEST(ActorTest, ADeepChainOfSpawnsRunsWithoutExhaustingTheStack) {
  constexpr int kLinks = 200'000;
  uint64_t spawned_before = self.runtime().stats().actors_spawned;
  self.Spawn(ChainLink, self.pid(), kLinks, 0);
  ChainEnd end = co_await self.Receive<ChainEnd>();
  EXPECT_EQ(end.length, kLinks);
  EXPECT_EQ(self.runtime().stats().actors_spawned - spawned_before, uint64_t{kLinks} + 1);
  co_return absl::OkStatus();
}

Task<absl::Status> Crash(Self self) {
  co_await self.Receive<Stop>();
  throw std::runtime_error("deliberate crash");
}

SNOW_CO_TEST(ActorTest, ExceptionEndsOnlyThatActor) {
  Pid ponger = self.Spawn(Ponger);
  Pid crasher = self.Spawn(Crash);
  self.Send(crasher, Stop{});
  co_await Yield();
  EXPECT_EQ(self.runtime().stats().actors_crashed, 1u);
  // The shard and the other actors go on.
  self.Send(ponger, Ping{self.pid(), 1});
  absl::StatusOr<Pong> pong = co_await self.ReceiveFor<Pong>(absl::Seconds(1));
  EXPECT_THAT(pong, IsOk());
  self.Send(ponger, Ping{self.pid(), -1});
  co_return absl::OkStatus();
}

Task<absl::Status> Thrower(Self) {
  throw std::logic_error("main crashed");
  co_return absl::OkStatus();
}

TEST(ActorExitTest, CrashReasonCarriesTheExceptionMessage) {
  RuntimeOptions options = TestRuntimeOptions();
  options.log_crashes = false;
  EXPECT_THAT(RunOnTestRuntime(options, Thrower),
              StatusIs(absl::StatusCode::kInternal, "main crashed"));
}

Task<void> Nested(Self self) {
  self.Exit(absl::AbortedError("bye from deep inside"));
  co_return;
}
Task<absl::Status> ExitsFromNested(Self self) {
  co_await Nested(self);
  co_return absl::InternalError("not reached");
}

TEST(ActorExitTest, ExplicitExitFromNestedCoroutine) {
  EXPECT_THAT(RunOnTestRuntime(ExitsFromNested),
              StatusIs(absl::StatusCode::kAborted, "bye from deep inside"));
}

Task<absl::Status> ReturnsError(Self) { co_return absl::FailedPreconditionError("no"); }

TEST(ActorExitTest, ErrorStatusIsTheExitReason) {
  EXPECT_THAT(RunOnTestRuntime(ReturnsError), StatusIs(absl::StatusCode::kFailedPrecondition));
}

Task<absl::Status> Named(Self self, std::string name) {
  SNOW_CO_RETURN_IF_ERROR(self.Register(name));
  co_await self.Receive<Stop>();
  co_return absl::OkStatus();
}

SNOW_CO_TEST(RegistryTest, NameIsReleasedAtExit) {
  Pid a = self.Spawn(Named, std::string("svc"));
  co_await Yield();
  EXPECT_EQ(self.WhereIs("svc"), a);
  EXPECT_THAT(self.SendNamed("svc", Stop{}), IsOk());
  co_await Yield();
  EXPECT_EQ(self.WhereIs("svc"), std::nullopt);
  EXPECT_THAT(self.SendNamed("svc", Stop{}), StatusIs(absl::StatusCode::kNotFound));
  // The name can be taken again.
  Pid b = self.Spawn(Named, std::string("svc"));
  co_await Yield();
  EXPECT_EQ(self.WhereIs("svc"), b);
  self.Send(b, Stop{});
  co_return absl::OkStatus();
}

SNOW_CO_TEST(RegistryTest, NameClashAndSecondNameAreRefused) {
  EXPECT_THAT(self.Register("main"), IsOk());
  EXPECT_THAT(self.Register("other"), StatusIs(absl::StatusCode::kAlreadyExists));
  Pid rival = self.Spawn(Named, std::string("main"));
  co_await Yield();
  // The rival's Register failed, so it ended with that reason and holds no name.
  EXPECT_EQ(self.WhereIs("main"), self.pid());
  self.Send(rival, Stop{});  // dropped: it is gone
  self.Unregister();
  EXPECT_EQ(self.WhereIs("main"), std::nullopt);
  co_return absl::OkStatus();
}

struct Reply {
  Ref ref;
  int value;
};

Task<absl::Status> Replier(Self self, Pid to, Ref ref) {
  self.Send(to, Reply{ref, 7});
  co_return absl::OkStatus();
}

SNOW_CO_TEST(ActorTest, ReceiveReplyFindsTheTaggedReplyBehindOtherMessages) {
  for (int i = 0; i < 1000; ++i) self.Send(self.pid(), Reply{Ref(), i});
  Ref ref = self.MakeRef();
  self.Spawn(Replier, self.pid(), ref);
  absl::StatusOr<Reply> r = co_await self.ReceiveReply<Reply>(
      ref, [ref](const Reply& m) { return m.ref == ref; }, absl::Seconds(1));
  SNOW_CO_ASSERT(r.ok());
  EXPECT_EQ(r->value, 7);
  EXPECT_EQ(self.mailbox_size(), 1000u);
  // A reply already queued when ReceiveReply starts is found too.
  Ref ref2 = self.MakeRef();
  self.Send(self.pid(), Reply{ref2, 8});
  absl::StatusOr<Reply> r2 = co_await self.ReceiveReply<Reply>(
      ref2, [ref2](const Reply& m) { return m.ref == ref2; }, absl::Seconds(1));
  SNOW_CO_ASSERT(r2.ok());
  EXPECT_EQ(r2->value, 8);
  // The earlier messages are intact and in order.
  for (int i = 0; i < 1000; ++i) {
    Reply m = co_await self.Receive<Reply>();
    if (m.value != i) co_return absl::InternalError("order lost");
  }
  co_return absl::OkStatus();
}

// Proves that every message and argument is destroyed once.
struct Counted : testing::Counted<Counted> {};

Task<absl::Status> HoldsCounted(Self self, Counted) {
  co_await self.Receive<Stop>();
  co_return absl::OkStatus();
}

Task<absl::Status> SleepsHoldingCounted(Self, Counted) {
  co_await Sleep(absl::Hours(1));
  co_return absl::OkStatus();
}

Task<absl::Status> ShutdownMain(Self self, int actors) {
  std::vector<Pid> pids;
  for (int i = 0; i < actors; ++i) {
    pids.push_back(
        self.Spawn(SpawnOptions{.placement = Placement::kRoundRobin}, HoldsCounted, Counted()));
  }
  self.Spawn(SleepsHoldingCounted, Counted());
  // Messages left in mailboxes, and some in flight to other shards, at shutdown.
  for (int i = 0; i < actors; i += 10) self.Send(pids[i], Counted());
  self.SendAfter(absl::Hours(1), self.pid(), Counted());
  co_await Yield();
  // And as many again that never get to start: their frames are queued, not suspended.
  for (int i = 0; i < actors; ++i) self.Spawn(HoldsCounted, Counted());
  co_return absl::OkStatus();  // the runtime now stops every other actor
}

TEST(RuntimeTest, ShutdownWithLiveAndUnstartedActorsDestroysEverythingOnce) {
  EXPECT_THAT(RunOnTestRuntime(testing::RealRuntimeOptions(2), ShutdownMain, 100'000), IsOk());
  EXPECT_EQ(Counted::live.load(), 0);
}

// Spawns an actor from its destructor, which shutdown runs while it destroys frames.
struct SpawnsWhenDestroyed {
  Self self;
  ~SpawnsWhenDestroyed() { self.Spawn(HoldsCounted, Counted()); }
};

Task<absl::Status> SpawnsAtShutdown(Self self) {
  SpawnsWhenDestroyed guard{self};
  co_await self.Receive<Stop>();
  co_return absl::OkStatus();
}

Task<absl::Status> EndsWhileAnotherSpawnsAtShutdown(Self self) {
  self.Spawn(SpawnsAtShutdown);
  co_return absl::OkStatus();
}

TEST(RuntimeTest, AnActorSpawnedDuringShutdownIsStoppedToo) {
  absl::StatusOr<std::unique_ptr<Runtime>> runtime = Runtime::Create(TestRuntimeOptions());
  ASSERT_THAT(runtime, IsOk());
  (*runtime)->SpawnMain(EndsWhileAnotherSpawnsAtShutdown);
  EXPECT_THAT((*runtime)->Wait(), IsOk());
  EXPECT_EQ((*runtime)->stats().live_actors, 0u);
  EXPECT_EQ(Counted::live.load(), 0);
}

// ---- The catch-all receive (AnyMessage) ----

namespace wanted {
struct Get {
  int key;
};
}  // namespace wanted

SNOW_CO_TEST(AnyMessageTest, ACatchAllTakesTheFirstMessageWhateverItsType) {
  self.Send(self.pid(), 2.5);
  self.Send(self.pid(), wanted::Get{7});
  self.Send(self.pid(), std::string("text"));
  // Named types come as themselves, anything else as an AnyMessage, in mailbox order.
  auto first = co_await self.Receive<wanted::Get, AnyMessage>();
  SNOW_CO_ASSERT(std::holds_alternative<AnyMessage>(first));
  AnyMessage& unknown = std::get<AnyMessage>(first);
  EXPECT_EQ(unknown.type_name(), "double");
  EXPECT_TRUE(unknown.Is<double>());
  EXPECT_EQ(unknown.As<int>(), nullptr);
  SNOW_CO_ASSERT(unknown.As<double>() != nullptr);
  EXPECT_EQ(*unknown.As<double>(), 2.5);
  auto second = co_await self.Receive<wanted::Get, AnyMessage>();
  SNOW_CO_ASSERT(std::holds_alternative<wanted::Get>(second));
  EXPECT_EQ(std::get<wanted::Get>(second).key, 7);
  AnyMessage third = co_await self.Receive<AnyMessage>();
  EXPECT_EQ(third.type_name(),
            "std::__cxx11::basic_string<char, std::char_traits<char>, "
            "std::allocator<char> >");
  std::optional<std::string> text = third.Take<std::string>();
  EXPECT_EQ(text, "text");
  EXPECT_EQ(third.type_name(), "");  // taken
  EXPECT_EQ(self.mailbox_size(), 0u);
  co_return absl::OkStatus();
}

SNOW_CO_TEST(AnyMessageTest, NamesAreDemangledAndUnknownMessagesCanBeDrained) {
  self.Send(self.pid(), wanted::Get{1});
  self.Send(self.pid(), Counted());
  self.Send(self.pid(), Stop{});
  std::vector<std::string> names;
  for (;;) {
    absl::StatusOr<AnyMessage> m = co_await self.ReceiveFor<AnyMessage>(absl::ZeroDuration());
    if (!m.ok()) break;
    names.emplace_back(m->type_name());
  }  // each AnyMessage dropped its message as it went
  EXPECT_EQ(names, (std::vector<std::string>{"snow::(anonymous namespace)::wanted::Get",
                                             "snow::(anonymous namespace)::Counted",
                                             "snow::(anonymous namespace)::Stop"}));
  EXPECT_EQ(Counted::live.load(), 0);
  co_return absl::OkStatus();
}

Task<absl::Status> WaitsForAnything(Self self, Pid report) {
  AnyMessage m = co_await self.Receive<AnyMessage>();
  self.Send(report, std::string(m.type_name()));
  co_return absl::OkStatus();
}

SNOW_CO_TEST(AnyMessageTest, AWaitingCatchAllIsWokenByAnyMessage) {
  Pid waiter = self.Spawn(WaitsForAnything, self.pid());
  self.Send(waiter, 42);
  std::string name = co_await self.Receive<std::string>();
  EXPECT_EQ(name, "int");
  co_return absl::OkStatus();
}

}  // namespace
}  // namespace snow
