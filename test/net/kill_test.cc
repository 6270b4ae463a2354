// Killing an actor at any point where it can be suspended leaves nothing behind: its awaiters
// unregister, its timers are removed, its in-flight I/O is cancelled before its buffers go, and
// everything its frame held is destroyed once. The same holds when the runtime stops with such
// actors alive. Run under ASan (the sanitizer build runs every test) this also proves the
// absence of use-after-free and leaks on those paths.
#include <array>
#include <atomic>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "snow/core/snow.h"
#include "snow/net/socket_address.h"
#include "snow/net/tcp.h"
#include "snow/net/tls.h"
#include "snow/test/testing/co_test.h"
#include "snow/test/testing/counted.h"

namespace snow {
namespace {

using ::snow::net::SocketAddress;
using ::snow::net::TcpListener;
using ::snow::net::TcpStream;
using ::snow::net::TlsContext;
using ::snow::net::TlsStream;
using ::snow::testing::IsOk;
using ::snow::testing::RealRuntimeOptions;
using ::snow::testing::StatusIs;

constexpr absl::Duration kForever = absl::Hours(1);
constexpr absl::Duration kConnectTimeout = absl::Seconds(10);

// Each blocked actor's frame holds one.
struct Counted : testing::Counted<Counted> {};

// Sent by each blocked actor just before the await it blocks in. The await begins in the same
// run of the actor, so by the time the main actor reads this, the actor is suspended there.
struct Blocking {
  Pid pid;
};

struct Never {
  using Reply = int;
};

Task<absl::Status> InReceiveFor(Self self, Pid main, Counted) {
  self.Send(main, Blocking{self.pid()});
  absl::StatusOr<int> n = co_await self.ReceiveFor<int>(kForever);
  co_return n.status();
}

Task<absl::Status> InSleep(Self self, Pid main, Counted) {
  self.Send(main, Blocking{self.pid()});
  co_await Sleep(kForever);
  co_return absl::OkStatus();
}

// A server that takes requests and never answers.
Task<absl::Status> Swallows(Self self, Pid main, Counted) {
  self.Send(main, Blocking{self.pid()});
  for (;;) {
    Request<Never> request = co_await self.Receive<Request<Never>>();
    (void)request;
  }
}

Task<absl::Status> InCall(Self self, Pid main, Pid server, Counted) {
  self.Send(main, Blocking{self.pid()});
  absl::StatusOr<int> reply = co_await Call(self, server, Never{}, kForever);
  co_return reply.status();
}

// Accepts connections and keeps them open without reading or writing.
Task<absl::Status> HoldsConnections(Self self, Pid main, TcpListener listener, Counted) {
  std::vector<TcpStream> held;
  self.Send(main, Blocking{self.pid()});
  for (;;) {
    absl::StatusOr<TcpStream> stream = co_await listener.Accept();
    if (!stream.ok()) co_return stream.status();
    held.push_back(std::move(*stream));
  }
}

Task<absl::Status> ReadsOnce(TcpStream* stream) {
  std::array<char, 16> buffer;
  absl::StatusOr<size_t> n = co_await stream->ReadSome(buffer);
  co_return n.status();
}

Task<absl::Status> ReceivesOnce(Self self) {
  int n = co_await self.Receive<int>();
  (void)n;
  co_return absl::OkStatus();
}

// Joins a group whose children wait in socket reads and in a receive.
Task<absl::Status> InJoin(Self self, Pid main, SocketAddress holder, Counted) {
  absl::StatusOr<TcpStream> first = co_await TcpStream::Connect(holder, kConnectTimeout);
  SNOW_CO_RETURN_IF_ERROR(first.status());
  absl::StatusOr<TcpStream> second = co_await TcpStream::Connect(holder, kConnectTimeout);
  SNOW_CO_RETURN_IF_ERROR(second.status());
  TaskGroup group;
  group.Start(ReadsOnce(&*first));
  group.Start(ReadsOnce(&*second));
  group.Start(ReceivesOnce(self));
  self.Send(main, Blocking{self.pid()});
  absl::Status joined = co_await group.Join();
  co_return joined;
}

// A TLS client whose server (a holder) never answers its ClientHello.
Task<absl::Status> InTlsHandshake(Self self, Pid main, SocketAddress holder, Counted) {
  absl::StatusOr<TlsContext> context = TlsContext::Create({.role = net::TlsRole::kClient});
  SNOW_CO_RETURN_IF_ERROR(context.status());
  absl::StatusOr<TcpStream> tcp = co_await TcpStream::Connect(holder, kConnectTimeout);
  SNOW_CO_RETURN_IF_ERROR(tcp.status());
  self.Send(main, Blocking{self.pid()});
  absl::StatusOr<TlsStream> tls = co_await TlsStream::Handshake(*context, std::move(*tcp));
  co_return tls.status();
}

// Starts one of each kind of blocked actor on every shard, waits until all are blocked, and
// returns them (the holders, which the others need, are not among them).
Task<absl::StatusOr<std::vector<Pid>>> StartBlockedActors(Self self, uint32_t shards) {
  std::vector<Pid> blocked;
  int holders = 0;
  std::vector<SocketAddress> holder_addresses;
  for (uint32_t shard = 0; shard < shards; ++shard) {
    SpawnOptions on_shard{.placement = Placement::kShard, .shard = static_cast<ShardId>(shard)};
    absl::StatusOr<TcpListener> listener = TcpListener::Bind(SocketAddress::Loopback());
    if (!listener.ok()) co_return listener.status();
    holder_addresses.push_back(listener->local_address());
    self.Spawn(on_shard, HoldsConnections, self.pid(), std::move(*listener), Counted());
    ++holders;
  }
  for (uint32_t shard = 0; shard < shards; ++shard) {
    SpawnOptions on_shard{.placement = Placement::kShard, .shard = static_cast<ShardId>(shard)};
    // The server of this shard's call lives on the other shard.
    SpawnOptions other_shard{.placement = Placement::kShard,
                             .shard = static_cast<ShardId>((shard + 1) % shards)};
    Pid server = self.Spawn(other_shard, Swallows, self.pid(), Counted());
    ++holders;
    SocketAddress holder = holder_addresses[(shard + 1) % shards];
    blocked.push_back(self.Spawn(on_shard, InReceiveFor, self.pid(), Counted()));
    blocked.push_back(self.Spawn(on_shard, InSleep, self.pid(), Counted()));
    blocked.push_back(self.Spawn(on_shard, InCall, self.pid(), server, Counted()));
    blocked.push_back(self.Spawn(on_shard, InJoin, self.pid(), holder, Counted()));
    blocked.push_back(self.Spawn(on_shard, InTlsHandshake, self.pid(), holder, Counted()));
  }
  for (std::size_t i = 0; i < blocked.size() + holders; ++i) {
    absl::StatusOr<Blocking> b = co_await self.ReceiveFor<Blocking>(absl::Seconds(30));
    if (!b.ok()) co_return b.status();
  }
  co_return blocked;
}

Task<absl::Status> KillsThemAll(Self self) {
  const uint32_t shards = self.runtime().shard_count();
  int live_before = Counted::live.load();
  absl::StatusOr<std::vector<Pid>> blocked = co_await StartBlockedActors(self, shards);
  SNOW_CO_RETURN_IF_ERROR(blocked.status());
  EXPECT_EQ(blocked->size(), 5u * shards);
  std::vector<Ref> refs;
  for (Pid pid : *blocked) refs.push_back(self.Monitor(pid));
  for (Pid pid : *blocked) self.SendExit(pid, KillReason());
  for (std::size_t i = 0; i < blocked->size(); ++i) {
    absl::StatusOr<Down> down = co_await self.ReceiveFor<Down>(absl::Seconds(30));
    SNOW_CO_RETURN_IF_ERROR(down.status());
    EXPECT_THAT(down->reason, StatusIs(absl::StatusCode::kAborted, "killed")) << down->pid;
  }
  // What is left: the holders and servers, blocked in Accept and Receive, with no timer.
  EXPECT_EQ(Counted::live.load() - live_before, static_cast<int>(2 * shards));
  EXPECT_EQ(self.runtime().stats().timers_pending, 0u);
  co_return absl::OkStatus();
}

TEST(KillTest, ActorsKilledWhereverTheyWaitLeaveNothingBehind) {
  absl::StatusOr<std::unique_ptr<Runtime>> runtime = Runtime::Create(RealRuntimeOptions(2));
  ASSERT_THAT(runtime, IsOk());
  (*runtime)->SpawnMain(KillsThemAll);
  EXPECT_THAT((*runtime)->Wait(), IsOk());
  EXPECT_EQ((*runtime)->stats().live_actors, 0u);
  EXPECT_EQ((*runtime)->stats().timers_pending, 0u);
  EXPECT_EQ(Counted::live.load(), 0);
}

// The same set, alive when the main actor ends: shutdown destroys each where it waits.
Task<absl::Status> EndsWithThemAllBlocked(Self self) {
  absl::StatusOr<std::vector<Pid>> blocked =
      co_await StartBlockedActors(self, self.runtime().shard_count());
  SNOW_CO_RETURN_IF_ERROR(blocked.status());
  EXPECT_GT(self.runtime().stats().timers_pending, 0u);
  co_return absl::OkStatus();
}

TEST(KillTest, ShutdownWithActorsBlockedWhereverTheyWaitLeavesNothingBehind) {
  absl::StatusOr<std::unique_ptr<Runtime>> runtime = Runtime::Create(RealRuntimeOptions(2));
  ASSERT_THAT(runtime, IsOk());
  (*runtime)->SpawnMain(EndsWithThemAllBlocked);
  EXPECT_THAT((*runtime)->Wait(), IsOk());
  EXPECT_EQ((*runtime)->stats().live_actors, 0u);
  EXPECT_EQ((*runtime)->stats().timers_pending, 0u);
  EXPECT_EQ(Counted::live.load(), 0);
}

}  // namespace
}  // namespace snow
