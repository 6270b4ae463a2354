#include "snow/tools/node/services.h"

#include <mutex>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "snow/core/runtime.h"
#include "snow/core/service.h"
#include "snow/core/status.h"
#include "snow/core/time.h"
#include "snow/dist/node.h"
#include "snow/dist/spawn.h"

namespace snow::node_services {
namespace {

Task<absl::Status> EchoService(Self self) {
  for (;;) {
    Echo m = co_await self.Receive<Echo>();
    Pid to = m.from;
    m.from = self.pid();
    self.Send(to, std::move(m));
  }
}

Task<absl::Status> CounterService(Self self) {
  int64_t total = 0;
  for (;;) {
    CounterAdd m = co_await self.Receive<CounterAdd>();
    total += m.delta;
    self.Send(m.from, CounterValue{total});
  }
}

struct StreamState {
  uint64_t received = 0;
  uint64_t next = 0;
  uint64_t reordered = 0;
  uint64_t bytes = 0;
};

Task<absl::Status> SinkService(Self self) {
  absl::flat_hash_map<uint64_t, StreamState> streams;
  // The stream of the last item: a run of items from one stream skips the lookup. Reset when the
  // table changes, which may move its entries.
  StreamState* current = nullptr;
  uint64_t current_stream = 0;
  for (;;) {
    auto m = co_await self.Receive<SinkItem, SinkQuery>();
    if (auto* item = std::get_if<SinkItem>(&m)) {
      if (current == nullptr || item->stream != current_stream) {
        current = &streams[item->stream];
        current_stream = item->stream;
      }
      StreamState& s = *current;
      if (item->seq != s.next) ++s.reordered;
      s.next = item->seq + 1;
      ++s.received;
      s.bytes += item->payload.bytes.size();
    } else {
      auto& q = std::get<SinkQuery>(m);
      StreamState s = streams[q.stream];
      streams.erase(q.stream);
      current = nullptr;
      SinkReport report{
          q.stream,    s.received, q.expected > s.received ? q.expected - s.received : 0,
          s.reordered, s.bytes,    self.pid()};
      self.Send(q.from, report);
    }
  }
}

Task<absl::Status> DelegateWorker(Self self, ReplyTo<int64_t> to, int64_t n) {
  Reply(self, to, n + 1);
  co_return absl::OkStatus();
}

Task<absl::Status> Reporter(Self self, Pid to, int64_t n, std::string text) {
  if (n < 0) co_return absl::AbortedError(text);
  self.Send(to, Report{self.pid(), n, std::move(text)});
  co_await self.Receive<Halt>();
  co_return absl::OkStatus();
}

Task<absl::Status> Noop(Self) { co_return absl::OkStatus(); }

NodeStats CurrentStats(Self self) {
  const RuntimeStats runtime = self.runtime().stats();
  const dist::DistStats node = dist::Stats(self);
  return NodeStats{.live_actors = runtime.live_actors,
                   .actors_crashed = runtime.actors_crashed,
                   .messages_dropped = runtime.messages_dropped,
                   .queued_bytes = node.queued_bytes,
                   .messages_sent = node.messages_sent,
                   .messages_received = node.messages_received,
                   .connections_up = node.connections_up,
                   .handshakes_failed = node.handshakes_failed};
}

Task<absl::Status> CallsService(Self self) {
  std::vector<ReplyTo<int64_t>> held;  // never answered
  for (;;) {
    auto m =
        co_await self.Receive<Request<Square>, Request<Whoami>, Request<Later>, Request<Delegate>,
                              Request<Hold>, Request<SpawnBack>, Request<Stats>>();
    if (auto* square = std::get_if<Request<Square>>(&m)) {
      Reply(self, square->from, square->body.n * square->body.n);
    } else if (auto* whoami = std::get_if<Request<Whoami>>(&m)) {
      Reply(self, whoami->from, self.pid());
    } else if (auto* later = std::get_if<Request<Later>>(&m)) {
      const int64_t ms = later->body.ms;
      const ReplyTo<int64_t> to = later->from;
      co_await Sleep(absl::Milliseconds(ms));
      Reply(self, to, ms);
    } else if (auto* delegate = std::get_if<Request<Delegate>>(&m)) {
      self.Spawn(DelegateWorker, delegate->from, delegate->body.n);
    } else if (auto* back = std::get_if<Request<SpawnBack>>(&m)) {
      const ReplyTo<absl::StatusOr<Pid>> to = back->from;
      absl::StatusOr<Pid> child = co_await dist::Spawn(self, back->body.node, "snow.node.reporter",
                                                       back->body.to, back->body.n, "spawned back");
      Reply(self, to, std::move(child));
    } else if (auto* stats = std::get_if<Request<Stats>>(&m)) {
      Reply(self, stats->from, CurrentStats(self));
    } else {
      held.push_back(std::get<Request<Hold>>(m).from);
    }
  }
}

Task<absl::Status> ControlService(Self self, Pid main) {
  Halt h = co_await self.Receive<Halt>();
  self.Send(main, h);
  co_return absl::OkStatus();
}

}  // namespace

void RegisterServiceMessages() {
  static std::once_flag once;
  std::call_once(once, [] {
    dist::RegisterSpawnable("snow.node.reporter", Reporter);
    dist::RegisterSpawnable("snow.node.noop", Noop);
  });
}

absl::Status StartServices(Self self, Pid main) {
  SNOW_RETURN_IF_ERROR(self.runtime().Register("echo", self.Spawn(EchoService)));
  SNOW_RETURN_IF_ERROR(self.runtime().Register("counter", self.Spawn(CounterService)));
  SNOW_RETURN_IF_ERROR(self.runtime().Register("sink", self.Spawn(SinkService)));
  // One more sink on each shard, for traffic that must reach every shard of the node.
  for (ShardId shard = 0; shard < self.runtime().shard_count(); ++shard) {
    Pid sink =
        self.Spawn(SpawnOptions{.placement = Placement::kShard, .shard = shard}, SinkService);
    SNOW_RETURN_IF_ERROR(self.runtime().Register(absl::StrCat("sink.", shard), sink));
  }
  SNOW_RETURN_IF_ERROR(self.runtime().Register("calls", self.Spawn(CallsService)));
  SNOW_RETURN_IF_ERROR(self.runtime().Register("control", self.Spawn(ControlService, main)));
  return absl::OkStatus();
}

}  // namespace snow::node_services
