// Bulk traffic: a million sequenced messages from the test node to a snow-node's sink.
#include <cstdio>
#include <string>

#include "test/dist/dist_testing.h"

namespace snow::dist_testing {
namespace {

using node_services::SinkItem;
using node_services::SinkQuery;
using node_services::SinkReport;
using ::snow::testing::IsOk;

constexpr uint64_t kMessages = 1'000'000;
constexpr uint64_t kStream = 42;

Task<absl::Status> MillionMessages(Self self, NodeProcess* a) {
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, TestNodeOptions()));
  SNOW_CO_RETURN_IF_ERROR(co_await dist::Connect(self, a->name()));
  absl::Time start = absl::Now();
  SinkItem item;
  item.stream = kStream;
  item.payload.bytes = std::string(16, 'x');
  for (uint64_t seq = 0; seq < kMessages; ++seq) {
    item.seq = seq;
    SNOW_CO_RETURN_IF_ERROR(dist::SendNamed(self, "sink", a->name(), item));
    // Lets the session writer (an actor on this shard) drain the queue as it grows.
    co_await MaybeYield();
  }
  SinkQuery query{self.pid(), kStream, kMessages};
  SNOW_CO_RETURN_IF_ERROR(dist::SendNamed(self, "sink", a->name(), query));
  // The query travels behind every item, on the same connection, to the same actor.
  absl::StatusOr<SinkReport> report = co_await self.ReceiveFor<SinkReport>(absl::Seconds(90));
  absl::Duration took = absl::Now() - start;
  std::fprintf(stderr, "%llu messages to %s and the report back: %s\n",
               static_cast<unsigned long long>(kMessages), a->name().c_str(),
               absl::FormatDuration(took).c_str());
  SNOW_CO_RETURN_IF_ERROR(report.status());
  EXPECT_EQ(report->stream, kStream);
  EXPECT_EQ(report->received, kMessages);
  EXPECT_EQ(report->lost, 0u);
  EXPECT_EQ(report->reordered, 0u);
  EXPECT_EQ(report->bytes, kMessages * 16);
  dist::DistStats stats = dist::Stats(self);
  EXPECT_EQ(stats.dropped_queue_full, 0u);
  EXPECT_EQ(stats.dropped_no_connection, 0u);
  EXPECT_GE(stats.messages_sent, kMessages + 1);
  co_return absl::OkStatus();
}

TEST(DistTrafficTest, MillionSequencedMessagesArriveCompleteAndInOrder) {
  NodeProcess a = StartChild({.name = "a@127.0.0.1:0"});
  EXPECT_THAT(RunAsNode(MillionMessages, &a), IsOk());
}

}  // namespace
}  // namespace snow::dist_testing
