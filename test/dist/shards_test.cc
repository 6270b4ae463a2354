// Per-pair order across shards on both sides: a sender on every shard of the test node streams
// sequenced messages to a sink on every shard of a snow-node, each (sender, sink) pair its own
// stream, and every stream must arrive complete and in order; with and without TLS, and between
// nodes whose shard counts differ.
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "snow/test/dist/dist_testing.h"

namespace snow::dist_testing {
namespace {

using node_services::SinkItem;
using node_services::SinkQuery;
using node_services::SinkReport;
using ::snow::testing::IsOk;

struct Plan {
  int child_shards = 1;
  uint64_t messages = 0;  // in all, spread over the pairs
};

// Streams `count` items to `sink`, then asks it for the stream's report (the query follows the
// items: one sender, one receiver) and hands the report to `parent`.
Task<absl::Status> StreamTo(Self self, Pid sink, uint64_t stream, uint64_t count, Pid parent) {
  SinkItem item;
  item.stream = stream;
  item.payload.bytes = std::string(8, 's');
  for (uint64_t seq = 0; seq < count; ++seq) {
    item.seq = seq;
    self.Send(sink, item);
    co_await MaybeYield();
  }
  SinkQuery query{self.pid(), stream, count};
  self.Send(sink, query);
  absl::StatusOr<SinkReport> report = co_await self.ReceiveFor<SinkReport>(absl::Seconds(120));
  if (!report.ok()) co_return report.status();
  self.Send(parent, *report);
  co_return absl::OkStatus();
}

Task<absl::Status> EveryShardToEveryShard(Self self, std::reference_wrapper<NodeProcess> child_ref,
                                          Plan plan, bool tls) {
  NodeProcess* child = &child_ref.get();
  dist::NodeOptions options = TestNodeOptions();
  options.tls = tls;
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, options));
  SNOW_CO_RETURN_IF_ERROR(co_await dist::Connect(self, child->name()));
  // The sinks' PIDs, one per shard of the child, from empty queries by name.
  std::vector<Pid> sinks;
  for (int shard = 0; shard < plan.child_shards; ++shard) {
    SinkQuery probe{self.pid(), 0, 0};
    SNOW_CO_RETURN_IF_ERROR(
        dist::SendNamed(self, absl::StrCat("sink.", shard), child->name(), probe));
    absl::StatusOr<SinkReport> probed = co_await self.ReceiveFor<SinkReport>(kReplyTimeout);
    SNOW_CO_RETURN_IF_ERROR(probed.status());
    EXPECT_EQ(probed->sink.shard(), static_cast<ShardId>(shard));
    sinks.push_back(probed->sink);
  }
  const uint32_t my_shards = self.runtime().shard_count();
  const uint64_t pairs = uint64_t{my_shards} * sinks.size();
  const uint64_t per_pair = plan.messages / pairs;
  absl::Time start = absl::Now();
  for (ShardId shard = 0; shard < my_shards; ++shard) {
    for (size_t j = 0; j < sinks.size(); ++j) {
      const uint64_t stream = 1000 + uint64_t{shard} * 100 + j;
      Pid sender = self.SpawnLink(SpawnOptions{.placement = Placement::kShard, .shard = shard},
                                  StreamTo, sinks[j], stream, per_pair, self.pid());
      EXPECT_EQ(sender.shard(), shard);
    }
  }
  for (uint64_t i = 0; i < pairs; ++i) {
    absl::StatusOr<SinkReport> report = co_await self.ReceiveFor<SinkReport>(absl::Seconds(180));
    SNOW_CO_RETURN_IF_ERROR(report.status());
    EXPECT_EQ(report->received, per_pair) << "stream " << report->stream;
    EXPECT_EQ(report->lost, 0u) << "stream " << report->stream;
    EXPECT_EQ(report->reordered, 0u) << "stream " << report->stream;
  }
  std::fprintf(stderr, "%llu messages over %llu pairs (%u -> %d shards, %s): %s\n",
               static_cast<unsigned long long>(per_pair * pairs),
               static_cast<unsigned long long>(pairs), my_shards, plan.child_shards,
               tls ? "TLS" : "plain", absl::FormatDuration(absl::Now() - start).c_str());
  dist::DistStats stats = dist::Stats(self);
  EXPECT_EQ(stats.dropped_queue_full, 0u);
  EXPECT_EQ(stats.dropped_no_connection, 0u);
  // This node dialed, so it dialed every lane but the one the first connection is. They come up
  // while the stream runs; a long stream must have moved onto them.
  const uint64_t lanes = uint64_t{my_shards} * plan.child_shards - 1;
  EXPECT_LE(stats.lanes_up, lanes);
  if (plan.messages >= 1'000'000) {
    EXPECT_GT(stats.lanes_up, 0u);
  }
  std::fprintf(stderr, "lanes up: %llu of %llu\n", static_cast<unsigned long long>(stats.lanes_up),
               static_cast<unsigned long long>(lanes));
  co_return absl::OkStatus();
}

absl::Status RunBetween(uint32_t my_shards, Plan plan, bool tls) {
  NodeProcess child =
      StartChild({.name = "c@127.0.0.1:0", .tls = tls, .shards = plan.child_shards});
  node_services::RegisterServiceMessages();
  return testing::RunOnTestRuntime(testing::RealRuntimeOptions(my_shards), EveryShardToEveryShard,
                                   std::ref(child), plan, tls);
}

class DistShardsTest : public ::testing::TestWithParam<bool> {};

TEST_P(DistShardsTest, AMillionMessagesFromEveryShardToEveryShardArriveCompleteAndInOrder) {
  EXPECT_THAT(RunBetween(2, {.child_shards = 2, .messages = 1'000'000}, GetParam()), IsOk());
}

TEST_P(DistShardsTest, ANodeWithOneShardTalksToOneWithTwo) {
  EXPECT_THAT(RunBetween(1, {.child_shards = 2, .messages = 100'000}, GetParam()), IsOk());
}

TEST_P(DistShardsTest, ANodeWithOneShardTalksToOneWithThree) {
  EXPECT_THAT(RunBetween(1, {.child_shards = 3, .messages = 90'000}, GetParam()), IsOk());
}

TEST_P(DistShardsTest, ANodeWithTwoShardsTalksToOneWithOne) {
  EXPECT_THAT(RunBetween(2, {.child_shards = 1, .messages = 100'000}, GetParam()), IsOk());
}

INSTANTIATE_TEST_SUITE_P(Tls, DistShardsTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? std::string("Tls") : std::string("PlainTcp");
                         });

}  // namespace
}  // namespace snow::dist_testing
