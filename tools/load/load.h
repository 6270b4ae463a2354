// File: tools/load/load.h
//
// The load generator's pieces: options, per-shard statistics, and the modes. A mode is a
// function that drives one connection for the whole run:
//
//   Task<absl::Status> RunEchoConnection(Self self, ConnectionPlan plan);
//
// It connects (plan.options), reports Ready to plan.main, waits for Go, then sends and receives
// until its budget (plan.messages, or the deadline) is spent, recording each round trip's
// latency and any error in plan.stats for its shard. A mode is one such function and one line in
// Modes(); the driver (tools/load/main.cc) does not change.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "snow/core/snow.h"
#include "snow/net/socket_address.h"
#include "snow/net/tcp.h"
#include "snow/net/tls.h"
#include "snow/tools/load/histogram.h"

namespace snow::load {

struct LoadOptions {
  std::string mode = "echo";
  net::SocketAddress address;
  bool tls = false;
  std::string pin;  // hex SHA-256 of the server certificate; empty: no verification
  uint32_t connections = 1;
  absl::Duration duration = absl::Seconds(10);
  uint64_t messages = 0;  // total round trips over all connections; 0: run for `duration`
  size_t size = 64;       // bytes per message
  uint32_t depth = 1;     // closed loop: messages in flight per connection
  double rate = 0;        // open loop: messages per second over all connections; 0: closed loop
  // http, ws, ws-broadcast: the target, and http's method (POST and PUT send `size` bytes).
  std::string path = {};  // "" : the mode's own default
  std::string method = "GET";
  bool deflate = false;  // ws: offer permessage-deflate
  // http, ws, ws-broadcast: connect from N loopback addresses (127.0.0.2 ...), connection i
  // from the (i mod N)th, to hold more connections to one server than one address has ports.
  uint32_t source_spread = 0;
  bool json = false;
  bool progress = true;
  absl::Duration io_timeout = absl::Seconds(10);  // a reply slower than this is an error
};

// What one shard's connections measured. Touched only by that shard's thread.
struct ShardStats {
  LatencyHistogram interval;  // since the last progress line
  LatencyHistogram total;
  uint64_t messages = 0;
  uint64_t interval_messages = 0;
  uint64_t errors = 0;
  std::map<std::string, uint64_t> error_kinds;  // by status code name; error path only

  void RecordLatency(uint64_t nanos) {
    interval.Record(nanos);
    total.Record(nanos);
    ++messages;
    ++interval_messages;
  }
  void RecordError(const absl::Status& status);
};

// One entry per shard, each used only on its own shard (share-nothing); the driver reads them
// through per-shard reporter actors.
struct StatsTable {
  explicit StatsTable(uint32_t shards) {
    for (uint32_t i = 0; i < shards; ++i) shards_.push_back(std::make_unique<ShardStats>());
  }
  ShardStats& on(ShardId shard) { return *shards_[shard]; }

 private:
  std::vector<std::unique_ptr<ShardStats>> shards_;
};

// Messages between the driver and the connections.
struct Ready {
  Pid connection;
};
struct Go {
  int64_t start_ns;  // steady_clock
};
struct ConnectionDone {
  absl::Status status;
};

struct ConnectionPlan {
  std::shared_ptr<const LoadOptions> options = nullptr;
  std::shared_ptr<StatsTable> stats = nullptr;
  std::optional<net::TlsContext> tls = std::nullopt;  // set when options->tls
  uint32_t index = 0;
  uint64_t messages = 0;  // this connection's share; 0: until the deadline
  Pid main = Pid();
};

using ConnectionFn = Task<absl::Status> (*)(Self, ConnectionPlan);

struct Mode {
  const char* name;
  const char* what;
  ConnectionFn run;
};
std::span<const Mode> Modes();

// The TCP options of connection `index`: its source address under --source-spread.
net::TcpOptions ConnectionTcpOptions(const LoadOptions& options, uint32_t index);

// When one connection's messages may go: closed loop (any time, until the deadline or the
// connection's share of --messages), or open loop at its share of --rate, message k due at
// start + k * interval.
struct Pacing {
  Pacing(const LoadOptions& options, const ConnectionPlan& plan, int64_t start_ns);
  bool MaySend(uint64_t sent) const;
  int64_t Due(uint64_t k) const { return start_ns + static_cast<int64_t>(k) * interval_ns; }

  int64_t start_ns;
  int64_t deadline_ns;
  bool open_loop;
  int64_t interval_ns;  // open loop only
  uint64_t budget;      // 0: until the deadline
};

inline int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// echo: each message is `size` bytes starting with its sequence number; the reply must be the
// same bytes. Plain TCP or TLS.
Task<absl::Status> RunEchoConnection(Self self, ConnectionPlan plan);
// http: requests to `path` with `method`; any 2xx answer counts (tools/load/http_mode.cc).
Task<absl::Status> RunHttpConnection(Self self, ConnectionPlan plan);
// ws and ws-broadcast: WebSocket echo, and a room's fan-out (tools/load/ws_mode.cc).
Task<absl::Status> RunWsConnection(Self self, ConnectionPlan plan);
Task<absl::Status> RunWsBroadcastConnection(Self self, ConnectionPlan plan);

}  // namespace snow::load
