#include "snow/tools/demo_cluster.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "snow/core/exit_reason.h"
#include "snow/core/snow.h"
#include "snow/dist/node.h"
#include "snow/net/crypto.h"
#include "snow/tools/load/dist_mode.h"
#include "snow/tools/node/node_process.h"
#include "snow/tools/node/services.h"

namespace snow::demo {
namespace {

using node_services::NodeProcess;

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// snow-node sits next to this binary in the build tree.
std::string SnowNodePath() {
  char path[4096];
  ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) return "snow-node";
  std::string self(path, static_cast<size_t>(n));
  return self.substr(0, self.rfind('/') + 1) + "snow-node";
}

absl::StatusOr<std::string> RandomCookie() {
  std::array<uint8_t, 16> bytes;
  SNOW_RETURN_IF_ERROR(net::RandomBytes(bytes));
  std::string cookie;
  for (uint8_t b : bytes) absl::StrAppend(&cookie, absl::Hex(b, absl::kZeroPad2));
  return cookie;
}

}  // namespace

Task<absl::Status> Cluster(Self self, bool quick) {
  node_services::RegisterServiceMessages();
  absl::StatusOr<std::string> cookie = RandomCookie();
  if (!cookie.ok()) co_return cookie.status();
  dist::NodeOptions options;
  options.name = "demo@127.0.0.1:0";
  options.cookie = *cookie;
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, options));
  dist::MonitorNodes(self);
  std::string me = dist::SelfNode(self);

  // Two more nodes, as processes: c is told only about b.
  // The children run on the last CPU, away from this node's shard 0 (where its sessions live).
  int last_cpu = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)) - 1;
  NodeProcess::Options b_options{
      .binary = SnowNodePath(), .name = "b@127.0.0.1:0", .cookie = *cookie, .cpu = last_cpu};
  absl::StatusOr<NodeProcess> b = NodeProcess::Start(b_options);
  if (!b.ok()) co_return b.status();
  NodeProcess::Options c_options{.binary = SnowNodePath(),
                                 .name = "c@127.0.0.1:0",
                                 .cookie = *cookie,
                                 .connect = {b->name()},
                                 .cpu = last_cpu};
  absl::StatusOr<NodeProcess> c = NodeProcess::Start(c_options);
  if (!c.ok()) co_return c.status();
  std::printf("cluster: this process is %s; started %s (pid %d) and %s (pid %d, told only of b)\n",
              me.c_str(), b->name().c_str(), b->pid(), c->name().c_str(), c->pid());

  // We connect to b only; the mesh brings c.
  int64_t start = NowNs();
  SNOW_CO_RETURN_IF_ERROR(co_await dist::Connect(self, b->name()));
  double connect_ms = double(NowNs() - start) / 1e6;
  for (int seen = 0; seen < 2;) {
    absl::StatusOr<dist::NodeUp> up = co_await self.ReceiveFor<dist::NodeUp>(absl::Seconds(10));
    if (!up.ok()) co_return absl::DeadlineExceededError("the mesh did not form in 10 s");
    ++seen;
  }
  std::vector<std::string> nodes = dist::Nodes(self);
  std::printf("mesh: connected to b (TLS 1.3 + cookie proof) in %.1f ms; %s now sees [%s]\n",
              connect_ms, me.c_str(), absl::StrJoin(nodes, ", ").c_str());
  if (nodes.size() != 2) co_return absl::InternalError("the mesh is incomplete");

  // Remote ping-pong with b's echo actor, and a sequenced stream to c's sink (tools/load's
  // dist/ measurements, the same code as snow_bench's W6 and W7).
  absl::StatusOr<load::DistPeer> on_b = co_await load::FindDistServices(self, b->name());
  if (!on_b.ok()) co_return on_b.status();
  absl::StatusOr<load::DistPeer> on_c = co_await load::FindDistServices(self, c->name());
  if (!on_c.ok()) co_return on_c.status();
  uint64_t rounds = quick ? 2'000 : 20'000;
  absl::StatusOr<load::RoundTrips> rtt =
      co_await load::EchoRoundTrips(self, on_b->echo, rounds, 32);
  if (!rtt.ok()) co_return rtt.status();
  std::printf("remote ping-pong: %" PRIu64
              " round trips to %s over TLS: p50 %.1f us, p99 %.1f us\n",
              rounds, dist::PidToString(self, on_b->echo).c_str(),
              double(rtt->latency.Percentile(50)) / 1e3, double(rtt->latency.Percentile(99)) / 1e3);

  load::StreamPlan plan;
  plan.messages = quick ? 50'000 : 1'000'000;
  plan.wait_for_room = true;  // a slow machine waits instead of dropping
  absl::StatusOr<load::StreamResult> stream = co_await load::SinkStream(self, on_c->sink, plan);
  if (!stream.ok()) co_return stream.status();
  std::printf("stream to c: %" PRIu64
              " messages {seq, 64 B} to %s over TLS: %.2f M msgs/s, "
              "received %" PRIu64 ", lost %" PRIu64 ", reordered %" PRIu64 "\n",
              stream->messages, dist::PidToString(self, on_c->sink).c_str(),
              double(stream->messages) / stream->seconds / 1e6, stream->received, stream->lost,
              stream->reordered);
  if (stream->lost != 0 || stream->reordered != 0) {
    co_return absl::InternalError("the stream lost or reordered messages");
  }

  // Kill -9 c: its PIDs' monitors and the node monitor hear of it.
  Ref watch = self.Monitor(on_c->echo);
  start = NowNs();
  c->Signal(SIGKILL);
  absl::StatusOr<Down> down = co_await self.ReceiveFor<Down>(absl::Seconds(10));
  if (!down.ok()) co_return absl::DeadlineExceededError("no Down after kill -9");
  double down_ms = double(NowNs() - start) / 1e6;
  absl::StatusOr<dist::NodeDown> node_down =
      co_await self.ReceiveFor<dist::NodeDown>(absl::Seconds(10));
  if (!node_down.ok()) co_return absl::DeadlineExceededError("no NodeDown after kill -9");
  std::printf(
      "failure: kill -9 of c -> Down{%s, %s} in %.2f ms, NodeDown{%s}; still connected: "
      "[%s]\n",
      watch == down->ref ? "its echo" : "?", down->reason.ToString().c_str(), down_ms,
      node_down->node.c_str(), absl::StrJoin(dist::Nodes(self), ", ").c_str());

  // b is untouched: one more round trip, then ask it to halt.
  absl::StatusOr<load::RoundTrips> after = co_await load::EchoRoundTrips(self, on_b->echo, 1, 32);
  if (!after.ok()) co_return after.status();
  node_services::Halt halt;
  SNOW_CO_RETURN_IF_ERROR(dist::SendNamed(self, "control", b->name(), halt));
  // Wait without blocking the shard: the Halt has yet to be written by this shard's session.
  absl::StatusOr<int> b_status = absl::DeadlineExceededError("b did not halt");
  for (int i = 0; i < 1000 && !b_status.ok(); ++i) {
    co_await Sleep(absl::Milliseconds(10));
    b_status = b->Wait(absl::ZeroDuration());
  }
  if (!b_status.ok()) co_return b_status.status();
  std::printf("b still answered after c died, then halted cleanly (exit status %d)\n",
              WEXITSTATUS(*b_status));
  co_return absl::OkStatus();
}

}  // namespace snow::demo
