// File: tools/node/services.h
//
// The built-in services of snow-node, and their messages: what tests, snow_bench's W6-W10 and
// the demo talk to on a node started from the command line. Every program that includes this
// header registers these types (dist::Message).
//
//   echo     Echo{from, n, payload}            -> the same Echo back, `from` = the echo actor
//   counter  CounterAdd{from, delta}           -> CounterValue{value} (the running total)
//   sink     SinkItem{stream, seq, payload}    -> nothing; counts per stream
//            SinkQuery{from, stream, expected} -> SinkReport{stream, received, lost, reordered,
//                                                           bytes, sink}; the stream is forgotten
//   sink.S   the same, one on each shard S of the node
//   calls    calls (core/service.h), every reply an i64 but Whoami's:
//            Square{n}    -> n * n
//            Whoami{}     -> the server's PID
//            Later{ms}    -> ms, answered by the server after `ms` (it serves nothing meanwhile)
//            Delegate{n}  -> n + 1, answered by a worker the server spawns (a deferred reply)
//            Hold{}       -> never answered: the caller waits until the server ends
//            SpawnBack{node, to, n} -> a remote spawn of snow.node.reporter(to, n, "spawned back")
//                                      on `node` (its PID, or why not)
//            Stats{}      -> NodeStats: the runtime's and the node's counters (the soak samples it)
//   spawnable "snow.node.reporter"(Pid to, i64 n, string text) (dist/spawn.h): sends
//            Report{self, n, text} to `to`, then waits for a Halt; with n < 0 it ends at once
//            with kAborted(text) instead
//   spawnable "snow.node.noop"() ends at once, normally (snow_bench D2)
//   control  Halt{}                            -> the node exits with status 0
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "snow/core/actor.h"
#include "snow/core/pid.h"
#include "snow/core/task.h"
#include "snow/dist/message.h"
#include "snow/wire/codec.h"

namespace snow::node_services {

struct Echo {
  Pid from;
  int64_t n = 0;
  wire::Binary payload;
  static constexpr dist::Message<Echo> kWire{"snow.node.Echo", "from", "n", "payload"};
};

struct CounterAdd {
  Pid from;
  int64_t delta = 0;
  static constexpr dist::Message<CounterAdd> kWire{"snow.node.CounterAdd", "from", "delta"};
};

struct CounterValue {
  int64_t value = 0;
  static constexpr dist::Message<CounterValue> kWire{"snow.node.CounterValue", "value"};
};

struct SinkItem {
  uint64_t stream = 0;
  uint64_t seq = 0;
  wire::Binary payload;
  static constexpr dist::Message<SinkItem> kWire{"snow.node.SinkItem", "stream", "seq", "payload"};
};

struct SinkQuery {
  Pid from;
  uint64_t stream = 0;
  uint64_t expected = 0;
  static constexpr dist::Message<SinkQuery> kWire{"snow.node.SinkQuery", "from", "stream",
                                                  "expected"};
};

struct SinkReport {
  uint64_t stream = 0;
  uint64_t received = 0;
  uint64_t lost = 0;       // expected - received, when fewer arrived
  uint64_t reordered = 0;  // items whose seq was not the previous one + 1
  uint64_t bytes = 0;      // payload bytes received
  Pid sink;                // the sink actor, for sending to it by PID
  static constexpr dist::Message<SinkReport> kWire{
      "snow.node.SinkReport", "stream", "received", "lost", "reordered", "bytes", "sink"};
};

struct Square {
  using Reply = int64_t;
  int64_t n = 0;
  static constexpr dist::Message<Square> kWire{"snow.node.Square", "n"};
};

struct Whoami {
  using Reply = Pid;
  static constexpr dist::Message<Whoami> kWire{"snow.node.Whoami"};
};

struct Later {
  using Reply = int64_t;
  int64_t ms = 0;
  static constexpr dist::Message<Later> kWire{"snow.node.Later", "ms"};
};

struct Delegate {
  using Reply = int64_t;
  int64_t n = 0;
  static constexpr dist::Message<Delegate> kWire{"snow.node.Delegate", "n"};
};

struct Hold {
  using Reply = int64_t;
  static constexpr dist::Message<Hold> kWire{"snow.node.Hold"};
};

struct SpawnBack {
  using Reply = absl::StatusOr<Pid>;
  std::string node;
  Pid to;
  int64_t n = 0;
  static constexpr dist::Message<SpawnBack> kWire{"snow.node.SpawnBack", "node", "to", "n"};
};

// What Stats answers: a few of RuntimeStats and dist::DistStats.
struct NodeStats {
  uint64_t live_actors = 0;
  uint64_t actors_crashed = 0;
  uint64_t messages_dropped = 0;
  uint64_t queued_bytes = 0;  // what the node's connections hold to write now
  uint64_t messages_sent = 0;
  uint64_t messages_received = 0;
  uint64_t connections_up = 0;
  uint64_t handshakes_failed = 0;
  static constexpr dist::Message<NodeStats> kWire{
      "snow.node.NodeStats", "live_actors",    "actors_crashed",
      "messages_dropped",    "queued_bytes",   "messages_sent",
      "messages_received",   "connections_up", "handshakes_failed"};
};

struct Stats {
  using Reply = NodeStats;
  static constexpr dist::Message<Stats> kWire{"snow.node.Stats"};
};

struct Report {
  Pid from;
  int64_t n = 0;
  std::string text;
  static constexpr dist::Message<Report> kWire{"snow.node.Report", "from", "n", "text"};
};

struct Halt {
  static constexpr dist::Message<Halt> kWire{"snow.node.Halt"};
};

// Registers snow.node.reporter and snow.node.noop for remote spawn (once per program; later
// calls do nothing).
void RegisterServiceMessages();

// Spawns the services and registers them as "echo", "counter", "sink", "calls" and "control".
// "control" ends `main` (Halt) by sending it a Halt.
absl::Status StartServices(Self self, Pid main);

}  // namespace snow::node_services
