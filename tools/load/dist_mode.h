// File: tools/load/dist_mode.h
//
// The dist/ measurements (docs/benchmarks.md: W6, W7, W7b, W8 and the W7c latency-under-bulk
// figure), written once and driven from two places: snow_bench (perf/workloads_dist.cc), which
// starts its own snow-node processes, and `snow-load dist`, which measures a node already running.
//
// Each function runs in an actor of a runtime that is already a node (dist::Start) and talks to
// the built-in services of tools/node/services.h on the peer:
//
//   SNOW_CO_ASSIGN_OR_RETURN(DistPeer peer, co_await FindDistServices(self, "b@127.0.0.1:4371"));
//   SNOW_CO_ASSIGN_OR_RETURN(RoundTrips rt, co_await EchoRoundTrips(self, peer.echo, 100'000, 64));
//   rt.latency.Percentile(50);
//
// Call them from the shard that called dist::Connect for the peer: a session lives on that shard,
// and a send from another shard is first forwarded across shards (a wake-up per batch).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "snow/core/snow.h"
#include "snow/tools/load/histogram.h"

namespace snow::load {

// The peer's echo and sink actors, found by asking for them by name once: the runs then send
// to PIDs (a named send carries the name in every frame and is capped at 256 KiB).
struct DistPeer {
  std::string node;
  Pid echo;
  Pid sink;
};
// Connects to `node` (if not connected) and finds its services.
Task<absl::StatusOr<DistPeer>> FindDistServices(Self self, std::string node);

struct RoundTrips {
  LatencyHistogram latency;  // nanoseconds per round trip
  uint64_t count = 0;
  double seconds = 0;
};
// `count` round trips of an Echo with `payload_bytes` of payload, one at a time (W6, W8).
Task<absl::StatusOr<RoundTrips>> EchoRoundTrips(Self self, Pid echo, uint64_t count,
                                                size_t payload_bytes);

struct StreamPlan {
  uint64_t messages = 0;
  size_t payload_bytes = 64;
  uint64_t stream = 1;  // the sink's stream id; distinct per run
  // Flow control: after each send, dist::WaitForRoom, so that a sender faster than the network
  // waits instead of filling the queue to NodeOptions::max_queue_bytes and losing messages.
  // Off (W7): one ack at the end, nothing else.
  bool wait_for_room = false;
};
struct StreamResult {
  uint64_t messages = 0;  // sent
  uint64_t received = 0;  // by the sink
  uint64_t lost = 0;
  uint64_t reordered = 0;
  uint64_t payload_bytes = 0;       // received by the sink
  uint64_t dropped_queue_full = 0;  // by this node during the run (dist::Stats)
  double seconds = 0;               // first send to the sink's final report
};
// Sends `plan.messages` SinkItems to `sink` as fast as the sender can, then one SinkQuery; the
// time runs until its SinkReport arrives (W7, W7b, W8).
Task<absl::StatusOr<StreamResult>> SinkStream(Self self, Pid sink, StreamPlan plan);

struct LatencyUnderBulk {
  LatencyHistogram idle;    // echo round trips with nothing else on the connection
  LatencyHistogram during;  // while a `bulk_bytes` message to the sink is in flight
  double bulk_seconds = 0;  // from the bulk send to the sink's report on it
  double send_seconds = 0;  // how long the Send call itself took (it encodes the message)
};
// W7c: how much a large message to one actor delays small ones to another on the same peer.
Task<absl::StatusOr<LatencyUnderBulk>> EchoDuringBulk(Self self, const DistPeer& peer,
                                                      size_t bulk_bytes, uint64_t idle_round_trips);

// `snow-load dist ...`: argv[1] is "dist". Returns the exit status.
int RunDistLoad(int argc, char** argv);

}  // namespace snow::load
