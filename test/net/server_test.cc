#include "snow/net/server.h"

#include <array>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "snow/core/snow.h"
#include "snow/test/testing/co_test.h"

namespace snow::net {
namespace {

using ::snow::testing::IsOk;
using ::snow::testing::RealRuntimeOptions;
using ::snow::testing::RunOnTestRuntime;
using ::snow::testing::StatusIs;

constexpr absl::Duration kTimeout = absl::Seconds(10);

struct Served {
  ShardId shard;
};

// Answers one message with the shard it runs on.
Task<absl::Status> ShardReporter(Self self, TcpStream stream, Pid main) {
  std::array<char, 16> buffer;
  absl::Status read = co_await stream.ReadExactly(std::span<char>(buffer.data(), 4));
  SNOW_CO_RETURN_IF_ERROR(read);
  std::string reply = std::to_string(self.shard());
  absl::Status written = co_await stream.WriteAll(reply);
  SNOW_CO_RETURN_IF_ERROR(written);
  self.Send(main, Served{self.shard()});
  absl::Status closed = co_await stream.Close();
  co_return closed;
}

Task<absl::Status> ServesOnEveryShard(Self self, Distribution distribution) {
  auto limit = std::make_shared<ConnectionLimit>(1000);
  ServeOptions options{.listen = {.limit = limit}, .distribution = distribution};
  SNOW_CO_ASSIGN_OR_RETURN(TcpServer server, TcpServer::Start(self, SocketAddress::Loopback(),
                                                              options, ShardReporter, self.pid()));
  EXPECT_NE(server.address().port(), 0);
  constexpr int kClients = 40;
  std::array<int, 2> per_shard{};
  for (int i = 0; i < kClients; ++i) {
    absl::StatusOr<TcpStream> stream = co_await TcpStream::Connect(server.address(), kTimeout);
    SNOW_CO_RETURN_IF_ERROR(stream.status());
    absl::Status written = co_await stream->WriteAll(std::string("ping"));
    SNOW_CO_RETURN_IF_ERROR(written);
    absl::StatusOr<Served> served = co_await self.ReceiveFor<Served>(kTimeout);
    SNOW_CO_RETURN_IF_ERROR(served.status());
    ++per_shard[served->shard];
  }
  EXPECT_EQ(limit->accepted(), static_cast<uint64_t>(kClients));
  // Both shards served connections (for kReusePort: 40 ephemeral ports all hashing to one of
  // two listeners has odds of 2^-39).
  EXPECT_GT(per_shard[0], 0);
  EXPECT_GT(per_shard[1], 0);
  server.Stop();  // shuts every listener down before it returns: no connect gets in after it
  absl::StatusOr<TcpStream> late = co_await TcpStream::Connect(server.address(), kTimeout);
  EXPECT_THAT(late, StatusIs(absl::StatusCode::kUnavailable, "refused"));
  co_return absl::OkStatus();
}

TEST(TcpServerTest, ReusePortAcceptsOnEveryShard) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(2), ServesOnEveryShard, Distribution::kReusePort),
              IsOk());
}

TEST(TcpServerTest, HandOffSpreadsConnectionsOverTheShards) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(2), ServesOnEveryShard, Distribution::kHandOff),
              IsOk());
}

// Writes `greeting` to each connection.
Task<absl::Status> Greets(Self, TcpStream stream, std::string greeting) {
  absl::Status written = co_await stream.WriteAll(greeting);
  SNOW_CO_RETURN_IF_ERROR(written);
  absl::Status closed = co_await stream.Close();
  co_return closed;
}

Task<absl::StatusOr<std::string>> ReadGreeting(SocketAddress address, size_t length) {
  absl::StatusOr<TcpStream> stream = co_await TcpStream::Connect(address, kTimeout);
  SNOW_CO_RETURN_IF_ERROR(stream.status());
  std::string greeting(length, '\0');
  absl::Status read = co_await stream->ReadExactly(greeting);
  SNOW_CO_RETURN_IF_ERROR(read);
  co_return greeting;
}

// Start takes a handler and its arguments as Spawn does: a string literal for a std::string
// parameter, a capture-less lambda for the handler.
Task<absl::Status> ServesWithArgumentsAsSpawnTakesThem(Self self) {
  SNOW_CO_ASSIGN_OR_RETURN(TcpServer literal,
                           TcpServer::Start(self, SocketAddress::Loopback(), {}, Greets, "hello"));
  auto lambda = [](Self, TcpStream stream, int n) -> Task<absl::Status> {
    std::string text = std::to_string(n);
    absl::Status written = co_await stream.WriteAll(text);
    co_return written;
  };
  SNOW_CO_ASSIGN_OR_RETURN(TcpServer from_lambda,
                           TcpServer::Start(self, SocketAddress::Loopback(), {}, lambda, 42));
  absl::StatusOr<std::string> hello = co_await ReadGreeting(literal.address(), 5);
  EXPECT_THAT(hello, IsOk());
  EXPECT_EQ(hello.value_or(""), "hello");
  absl::StatusOr<std::string> number = co_await ReadGreeting(from_lambda.address(), 2);
  EXPECT_THAT(number, IsOk());
  EXPECT_EQ(number.value_or(""), "42");
  literal.Stop();
  from_lambda.Stop();
  co_return absl::OkStatus();
}

TEST(TcpServerTest, TakesTheHandlerAndItsArgumentsAsSpawnDoes) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(1), ServesWithArgumentsAsSpawnTakesThem), IsOk());
}

}  // namespace
}  // namespace snow::net
