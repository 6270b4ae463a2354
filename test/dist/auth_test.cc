// Cookie authentication between the test node and snow-node children, in both directions.
#include <functional>
#include <string>

#include "snow/test/dist/dist_testing.h"

namespace snow::dist_testing {
namespace {

using ::snow::testing::IsOk;
using ::snow::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

Task<absl::Status> DialWithWrongCookie(Self self, std::reference_wrapper<NodeProcess> a_ref) {
  NodeProcess* a = &a_ref.get();
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, TestNodeOptions("not-the-cookie")));
  absl::Status connected = co_await dist::Connect(self, a->name());
  EXPECT_THAT(connected, StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(dist::Nodes(self), IsEmpty());
  EXPECT_GE(dist::Stats(self).handshakes_failed, 1u);
  // A named send needs the same handshake, and is dropped: no echo comes back.
  Echo ping{self.pid(), 1, {}};
  SNOW_CO_RETURN_IF_ERROR(dist::SendNamed(self, "echo", a->name(), ping));
  absl::StatusOr<Echo> reply = co_await self.ReceiveFor<Echo>(absl::Seconds(2));
  EXPECT_THAT(reply, StatusIs(absl::StatusCode::kDeadlineExceeded));
  co_return absl::OkStatus();
}

Task<absl::Status> DialWithRightCookie(Self self, std::reference_wrapper<NodeProcess> a_ref) {
  NodeProcess* a = &a_ref.get();
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, TestNodeOptions()));
  SNOW_CO_RETURN_IF_ERROR(co_await dist::Connect(self, a->name()));
  absl::StatusOr<Pid> echo = co_await EchoNamed(self, a->name(), 2);
  EXPECT_THAT(echo, IsOk());
  co_return absl::OkStatus();
}

TEST(DistAuthTest, WrongCookieIsRejectedWhenDialingAndTheNodeKeepsServing) {
  NodeProcess a = StartChild({.name = "a@127.0.0.1:0"});
  EXPECT_THAT(RunAsNode(DialWithWrongCookie, std::ref(a)), IsOk());
  EXPECT_TRUE(Alive(a));
  // A fresh node with the right cookie still gets in and is answered.
  EXPECT_THAT(RunAsNode(DialWithRightCookie, std::ref(a)), IsOk());
  EXPECT_TRUE(Alive(a));
}

Task<absl::Status> DialedWithWrongCookie(Self self) {
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, TestNodeOptions()));
  dist::MonitorNodes(self);
  std::string me = dist::SelfNode(self);
  // NodeProcess::Start blocks this shard only until the child prints "up", before it dials.
  NodeProcess bad =
      StartChild({.name = "bad@127.0.0.1:0", .cookie = "not-the-cookie", .connect = {me}});
  absl::StatusOr<std::string> failed =
      co_await WaitForLineOffShard(bad, "connect-failed", absl::Seconds(20));
  EXPECT_THAT(failed, IsOk());
  if (failed.ok()) {
    EXPECT_THAT(*failed, HasSubstr(me));
    EXPECT_THAT(*failed, HasSubstr("UNAUTHENTICATED"));
  }
  EXPECT_TRUE(Alive(bad));
  EXPECT_THAT(dist::Nodes(self), IsEmpty());
  EXPECT_GE(dist::Stats(self).handshakes_failed, 1u);
  absl::StatusOr<dist::NodeUp> early = co_await self.ReceiveFor<dist::NodeUp>(absl::ZeroDuration());
  EXPECT_THAT(early, StatusIs(absl::StatusCode::kDeadlineExceeded));

  // This node keeps accepting: a child with the right cookie connects and answers.
  NodeProcess good = StartChild({.name = "good@127.0.0.1:0", .connect = {me}});
  auto is_good = [name = good.name()](const dist::NodeUp& up) { return up.node == name; };
  absl::StatusOr<dist::NodeUp> up = co_await self.ReceiveFor<dist::NodeUp>(kReplyTimeout, is_good);
  EXPECT_THAT(up, IsOk());
  absl::StatusOr<Pid> echo = co_await EchoNamed(self, good.name(), 3);
  EXPECT_THAT(echo, IsOk());
  co_return absl::OkStatus();
}

TEST(DistAuthTest, WrongCookieIsRejectedWhenDialedAndTheNodeKeepsServing) {
  EXPECT_THAT(RunAsNode(DialedWithWrongCookie), IsOk());
}

}  // namespace
}  // namespace snow::dist_testing
