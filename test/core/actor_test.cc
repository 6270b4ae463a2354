#include "core/actor.h"

#include <string>
#include <variant>

#include "test/testing/co_test.h"

namespace snow {
namespace {

using ::snow::testing::IsOk;
using ::snow::testing::StatusIs;

struct Ping {
  Pid from;
  int n;
};
struct Pong {
  int n;
};

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

}  // namespace
}  // namespace snow
