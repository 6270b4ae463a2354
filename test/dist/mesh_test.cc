// Mesh formation and sends by name: snow-node children on loopback, the test process as a node.
#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "snow/test/dist/dist_testing.h"

namespace snow::dist_testing {
namespace {

using ::snow::testing::IsOk;
using ::testing::UnorderedElementsAre;

TEST(DistMeshTest, ChainOfConnectsBecomesAFullMesh) {
  NodeProcess a = StartChild({.name = "a@127.0.0.1:0"});
  NodeProcess b = StartChild({.name = "b@127.0.0.1:0", .connect = {a.name()}});
  NodeProcess c = StartChild({.name = "c@127.0.0.1:0", .connect = {b.name()}});
  // C never dialed A: A hears of C through B, and one of them connects to the other.
  EXPECT_THAT(a.WaitForLine("nodeup " + c.name(), absl::Seconds(20)), IsOk());
  EXPECT_THAT(c.WaitForLine("nodeup " + a.name(), absl::Seconds(20)), IsOk());
  EXPECT_TRUE(Alive(a));
  EXPECT_TRUE(Alive(b));
  EXPECT_TRUE(Alive(c));
}

Task<absl::Status> LearnsTheRestFromOnePeer(Self self, std::reference_wrapper<NodeProcess> a_ref,
                                            std::reference_wrapper<NodeProcess> b_ref) {
  NodeProcess* a = &a_ref.get();
  NodeProcess* b = &b_ref.get();
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, TestNodeOptions()));
  dist::MonitorNodes(self);
  SNOW_CO_RETURN_IF_ERROR(co_await dist::Connect(self, a->name()));
  // B is connected to A; A tells this node about B and the mesh connects them.
  auto is_b = [b](const dist::NodeUp& up) { return up.node == b->name(); };
  SNOW_CO_RETURN_IF_ERROR(
      (co_await self.ReceiveFor<dist::NodeUp>(absl::Seconds(20), is_b)).status());
  EXPECT_THAT(dist::Nodes(self), UnorderedElementsAre(a->name(), b->name()));
  // And B answers through the connection the mesh made.
  absl::StatusOr<Pid> echo = co_await EchoNamed(self, b->name(), 1);
  EXPECT_THAT(echo, IsOk());
  co_return absl::OkStatus();
}

TEST(DistMeshTest, TestNodeLearnsEveryNodeFromOnePeer) {
  NodeProcess a = StartChild({.name = "a@127.0.0.1:0"});
  NodeProcess b = StartChild({.name = "b@127.0.0.1:0", .connect = {a.name()}});
  ASSERT_THAT(a.WaitForLine("nodeup " + b.name(), absl::Seconds(20)), IsOk());
  EXPECT_THAT(RunAsNode(LearnsTheRestFromOnePeer, std::ref(a), std::ref(b)), IsOk());
}

Task<absl::Status> EchoByName(Self self, std::reference_wrapper<NodeProcess> a_ref) {
  NodeProcess* a = &a_ref.get();
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, TestNodeOptions()));
  // No Connect: SendNamed connects first.
  Echo ping{self.pid(), 7, {}};
  SNOW_CO_RETURN_IF_ERROR(dist::SendNamed(self, "echo", a->name(), ping));
  absl::StatusOr<Echo> reply = co_await self.ReceiveFor<Echo>(kReplyTimeout);
  SNOW_CO_RETURN_IF_ERROR(reply.status());
  EXPECT_EQ(reply->n, 7);
  EXPECT_FALSE(reply->from.is_local());
  EXPECT_EQ(dist::NodeOf(self, reply->from), a->name());
  EXPECT_EQ(dist::NodeOf(self, self.pid()), dist::SelfNode(self));
  EXPECT_THAT(dist::PidToString(self, reply->from), ::testing::HasSubstr(a->name()));
  // The PID in the reply is a real address: a direct send to it is answered too.
  Echo direct{self.pid(), 8, {}};
  self.Send(reply->from, direct);
  absl::StatusOr<Echo> again = co_await self.ReceiveFor<Echo>(kReplyTimeout);
  SNOW_CO_RETURN_IF_ERROR(again.status());
  EXPECT_EQ(again->n, 8);
  EXPECT_EQ(again->from, reply->from);
  co_return absl::OkStatus();
}

TEST(DistMeshTest, SendNamedReachesTheActorRegisteredOnTheNode) {
  NodeProcess a = StartChild({.name = "a@127.0.0.1:0"});
  EXPECT_THAT(RunAsNode(EchoByName, std::ref(a)), IsOk());
}

}  // namespace
}  // namespace snow::dist_testing
