#include "snow/net/hangup_watch.h"

#include <sys/socket.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "snow/core/snow.h"
#include "snow/net/tcp.h"
#include "snow/test/testing/co_test.h"

namespace snow::net {
namespace {

using ::snow::testing::IsOk;
using ::snow::testing::RealRuntimeOptions;
using ::snow::testing::RunOnTestRuntime;
using ::snow::testing::StatusIs;

constexpr absl::Duration kTimeout = absl::Seconds(10);

struct Pair {
  TcpStream near;  // watched
  TcpStream far;   // the peer's end
};

// A connected pair over loopback through a listener with `closes_with_process` (so that option's
// Accept is exercised too).
Task<absl::StatusOr<Pair>> ConnectedPair() {
  ListenOptions options;
  options.closes_with_process = true;
  SNOW_CO_ASSIGN_OR_RETURN(TcpListener listener,
                           TcpListener::Bind(SocketAddress::Loopback(), options));
  absl::StatusOr<TcpStream> far = co_await TcpStream::Connect(listener.local_address(), kTimeout);
  SNOW_CO_RETURN_IF_ERROR(far.status());
  absl::StatusOr<TcpStream> near = co_await listener.Accept(kTimeout);
  SNOW_CO_RETURN_IF_ERROR(near.status());
  co_return Pair{std::move(*near), std::move(*far)};
}

Task<absl::Status> ReportsWhatArrivedThenTheEnd(Self) {
  SNOW_CO_ASSIGN_OR_RETURN(std::unique_ptr<HangupWatch> watch, HangupWatch::Create());
  absl::StatusOr<Pair> pair = co_await ConnectedPair();
  SNOW_CO_RETURN_IF_ERROR(pair.status());
  SNOW_CO_RETURN_IF_ERROR(watch->Add(std::move(pair->near), 7));
  EXPECT_EQ(watch->size(), 1u);

  SNOW_CO_RETURN_IF_ERROR(co_await pair->far.WriteAll(std::string("F")));
  absl::StatusOr<std::vector<Hangup>> news = co_await watch->Wait();
  SNOW_CO_RETURN_IF_ERROR(news.status());
  EXPECT_EQ(news->size(), 1u);
  EXPECT_EQ(news->front().token, 7u);
  EXPECT_EQ(news->front().received, "F");
  EXPECT_FALSE(news->front().ended);
  EXPECT_EQ(watch->size(), 1u) << "a socket that has not ended is still watched";

  pair->far.Reset();
  news = co_await watch->Wait();
  SNOW_CO_RETURN_IF_ERROR(news.status());
  EXPECT_EQ(news->size(), 1u);
  EXPECT_EQ(news->front().token, 7u);
  EXPECT_EQ(news->front().received, "");
  EXPECT_TRUE(news->front().ended);
  EXPECT_EQ(watch->size(), 0u) << "an ended socket is no longer watched";
  co_return absl::OkStatus();
}

TEST(HangupWatchTest, ReportsWhatArrivedThenTheEnd) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(1), ReportsWhatArrivedThenTheEnd), IsOk());
}

Task<absl::Status> RemoveSaysFarewellAndCloses(Self) {
  SNOW_CO_ASSIGN_OR_RETURN(std::unique_ptr<HangupWatch> watch, HangupWatch::Create());
  absl::StatusOr<Pair> first = co_await ConnectedPair();
  SNOW_CO_RETURN_IF_ERROR(first.status());
  absl::StatusOr<Pair> second = co_await ConnectedPair();
  SNOW_CO_RETURN_IF_ERROR(second.status());
  SNOW_CO_RETURN_IF_ERROR(watch->Add(std::move(first->near), 1));
  EXPECT_THAT(watch->Add(std::move(second->near), 1), StatusIs(absl::StatusCode::kAlreadyExists));
  absl::StatusOr<Pair> third = co_await ConnectedPair();
  SNOW_CO_RETURN_IF_ERROR(third.status());
  SNOW_CO_RETURN_IF_ERROR(watch->Add(std::move(third->near), 3));

  watch->Remove(1, "bye");
  std::string said(3, '\0');
  SNOW_CO_RETURN_IF_ERROR(co_await first->far.ReadExactly(said, kTimeout));
  EXPECT_EQ(said, "bye");
  char more = 0;
  absl::StatusOr<size_t> end = co_await first->far.ReadSome(std::span<char>(&more, 1), kTimeout);
  EXPECT_THAT(end, IsOk());
  EXPECT_EQ(end.value_or(1), 0u) << "the socket did not end after the farewell";
  EXPECT_EQ(watch->size(), 1u);

  // Dropping the watch closes what it holds, without a word.
  watch.reset();
  end = co_await third->far.ReadSome(std::span<char>(&more, 1), kTimeout);
  EXPECT_THAT(end, IsOk());
  EXPECT_EQ(end.value_or(1), 0u) << "the socket outlived its watch";
  co_return absl::OkStatus();
}

TEST(HangupWatchTest, RemoveSaysFarewellAndCloses) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(1), RemoveSaysFarewellAndCloses), IsOk());
}

// A listener waiting through epoll still stops as any listener does.
Task<absl::Status> StoppedListenerEndsItsAccept(Self) {
  ListenOptions options;
  options.closes_with_process = true;
  SNOW_CO_ASSIGN_OR_RETURN(TcpListener listener,
                           TcpListener::Bind(SocketAddress::Loopback(), options));
  TcpListener::StopAccepting(listener.fd());
  absl::StatusOr<TcpStream> accepted = co_await listener.Accept(kTimeout);
  EXPECT_FALSE(accepted.ok());
  EXPECT_NE(accepted.status().code(), absl::StatusCode::kDeadlineExceeded);
  co_return absl::OkStatus();
}

TEST(HangupWatchTest, AListenerThatClosesWithItsProcessStillStops) {
  EXPECT_THAT(RunOnTestRuntime(RealRuntimeOptions(1), StoppedListenerEndsItsAccept), IsOk());
}

}  // namespace
}  // namespace snow::net
