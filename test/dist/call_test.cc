// Calls across nodes (core/service.h, dist::Call): a snow-node child's "calls" service answers
// the test node's calls by PID and by name; its death, its node's death, a late reply and an
// unknown name each end a call as the service header promises.
#include <signal.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "snow/test/dist/dist_testing.h"

namespace snow::dist_testing {
namespace {

using node_services::Delegate;
using node_services::Hold;
using node_services::Later;
using node_services::Square;
using node_services::Whoami;
using ::snow::testing::IsOk;
using ::snow::testing::StatusIs;

Task<absl::Status> CallsByPidAndByName(Self self, std::reference_wrapper<NodeProcess> a_ref) {
  NodeProcess& a = a_ref.get();
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, TestNodeOptions()));
  // Not connected yet: the call by name connects first.
  absl::StatusOr<int64_t> square =
      co_await dist::Call(self, "calls", a.name(), Square{7}, kReplyTimeout);
  EXPECT_THAT(square, IsOk());
  EXPECT_EQ(square.value_or(0), 49);
  absl::StatusOr<Pid> server =
      co_await dist::Call(self, "calls", a.name(), Whoami{}, kReplyTimeout);
  SNOW_CO_RETURN_IF_ERROR(server.status());
  EXPECT_EQ(dist::NodeOf(self, *server), a.name());
  square = co_await Call(self, *server, Square{-9}, kReplyTimeout);
  EXPECT_EQ(square.value_or(0), 81);
  // Answered by a worker the server spawned, with the ReplyTo it was handed.
  absl::StatusOr<int64_t> deferred = co_await Call(self, *server, Delegate{41}, kReplyTimeout);
  EXPECT_EQ(deferred.value_or(0), 42);
  // Many in a row: each takes its own reply, none is left behind.
  for (int64_t i = 0; i < 1000; ++i) {
    absl::StatusOr<int64_t> r = co_await Call(self, *server, Square{i}, kReplyTimeout);
    if (!r.ok() || *r != i * i) co_return absl::InternalError(absl::StrCat("call ", i, " failed"));
  }
  EXPECT_THAT((co_await self.ReceiveFor<AnyMessage>(absl::ZeroDuration())).status(),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  co_return absl::OkStatus();
}

// Nothing in this program registers Tally: its declaration does, before main, with its call's
// request and reply forms. (The snow-node services this file calls are declared the same way,
// in both programs.)
struct Tally {
  using Reply = std::vector<int64_t>;
  int64_t add = 0;
  static constexpr dist::Message<Tally> kWire{"test.Tally", "add"};
};

TEST(DistCallTest, AMessageDeclarationRegistersTheTypeAndItsCallBeforeMain) {
  const dist::RemoteType* type = dist::RemoteTypeOf<Tally>();
  ASSERT_NE(type, nullptr);
  EXPECT_EQ(type->wire_name, "test.Tally");
  const dist::RemoteType* request = dist::RemoteTypeOf<Request<Tally>>();
  ASSERT_NE(request, nullptr);
  EXPECT_EQ(request->wire_name, "snow.call:test.Tally");
  const dist::RemoteType* reply = dist::RemoteTypeOf<CallReply<std::vector<int64_t>>>();
  ASSERT_NE(reply, nullptr);
  EXPECT_EQ(reply->wire_name, "snow.reply:list<i64>");
}

// A bounded mailbox holds for messages from another node too: the child's echo service sends
// 50 echoes to an actor with a bound of 5 and MailboxOverflow::kKill, which ends with
// mailbox_overflow.
Task<absl::Status> NeverReceivesEchoes(Self self) {
  (void)co_await self.Receive<Whoami>();
  co_return absl::OkStatus();
}
Task<absl::Status> OverflowsFromAnotherNode(Self self, std::reference_wrapper<NodeProcess> a_ref) {
  NodeProcess& a = a_ref.get();
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, TestNodeOptions()));
  Pid full =
      self.Spawn({.max_mailbox = 5, .overflow = MailboxOverflow::kKill}, NeverReceivesEchoes);
  Ref watch = self.Monitor(full);
  for (int64_t i = 0; i < 50; ++i) {
    node_services::Echo echo{full, i, {}};
    SNOW_CO_RETURN_IF_ERROR(dist::SendNamed(self, "echo", a.name(), echo));
  }
  auto is_watch = [watch](const Down& d) { return d.ref == watch; };
  absl::StatusOr<Down> down = co_await self.ReceiveFor<Down>(kReplyTimeout, is_watch);
  SNOW_CO_RETURN_IF_ERROR(down.status());
  EXPECT_EQ(down->reason, MailboxOverflowReason());
  co_return absl::OkStatus();
}

TEST(DistCallTest, AMailboxBoundHoldsForMessagesFromAnotherNode) {
  NodeProcess a = StartChild({.name = "a@127.0.0.1:0"});
  EXPECT_THAT(RunAsNode(OverflowsFromAnotherNode, std::ref(a)), IsOk());
}

// Each drop policy on messages from another node: 50 echoes reach an actor with a bound of 5,
// which keeps the first five (kDropNew) or the last five (kDropOldest).
struct EchoesKept {
  std::vector<int64_t> n;
};
Task<absl::Status> HoardsEchoes(Self self, Pid gate, Pid report) {
  self.Monitor(gate);
  (void)co_await self.Receive<Down>();  // a notice: it gets into a full mailbox
  EchoesKept kept;
  for (;;) {
    absl::StatusOr<node_services::Echo> echo =
        co_await self.ReceiveFor<node_services::Echo>(absl::ZeroDuration());
    if (!echo.ok()) break;
    kept.n.push_back(echo->n);
  }
  self.Send(report, std::move(kept));
  co_return absl::OkStatus();
}
Task<absl::Status> HoardsFromAnotherNode(Self self, std::reference_wrapper<NodeProcess> a_ref,
                                         MailboxOverflow overflow,
                                         std::reference_wrapper<std::vector<int64_t>> kept) {
  NodeProcess& a = a_ref.get();
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, TestNodeOptions()));
  Pid gate = self.Spawn(NeverReceivesEchoes);
  Pid hoarder =
      self.Spawn({.max_mailbox = 5, .overflow = overflow}, HoardsEchoes, gate, self.pid());
  for (int64_t i = 0; i < 50; ++i) {
    node_services::Echo echo{hoarder, i, {}};
    SNOW_CO_RETURN_IF_ERROR(dist::SendNamed(self, "echo", a.name(), echo));
  }
  // One more, to this actor on the hoarder's shard: it comes back from the same echo actor over
  // the same connection, behind the 50, so once it is here they have all arrived.
  node_services::Echo last{self.pid(), 999, {}};
  SNOW_CO_RETURN_IF_ERROR(dist::SendNamed(self, "echo", a.name(), last));
  auto is_last = [](const node_services::Echo& e) { return e.n == 999; };
  SNOW_CO_RETURN_IF_ERROR(
      (co_await self.ReceiveFor<node_services::Echo>(kReplyTimeout, is_last)).status());
  self.SendExit(gate, KillReason());
  absl::StatusOr<EchoesKept> got = co_await self.ReceiveFor<EchoesKept>(kReplyTimeout);
  SNOW_CO_RETURN_IF_ERROR(got.status());
  kept.get() = got->n;
  co_return absl::OkStatus();
}

TEST(DistCallTest, MailboxDropPoliciesHoldForMessagesFromAnotherNode) {
  NodeProcess a = StartChild({.name = "a@127.0.0.1:0"});
  std::vector<int64_t> kept;
  EXPECT_THAT(
      RunAsNode(HoardsFromAnotherNode, std::ref(a), MailboxOverflow::kDropNew, std::ref(kept)),
      IsOk());
  EXPECT_EQ(kept, (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_THAT(
      RunAsNode(HoardsFromAnotherNode, std::ref(a), MailboxOverflow::kDropOldest, std::ref(kept)),
      IsOk());
  EXPECT_EQ(kept, (std::vector<int64_t>{45, 46, 47, 48, 49}));
}

TEST(DistCallTest, CallsByPidAndByNameGetTheirReplies) {
  NodeProcess a = StartChild({.name = "a@127.0.0.1:0", .shards = 2});
  EXPECT_THAT(RunAsNode(CallsByPidAndByName, std::ref(a)), IsOk());
}

TEST(DistCallTest, CallsWorkOverPlainTcp) {
  NodeProcess a = StartChild({.name = "a@127.0.0.1:0", .tls = false});
  EXPECT_THAT(RunAsNode(
                  +[](Self self, std::reference_wrapper<NodeProcess> a) -> Task<absl::Status> {
                    dist::NodeOptions options = TestNodeOptions();
                    options.tls = false;
                    SNOW_CO_RETURN_IF_ERROR(dist::Start(self, options));
                    absl::StatusOr<int64_t> r = co_await dist::Call(self, "calls", a.get().name(),
                                                                    Square{12}, kReplyTimeout);
                    EXPECT_EQ(r.value_or(0), 144);
                    co_return absl::OkStatus();
                  },
                  std::ref(a)),
              IsOk());
}

Task<absl::Status> UnknownNames(Self self, std::reference_wrapper<NodeProcess> a) {
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, TestNodeOptions()));
  absl::Time start = absl::Now();
  absl::StatusOr<int64_t> r =
      co_await dist::Call(self, "nobody", a.get().name(), Square{1}, kReplyTimeout);
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kNotFound, "noproc"));
  EXPECT_LT(absl::Now() - start, kReplyTimeout / 2);
  // A name that is gone from a PID that is gone: the same.
  absl::StatusOr<Pid> server =
      co_await dist::Call(self, "calls", a.get().name(), Whoami{}, kReplyTimeout);
  SNOW_CO_RETURN_IF_ERROR(server.status());
  Pid gone = Pid::FromParts(server->node(), server->shard(), server->serial() + 100000);
  r = co_await Call(self, gone, Square{1}, kReplyTimeout);
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kNotFound, "noproc"));
  co_return absl::OkStatus();
}

TEST(DistCallTest, AnUnknownNameOrPidGivesNoprocAtOnce) {
  NodeProcess a = StartChild({.name = "a@127.0.0.1:0"});
  EXPECT_THAT(RunAsNode(UnknownNames, std::ref(a)), IsOk());
}

// A caller that reports how its call of Hold ended, and how long it took from the moment it
// told `parent` it had sent the call.
struct CallEnded {
  absl::Status status;
  absl::Time started;
  absl::Time ended;
};
struct CallSent {
  absl::Time at;
};

Task<absl::Status> HoldCaller(Self self, Pid server, Pid parent) {
  absl::Time at = absl::Now();
  self.Send(parent, CallSent{at});  // the call below goes out before `parent` runs again
  absl::StatusOr<int64_t> r = co_await Call(self, server, Hold{}, absl::Seconds(30));
  self.Send(parent, CallEnded{r.status(), at, absl::Now()});
  co_return absl::OkStatus();
}

// Starts a node here and a HoldCaller of `a`'s "calls" service; returns the service's PID once
// the call is on its way.
Task<absl::StatusOr<Pid>> HoldCallUnderWay(Self self, std::string a) {
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, TestNodeOptions()));
  absl::StatusOr<Pid> server = co_await dist::Call(self, "calls", a, Whoami{}, kReplyTimeout);
  SNOW_CO_RETURN_IF_ERROR(server.status());
  self.Spawn(HoldCaller, *server, self.pid());
  SNOW_CO_RETURN_IF_ERROR((co_await self.ReceiveFor<CallSent>(kReplyTimeout)).status());
  co_return server;
}

Task<absl::Status> ServerKilledMidCall(Self self, std::reference_wrapper<NodeProcess> a) {
  SNOW_CO_ASSIGN_OR_RETURN(Pid server, co_await HoldCallUnderWay(self, a.get().name()));
  self.SendExit(server, absl::AbortedError("killed by the test"));
  absl::StatusOr<CallEnded> ended = co_await self.ReceiveFor<CallEnded>(kReplyTimeout);
  SNOW_CO_RETURN_IF_ERROR(ended.status());
  EXPECT_THAT(ended->status, StatusIs(absl::StatusCode::kAborted, "killed by the test"));
  EXPECT_LT(ended->ended - ended->started, absl::Seconds(5));  // the timeout is 30 s
  co_return absl::OkStatus();
}

TEST(DistCallTest, TheServersDeathEndsTheCallWithItsReason) {
  NodeProcess a = StartChild({.name = "a@127.0.0.1:0"});
  EXPECT_THAT(RunAsNode(ServerKilledMidCall, std::ref(a)), IsOk());
}

Task<absl::Status> NodeKilledMidCall(Self self, std::reference_wrapper<NodeProcess> a) {
  SNOW_CO_ASSIGN_OR_RETURN(Pid server, co_await HoldCallUnderWay(self, a.get().name()));
  a.get().Signal(SIGKILL);
  absl::StatusOr<CallEnded> ended = co_await self.ReceiveFor<CallEnded>(kReplyTimeout);
  SNOW_CO_RETURN_IF_ERROR(ended.status());
  EXPECT_THAT(ended->status, StatusIs(absl::StatusCode::kUnavailable, "noconnection"));
  EXPECT_LT(ended->ended - ended->started, absl::Seconds(2));  // the kernel closes its sockets
  // A call to a node that is gone fails at once, not at its timeout.
  absl::Time start = absl::Now();
  absl::StatusOr<int64_t> r = co_await Call(self, server, Square{2}, absl::Seconds(30));
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kUnavailable, "noconnection"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  co_return absl::OkStatus();
}

TEST(DistCallTest, KillNineOfTheServersNodeEndsTheCallWithNoconnection) {
  NodeProcess a = StartChild({.name = "a@127.0.0.1:0"});
  EXPECT_THAT(RunAsNode(NodeKilledMidCall, std::ref(a)), IsOk());
}

Task<absl::Status> LateReply(Self self, std::reference_wrapper<NodeProcess> a) {
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, TestNodeOptions()));
  absl::StatusOr<Pid> server =
      co_await dist::Call(self, "calls", a.get().name(), Whoami{}, kReplyTimeout);
  SNOW_CO_RETURN_IF_ERROR(server.status());
  const uint64_t dropped_before = self.runtime().stats().messages_dropped;
  absl::StatusOr<int64_t> r = co_await Call(self, *server, Later{300}, absl::Milliseconds(20));
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kDeadlineExceeded));
  // The server answers in order: by the time this reply is here, the late one came and went.
  r = co_await Call(self, *server, Square{3}, kReplyTimeout);
  EXPECT_EQ(r.value_or(0), 9);
  EXPECT_EQ(self.runtime().stats().messages_dropped, dropped_before + 1);
  EXPECT_THAT((co_await self.ReceiveFor<AnyMessage>(absl::ZeroDuration())).status(),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  co_return absl::OkStatus();
}

TEST(DistCallTest, ALateReplyIsDroppedAndCountedNeverLeftInTheMailbox) {
  NodeProcess a = StartChild({.name = "a@127.0.0.1:0"});
  EXPECT_THAT(RunAsNode(LateReply, std::ref(a)), IsOk());
}

struct NotForTheWire {
  using Reply = int64_t;
};

Task<absl::Status> Unregistered(Self self, std::reference_wrapper<NodeProcess> a) {
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, TestNodeOptions()));
  absl::StatusOr<Pid> server =
      co_await dist::Call(self, "calls", a.get().name(), Whoami{}, kReplyTimeout);
  SNOW_CO_RETURN_IF_ERROR(server.status());
  absl::Time start = absl::Now();
  absl::StatusOr<int64_t> r = co_await Call(self, *server, NotForTheWire{}, kReplyTimeout);
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kFailedPrecondition, "not registered for the wire"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  // And the node and its service go on.
  r = co_await Call(self, *server, Square{5}, kReplyTimeout);
  EXPECT_EQ(r.value_or(0), 25);
  co_return absl::OkStatus();
}

TEST(DistCallTest, AnUnregisteredRequestTypeFailsAtOnce) {
  NodeProcess a = StartChild({.name = "a@127.0.0.1:0"});
  EXPECT_THAT(RunAsNode(Unregistered, std::ref(a)), IsOk());
}

}  // namespace
}  // namespace snow::dist_testing
