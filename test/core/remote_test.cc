// The transport seam (core/remote.h), through a transport that carries a node's messages back to
// itself: what it is handed for node slot 1 it rebuilds and delivers to the local actor with the
// same shard and serial, the way dist/ rebuilds a decoded message.
#include "snow/core/remote.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "snow/core/snow.h"
#include "snow/test/testing/co_test.h"
#include "snow/test/testing/counted.h"

namespace snow {
namespace {

using testing::IsOk;
using testing::StatusIs;

struct Payload : testing::Counted<Payload> {
  int n = 0;
  std::string text;
};
struct Unregistered {};
struct Marker {};

// What the transport keeps in Payload's codec slot (dist/ keeps its RemoteType there).
constexpr int kPayloadCodec = 1;

class Loopback final : public Transport {
 public:
  void Route(RemoteEnvelope e) override {
    const Pid local = Pid::FromParts(0, e.to().shard(), e.to().serial());
    if (e.is_signal()) {
      remote::Undeliverable(std::move(e), NoConnectionReason());
      return;
    }
    if (e.codec() != &kPayloadCodec) {
      remote::Undeliverable(std::move(e), absl::UnavailableError("no codec"));
      return;
    }
    RemoteEnvelope copy = RemoteEnvelope::Emplace<Payload>(local);
    Payload& value = copy.mutable_value<Payload>();
    value.n = e.value<Payload>().n;
    value.text = e.value<Payload>().text;
    remote::Deliver(std::move(copy));
  }
  std::string PidText(Pid pid) const override {
    return absl::StrCat("<loop.", pid.shard(), ".", pid.serial(), ">");
  }
  std::string NodeName(Pid) const override { return "loop"; }
};

Pid OnNodeOne(Pid pid) { return Pid::FromParts(1, pid.shard(), pid.serial()); }

absl::Status InstallLoopback(Self self) {
  RemoteCodecSlot<Payload>().store(&kPayloadCodec, std::memory_order_release);
  return self.runtime().SetTransport(std::make_unique<Loopback>());
}

SNOW_CO_TEST(RemoteSeamTest, AMessageForAnotherNodeGoesThroughTheTransportAndArrivesRebuilt) {
  EXPECT_THAT(InstallLoopback(self), IsOk());
  {
    Payload p;
    p.n = 7;
    p.text = "across";
    self.Send(OnNodeOne(self.pid()), p);
  }
  Payload got = co_await self.Receive<Payload>();
  EXPECT_EQ(got.n, 7);
  EXPECT_EQ(got.text, "across");
  EXPECT_EQ(Payload::live.load(), 1);  // `got`: the sent one and the rebuilt one are gone
  EXPECT_EQ(self.runtime().PidText(self.pid()), absl::StrCat("<loop.0.", self.pid().serial(), ">"));
  co_return absl::OkStatus();
}

SNOW_CO_TEST(RemoteSeamTest, ATransportOnlyOnce) {
  EXPECT_THAT(InstallLoopback(self), IsOk());
  absl::Status again = self.runtime().SetTransport(std::make_unique<Loopback>());
  EXPECT_THAT(again, StatusIs(absl::StatusCode::kAlreadyExists));
  co_return absl::OkStatus();
}

SNOW_CO_TEST(RemoteSeamTest, AMessageTheTransportCannotCarryIsDroppedAndCounted) {
  EXPECT_THAT(InstallLoopback(self), IsOk());
  const uint64_t before = self.runtime().stats().messages_dropped;
  self.Send(OnNodeOne(self.pid()), Unregistered{});
  EXPECT_EQ(self.runtime().stats().messages_dropped, before + 1);
  EXPECT_EQ(self.mailbox_size(), 0u);
  co_return absl::OkStatus();
}

SNOW_CO_TEST(RemoteSeamTest, ALinkTheTransportCannotCarryExitsWithNoconnection) {
  EXPECT_THAT(InstallLoopback(self), IsOk());
  self.TrapExits();
  const Pid far = OnNodeOne(Pid::FromParts(0, 0, 999'999));
  self.Link(far);
  Exit exit = co_await self.Receive<Exit>();
  EXPECT_EQ(exit.from, far);
  EXPECT_THAT(exit.reason, StatusIs(absl::StatusCode::kUnavailable));
  co_return absl::OkStatus();
}

// On shard 1: receives a Payload then a Marker, in that order, and reports to `parent`.
Task<absl::Status> OrderWitness(Self self, Pid parent) {
  Payload first = co_await self.Receive<Payload>();
  co_await self.Receive<Marker>();
  self.Send(parent, first.n);
  co_return absl::OkStatus();
}

Task<absl::Status> SubmitToKeepsOrder(Self self) {
  Pid witness = self.Spawn(SpawnOptions{.placement = Placement::kShard, .shard = 1}, OrderWitness,
                           self.pid());
  Payload p;
  p.n = 42;
  self.Send(witness, p);
  // Runs on shard 1, behind the Payload this shard already sent there.
  self.runtime().SubmitTo(1, [witness] {
    EXPECT_EQ(remote::ThisShard(), 1u);
    remote::Deliver(RemoteEnvelope::Message(witness, Marker{}));
  });
  absl::StatusOr<int> n = co_await self.ReceiveFor<int>(absl::Seconds(10));
  if (!n.ok()) co_return n.status();
  EXPECT_EQ(*n, 42);
  co_return absl::OkStatus();
}

TEST(RemoteSeamTest, SubmitToRunsOnTheTargetShardAfterWhatThisShardSentThere) {
  EXPECT_THAT(testing::RunOnTestRuntime(testing::RealRuntimeOptions(2), SubmitToKeepsOrder),
              IsOk());
}

}  // namespace
}  // namespace snow
