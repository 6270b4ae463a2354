// Connection set-up seen from the test node: a connect that fails before it suspends, what
// NodeUp promises on the accepting side, and a node that comes back while its old connection
// still looks alive.
#include <sys/resource.h>

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "snow/core/exit_reason.h"
#include "snow/net/tcp.h"
#include "snow/test/dist/dist_testing.h"

namespace snow::dist_testing {
namespace {

using ::snow::testing::IsOk;
using ::snow::testing::StatusIs;

// Lowers the soft limit on open files to `soft` while it lives, so that socket() fails with
// EMFILE at once.
class FileLimit {
 public:
  explicit FileLimit(rlim_t soft) {
    SNOW_CHECK(getrlimit(RLIMIT_NOFILE, &saved_) == 0, "getrlimit");
    rlimit lowered = saved_;
    lowered.rlim_cur = soft;
    SNOW_CHECK(setrlimit(RLIMIT_NOFILE, &lowered) == 0, "setrlimit");
  }
  ~FileLimit() { Restore(); }
  void Restore() {
    if (restored_) return;
    restored_ = true;
    SNOW_CHECK(setrlimit(RLIMIT_NOFILE, &saved_) == 0, "setrlimit");
  }

 private:
  rlimit saved_{};
  bool restored_ = false;
};

Task<absl::Status> ConnectWithoutFileDescriptors(Self self,
                                                 std::reference_wrapper<NodeProcess> a_ref) {
  NodeProcess* a = &a_ref.get();
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, TestNodeOptions()));
  std::string name = a->name();
  absl::Status connected;
  absl::Status named;
  // UBSan's dynamic-type check needs a descriptor (a pipe) the first time it meets a type:
  // run a whole connection once, while descriptors are to spare, so that the failing one below
  // meets none for the first time (else the sanitizer build reports bogus bad downcasts).
  dist::MonitorNodes(self);
  SNOW_CO_RETURN_IF_ERROR(co_await dist::Connect(self, name));
  SNOW_CO_RETURN_IF_ERROR((co_await EchoNamed(self, name, 0)).status());
  dist::Disconnect(self, name);
  SNOW_CO_RETURN_IF_ERROR((co_await self.ReceiveFor<dist::NodeDown>(kReplyTimeout)).status());
  {
    // No fd is free: the session's socket() fails before its first suspension.
    FileLimit limit(0);
    connected = co_await dist::Connect(self, name);
    // A named send starts a connection the same way (as the mesh does when it learns a peer).
    Echo ping{self.pid(), 1, {}};
    named = dist::SendNamed(self, "echo", name, ping);
    limit.Restore();
  }
  EXPECT_THAT(connected, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(named, IsOk());  // fire and forget: the send itself is accepted
  EXPECT_GE(dist::Stats(self).handshakes_failed, 2u);
  // The failed attempts left nothing behind: with fds again, the node is reachable.
  absl::Status again = co_await dist::Connect(self, name);
  EXPECT_THAT(again, IsOk());
  absl::StatusOr<Pid> echo = co_await EchoNamed(self, name, 2);
  EXPECT_THAT(echo, IsOk());
  co_return absl::OkStatus();
}

TEST(DistConnectTest, ConnectWithNoFreeFileDescriptorFailsWithoutAbortingTheProcess) {
  NodeProcess a = StartChild({.name = "a@127.0.0.1:0"});
  EXPECT_THAT(RunAsNode(ConnectWithoutFileDescriptors, std::ref(a)), IsOk());
}

// The test node is the accepting side of `a`'s connection: it disconnects from `a` after
// learning the PID of a's echo actor, then child `b` (connected to the test node, then to `a`)
// tells `a` about the test node, and `a` dials it. On NodeUp{a}, a send to that PID and a
// monitor of it must work at once.
Task<absl::Status> NodeUpOnTheAcceptingSide(Self self, std::reference_wrapper<NodeProcess> a_ref) {
  NodeProcess* a = &a_ref.get();
  dist::NodeOptions options = TestNodeOptions();
  options.mesh = false;  // only `a` dials: the test node is the server of that connection
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, options));
  dist::MonitorNodes(self);
  const std::string a_name = a->name();
  SNOW_CO_RETURN_IF_ERROR(co_await dist::Connect(self, a_name));
  SNOW_CO_ASSIGN_OR_RETURN(Pid echo, co_await EchoNamed(self, a_name, 1));
  auto is_a_up = [a_name](const dist::NodeUp& up) { return up.node == a_name; };
  auto is_a_down = [a_name](const dist::NodeDown& down) { return down.node == a_name; };
  SNOW_CO_RETURN_IF_ERROR(
      (co_await self.ReceiveFor<dist::NodeUp>(kReplyTimeout, is_a_up)).status());
  dist::Disconnect(self, a_name);
  SNOW_CO_RETURN_IF_ERROR(
      (co_await self.ReceiveFor<dist::NodeDown>(kReplyTimeout, is_a_down)).status());

  // b connects to the test node first, so that its peer list to `a` names the test node.
  NodeProcess b = StartChild({.name = "b@127.0.0.1:0", .connect = {dist::SelfNode(self), a_name}});
  absl::StatusOr<dist::NodeUp> up = co_await self.ReceiveFor<dist::NodeUp>(kReplyTimeout, is_a_up);
  SNOW_CO_RETURN_IF_ERROR(up.status());
  // Right away, as an actor that trusts NodeUp would.
  Echo ping{self.pid(), 2, {}};
  self.Send(echo, ping);
  Ref ref = self.Monitor(echo);

  auto is_two = [](const Echo& e) { return e.n == 2; };
  absl::StatusOr<Echo> reply = co_await self.ReceiveFor<Echo>(kReplyTimeout, is_two);
  EXPECT_THAT(reply, IsOk()) << "the send made on NodeUp was lost";
  // The echo went out after the monitor and came back: a Down for it would be here by now.
  auto is_ref = [ref](const Down& d) { return d.ref == ref; };
  absl::StatusOr<Down> down = co_await self.ReceiveFor<Down>(absl::ZeroDuration(), is_ref);
  EXPECT_THAT(down, StatusIs(absl::StatusCode::kDeadlineExceeded))
      << "a monitor made on NodeUp fired: " << (down.ok() ? down->reason.ToString() : "");
  EXPECT_EQ(dist::Stats(self).dropped_no_connection, 0u);
  co_return absl::OkStatus();
}

TEST(DistConnectTest, NodeUpOnTheAcceptingSideMeansASendIsDelivered) {
  NodeProcess a = StartChild({.name = "a@127.0.0.1:0"});
  EXPECT_THAT(RunAsNode(NodeUpOnTheAcceptingSide, std::ref(a)), IsOk());
}

// A TCP relay between the test node and a child that hides the child's death: when the child's
// side ends, the test node's side stays open and silent, as after a partition.
struct SilentRelay {
  std::shared_ptr<net::TcpListener> listener;
  net::SocketAddress target;
  net::TcpStream node_side;   // the test node dialled this
  net::TcpStream child_side;  // this dialled the child
};

Task<absl::Status> RelayPump(Self, std::shared_ptr<SilentRelay> relay, bool to_child) {
  net::TcpStream& from = to_child ? relay->node_side : relay->child_side;
  net::TcpStream& to = to_child ? relay->child_side : relay->node_side;
  std::string buffer(16 * 1024, '\0');
  for (;;) {
    absl::StatusOr<size_t> n = co_await from.ReadSome(std::span<char>(buffer));
    if (!n.ok() || *n == 0) break;
    if (!(co_await to.WriteAll(std::span<const char>(buffer.data(), *n))).ok()) break;
  }
  co_return absl::OkStatus();  // no shutdown of `to`: the test node must not notice
}

Task<absl::Status> RunSilentRelay(Self self, std::shared_ptr<SilentRelay> relay) {
  SNOW_CO_ASSIGN_OR_RETURN(relay->node_side, co_await relay->listener->Accept(kReplyTimeout));
  SNOW_CO_ASSIGN_OR_RETURN(relay->child_side,
                           co_await net::TcpStream::Connect(relay->target, kReplyTimeout));
  self.Spawn(RelayPump, relay, true);
  self.Spawn(RelayPump, relay, false);
  co_return absl::OkStatus();
}

// `a` dies behind the relay (the test node's connection to it stays up) and its next
// incarnation dials the test node: the old incarnation's monitors must hear NodeDown before
// the new one's NodeUp.
Task<absl::Status> ReplacedIncarnation(Self self, std::reference_wrapper<NodeProcess> a_ref) {
  NodeProcess* a = &a_ref.get();
  const std::string a_name = a->name();
  auto relay = std::make_shared<SilentRelay>();
  SNOW_CO_ASSIGN_OR_RETURN(relay->target,
                           net::SocketAddress::Parse(a_name.substr(a_name.find('@') + 1)));
  SNOW_CO_ASSIGN_OR_RETURN(net::TcpListener listener,
                           net::TcpListener::Bind(net::SocketAddress::Loopback(0)));
  relay->listener = std::make_shared<net::TcpListener>(std::move(listener));
  dist::NodeOptions options = TestNodeOptions();
  options.mesh = false;
  options.connect_via[a_name] = absl::StrCat("127.0.0.1:", relay->listener->local_address().port());
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, options));
  dist::MonitorNodes(self);
  self.Spawn(RunSilentRelay, relay);
  SNOW_CO_RETURN_IF_ERROR(co_await dist::Connect(self, a_name));
  auto is_a_up = [a_name](const dist::NodeUp& up) { return up.node == a_name; };
  SNOW_CO_RETURN_IF_ERROR(
      (co_await self.ReceiveFor<dist::NodeUp>(kReplyTimeout, is_a_up)).status());

  a->Signal(SIGKILL);
  SNOW_CHECK(a->Wait(absl::Seconds(10)).ok(), "the killed node was not reaped");
  EXPECT_EQ(dist::Nodes(self), std::vector<std::string>{a_name}) << "the relay hid nothing";
  *a = RestartChild({.name = a_name, .connect = {dist::SelfNode(self)}});

  // Node events for `a`, in order, until the new incarnation is up.
  std::vector<std::string> events;
  while (events.empty() || events.back() != "up") {
    auto event = co_await self.ReceiveFor<dist::NodeUp, dist::NodeDown>(kReplyTimeout);
    if (!event.ok()) {
      ADD_FAILURE() << "no NodeUp from the new incarnation: " << event.status();
      break;
    }
    if (auto* up = std::get_if<dist::NodeUp>(&*event)) {
      if (up->node == a_name) events.push_back("up");
    } else if (auto* down = std::get_if<dist::NodeDown>(&*event)) {
      if (down->node == a_name) events.push_back("down");
    }
  }
  EXPECT_EQ(events, (std::vector<std::string>{"down", "up"}));
  absl::StatusOr<Pid> echo = co_await EchoNamed(self, a_name, 1);
  EXPECT_THAT(echo, IsOk());
  co_return absl::OkStatus();
}

TEST(DistConnectTest, ANodeReplacedByItsNextIncarnationGoesDownBeforeItComesUp) {
  NodeProcess a = StartChild({.name = "a@127.0.0.1:0"});
  EXPECT_THAT(RunAsNode(ReplacedIncarnation, std::ref(a)), IsOk());
}

// Disconnect ends the TLS connection with close_notify: the peer hears an orderly end, not a
// connection cut short ("without close_notify" reads like an attack in a log).
Task<absl::Status> DisconnectsInOrder(Self self, std::reference_wrapper<NodeProcess> a_ref) {
  NodeProcess& a = a_ref.get();
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, TestNodeOptions()));
  std::string me = dist::SelfNode(self);
  SNOW_CO_RETURN_IF_ERROR(co_await dist::Connect(self, a.name()));
  absl::StatusOr<std::string> up = co_await WaitForLineOffShard(a, "nodeup " + me, kReplyTimeout);
  SNOW_CO_RETURN_IF_ERROR(up.status());
  dist::Disconnect(self, a.name());
  absl::StatusOr<std::string> down =
      co_await WaitForLineOffShard(a, "nodedown " + me, kReplyTimeout);
  SNOW_CO_RETURN_IF_ERROR(down.status());
  EXPECT_THAT(*down, ::testing::HasSubstr("connection closed by the peer"));
  EXPECT_THAT(*down, ::testing::Not(::testing::HasSubstr("close_notify")));
  // The hangup watch said farewell first: an orderly end is not taken for a dead process.
  EXPECT_THAT(*down, ::testing::Not(::testing::HasSubstr("its process ended")));
  co_return absl::OkStatus();
}

TEST(DistConnectTest, DisconnectEndsTheConnectionInOrderOnThePeer) {
  NodeProcess a = StartChild({.name = "a@127.0.0.1:0"});
  EXPECT_THAT(RunAsNode(DisconnectsInOrder, std::ref(a)), IsOk());
}

// Disconnect and, at once, Connect again, five times: each Connect makes a new connection (the
// peer has not read the end of the old one yet, and waits for it), and each is answered.
// Before, Connect found the closing connection still up and returned at once, and what was
// sent next was lost with it.
Task<absl::Status> ReconnectsAtOnce(Self self, std::reference_wrapper<NodeProcess> a_ref) {
  NodeProcess* a = &a_ref.get();
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, TestNodeOptions()));
  dist::MonitorNodes(self);
  for (int i = 0; i < 5; ++i) {
    SNOW_CO_RETURN_IF_ERROR(co_await dist::Connect(self, a->name()));
    absl::StatusOr<Pid> echo = co_await EchoNamed(self, a->name(), i);
    EXPECT_THAT(echo, IsOk()) << "round " << i;
    dist::Disconnect(self, a->name());
    // NodeDown is delivered by Disconnect itself, before it returns.
    absl::StatusOr<dist::NodeDown> down =
        co_await self.ReceiveFor<dist::NodeDown>(absl::ZeroDuration());
    EXPECT_THAT(down, IsOk()) << "round " << i;
    EXPECT_TRUE(dist::Nodes(self).empty());
  }
  co_return absl::OkStatus();
}

TEST(DistConnectTest, AConnectRightAfterADisconnectMakesANewConnection) {
  NodeProcess a = StartChild({.name = "a@127.0.0.1:0"});
  EXPECT_THAT(RunAsNode(ReconnectsAtOnce, std::ref(a)), IsOk());
}

// Once the runtime is a node, PIDs print with its name, local ones too (logs of several nodes
// side by side), and the text parses back to the same PID.
// Auto-connect: a send to a PID of a node that is known but not connected dials it first.
Task<absl::Status> SendAfterDisconnect(Self self, std::reference_wrapper<NodeProcess> a_ref) {
  const std::string a = a_ref.get().name();
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, TestNodeOptions()));
  dist::MonitorNodes(self);
  absl::StatusOr<Pid> echo = co_await EchoNamed(self, a, 1);
  SNOW_CO_RETURN_IF_ERROR(echo.status());
  dist::Disconnect(self, a);
  auto is_a = [a](const dist::NodeDown& d) { return d.node == a; };
  SNOW_CO_RETURN_IF_ERROR((co_await self.ReceiveFor<dist::NodeDown>(kReplyTimeout, is_a)).status());
  EXPECT_TRUE(dist::Nodes(self).empty());
  // Three sends in a row while the connection is being made: all arrive, in order.
  for (int64_t n = 10; n < 13; ++n) self.Send(*echo, Echo{self.pid(), n, {}});
  for (int64_t n = 10; n < 13; ++n) {
    absl::StatusOr<Echo> back = co_await self.ReceiveFor<Echo>(kReplyTimeout);
    SNOW_CO_RETURN_IF_ERROR(back.status());
    EXPECT_EQ(back->n, n);
  }
  EXPECT_EQ(dist::Nodes(self), std::vector<std::string>{a});
  co_return absl::OkStatus();
}

TEST(DistConnectTest, ASendToAPidOfADisconnectedNodeConnectsAndArrives) {
  NodeProcess a = StartChild({.name = "a@127.0.0.1:0"});
  EXPECT_THAT(RunAsNode(SendAfterDisconnect, std::ref(a)), IsOk());
}

Task<absl::Status> UnreachableAfterKill(Self self, std::reference_wrapper<NodeProcess> a_ref,
                                        bool auto_connect) {
  const std::string a = a_ref.get().name();
  dist::NodeOptions options = TestNodeOptions();
  options.auto_connect = auto_connect;
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, options));
  dist::MonitorNodes(self);
  self.TrapExits();
  absl::StatusOr<Pid> echo = co_await EchoNamed(self, a, 1);
  SNOW_CO_RETURN_IF_ERROR(echo.status());
  a_ref.get().Signal(SIGKILL);
  auto is_a = [a](const dist::NodeDown& d) { return d.node == a; };
  SNOW_CO_RETURN_IF_ERROR((co_await self.ReceiveFor<dist::NodeDown>(kReplyTimeout, is_a)).status());
  const uint64_t dropped = dist::Stats(self).dropped_no_connection;
  // A dial is tried (or not, without auto-connect) and fails: the send is dropped and counted,
  // the monitor and the link fire with noconnection, once each.
  self.Send(*echo, Echo{self.pid(), 2, {}});
  Ref ref = self.Monitor(*echo);
  self.Link(*echo);
  absl::StatusOr<Down> down = co_await self.ReceiveFor<Down>(kReplyTimeout);
  SNOW_CO_RETURN_IF_ERROR(down.status());
  EXPECT_EQ(down->ref, ref);
  EXPECT_EQ(down->reason, NoConnectionReason());
  absl::StatusOr<Exit> exit = co_await self.ReceiveFor<Exit>(kReplyTimeout);
  SNOW_CO_RETURN_IF_ERROR(exit.status());
  EXPECT_EQ(exit->from, *echo);
  EXPECT_EQ(exit->reason, NoConnectionReason());
  EXPECT_EQ(dist::Stats(self).dropped_no_connection, dropped + 1);
  EXPECT_FALSE((co_await self.ReceiveFor<Down>(absl::ZeroDuration())).ok());
  EXPECT_FALSE((co_await self.ReceiveFor<Exit>(absl::ZeroDuration())).ok());
  co_return absl::OkStatus();
}

TEST(DistConnectTest, WhenTheDialFailsASendIsCountedAndLinksAndMonitorsFireOnce) {
  for (bool auto_connect : {true, false}) {
    NodeProcess a = StartChild({.name = "a@127.0.0.1:0"});
    EXPECT_THAT(RunAsNode(UnreachableAfterKill, std::ref(a), auto_connect), IsOk())
        << "auto_connect " << auto_connect;
  }
}

Task<absl::Status> PrintsPidsWithTheNodesName(Self self) {
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, TestNodeOptions()));
  std::string me = dist::SelfNode(self);
  std::string text = dist::PidToString(self, self.pid());
  EXPECT_EQ(text, absl::StrCat("<", me, ".", self.pid().shard(), ".", self.pid().serial(), ">"));
  EXPECT_EQ(self.runtime().PidText(self.pid()), text);
  absl::StatusOr<Pid> parsed = dist::ParsePid(self, text);
  EXPECT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed.value_or(Pid()), self.pid());
  co_return absl::OkStatus();
}

TEST(DistConnectTest, PidsPrintWithTheNodesName) {
  EXPECT_THAT(RunAsNode(PrintsPidsWithTheNodesName), IsOk());
}

}  // namespace
}  // namespace snow::dist_testing
