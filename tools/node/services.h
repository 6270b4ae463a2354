// File: tools/node/services.h
//
// The built-in services of snow-node, and their messages: what tests, snow_bench's W6-W10 and
// the demo talk to on a node started from the command line. Every node (snow-node, or a
// program that calls RegisterServiceMessages) registers these types.
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
  static constexpr std::string_view kWireName = "snow.node.Echo";
  Pid from;
  int64_t n = 0;
  wire::Binary payload;
  friend auto WireFields(Echo& m) {
    return wire::Fields("from", m.from, "n", m.n, "payload", m.payload);
  }
};

struct CounterAdd {
  static constexpr std::string_view kWireName = "snow.node.CounterAdd";
  Pid from;
  int64_t delta = 0;
  friend auto WireFields(CounterAdd& m) { return wire::Fields("from", m.from, "delta", m.delta); }
};

struct CounterValue {
  static constexpr std::string_view kWireName = "snow.node.CounterValue";
  int64_t value = 0;
  friend auto WireFields(CounterValue& m) { return wire::Fields("value", m.value); }
};

struct SinkItem {
  static constexpr std::string_view kWireName = "snow.node.SinkItem";
  uint64_t stream = 0;
  uint64_t seq = 0;
  wire::Binary payload;
  friend auto WireFields(SinkItem& m) {
    return wire::Fields("stream", m.stream, "seq", m.seq, "payload", m.payload);
  }
};

struct SinkQuery {
  static constexpr std::string_view kWireName = "snow.node.SinkQuery";
  Pid from;
  uint64_t stream = 0;
  uint64_t expected = 0;
  friend auto WireFields(SinkQuery& m) {
    return wire::Fields("from", m.from, "stream", m.stream, "expected", m.expected);
  }
};

struct SinkReport {
  static constexpr std::string_view kWireName = "snow.node.SinkReport";
  uint64_t stream = 0;
  uint64_t received = 0;
  uint64_t lost = 0;       // expected - received, when fewer arrived
  uint64_t reordered = 0;  // items whose seq was not the previous one + 1
  uint64_t bytes = 0;      // payload bytes received
  Pid sink;                // the sink actor, for sending to it by PID
  friend auto WireFields(SinkReport& m) {
    return wire::Fields("stream", m.stream, "received", m.received, "lost", m.lost, "reordered",
                        m.reordered, "bytes", m.bytes, "sink", m.sink);
  }
};

struct Square {
  static constexpr std::string_view kWireName = "snow.node.Square";
  using Reply = int64_t;
  int64_t n = 0;
  friend auto WireFields(Square& m) { return wire::Fields("n", m.n); }
};

struct Whoami {
  static constexpr std::string_view kWireName = "snow.node.Whoami";
  using Reply = Pid;
  friend auto WireFields(Whoami&) { return wire::Fields(); }
};

struct Later {
  static constexpr std::string_view kWireName = "snow.node.Later";
  using Reply = int64_t;
  int64_t ms = 0;
  friend auto WireFields(Later& m) { return wire::Fields("ms", m.ms); }
};

struct Delegate {
  static constexpr std::string_view kWireName = "snow.node.Delegate";
  using Reply = int64_t;
  int64_t n = 0;
  friend auto WireFields(Delegate& m) { return wire::Fields("n", m.n); }
};

struct Hold {
  static constexpr std::string_view kWireName = "snow.node.Hold";
  using Reply = int64_t;
  friend auto WireFields(Hold&) { return wire::Fields(); }
};

struct SpawnBack {
  static constexpr std::string_view kWireName = "snow.node.SpawnBack";
  using Reply = absl::StatusOr<Pid>;
  std::string node;
  Pid to;
  int64_t n = 0;
  friend auto WireFields(SpawnBack& m) {
    return wire::Fields("node", m.node, "to", m.to, "n", m.n);
  }
};

struct Report {
  static constexpr std::string_view kWireName = "snow.node.Report";
  Pid from;
  int64_t n = 0;
  std::string text;
  friend auto WireFields(Report& m) {
    return wire::Fields("from", m.from, "n", m.n, "text", m.text);
  }
};

struct Halt {
  static constexpr std::string_view kWireName = "snow.node.Halt";
  friend auto WireFields(Halt&) { return wire::Fields(); }
};

// Registers every message above, and snow.node.reporter for remote spawn (once per program;
// later calls do nothing).
void RegisterServiceMessages();

// Spawns the services and registers them as "echo", "counter", "sink", "calls" and "control".
// "control" ends `main` (Halt) by sending it a Halt.
absl::Status StartServices(Self self, Pid main);

}  // namespace snow::node_services
