// The echo mode of snow-load.
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "snow/net/tcp.h"
#include "snow/net/tls.h"
#include "snow/tools/load/load.h"

namespace snow::load {
namespace {

void Stamp(std::string& message, uint64_t sequence) {
  std::memcpy(message.data(), &sequence, std::min(sizeof(sequence), message.size()));
}

bool Matches(const std::string& reply, uint64_t sequence) {
  uint64_t got = 0;
  std::memcpy(&got, reply.data(), std::min(sizeof(got), reply.size()));
  if (reply.size() < sizeof(got)) {
    uint64_t mask = (uint64_t{1} << (8 * reply.size())) - 1;
    return got == (sequence & mask);
  }
  return got == sequence;
}

// Closed loop: `depth` messages in flight; each reply releases the next message.
template <typename Stream>
Task<absl::Status> ClosedLoop(Stream* stream, ConnectionPlan* plan, ShardStats* stats,
                              int64_t start_ns) {
  const LoadOptions& o = *plan->options;
  int64_t deadline = start_ns + absl::ToInt64Nanoseconds(o.duration);
  uint64_t limit = plan->messages;
  std::string out(o.size, 'x');
  std::string in(o.size, '\0');
  std::vector<int64_t> sent_at(o.depth);
  uint64_t sent = 0;
  uint64_t received = 0;
  auto may_send = [&] { return limit > 0 ? sent < limit : SteadyNanos() < deadline; };
  while (sent - received < o.depth && may_send()) {
    Stamp(out, sent);
    sent_at[sent % o.depth] = SteadyNanos();
    absl::Status written = co_await stream->WriteAll(out, o.io_timeout);
    if (!written.ok()) co_return written;
    ++sent;
  }
  while (received < sent) {
    absl::Status read = co_await stream->ReadExactly(in, o.io_timeout);
    if (!read.ok()) co_return read;
    int64_t now = SteadyNanos();
    if (!Matches(in, received)) {
      co_return absl::DataLossError(absl::StrCat("reply ", received, " is not what was sent"));
    }
    stats->RecordLatency(static_cast<uint64_t>(now - sent_at[received % o.depth]));
    ++received;
    if (may_send()) {
      Stamp(out, sent);
      sent_at[sent % o.depth] = SteadyNanos();
      absl::Status written = co_await stream->WriteAll(out, o.io_timeout);
      if (!written.ok()) co_return written;
      ++sent;
    }
  }
  co_return absl::OkStatus();
}

// Open loop: message k is due at start + k * interval, sent then (or at once if late); its
// latency counts from when it was due, so a stall shows in every message it delayed
// (no coordinated omission).
template <typename Stream>
Task<absl::Status> OpenLoopWriter(Stream* stream, ConnectionPlan* plan, int64_t start_ns,
                                  int64_t interval_ns, uint64_t count) {
  const LoadOptions& o = *plan->options;
  std::string out(o.size, 'x');
  for (uint64_t k = 0; k < count; ++k) {
    int64_t due = start_ns + static_cast<int64_t>(k) * interval_ns;
    int64_t wait = due - SteadyNanos();
    if (wait > 0) co_await Sleep(absl::Nanoseconds(wait));
    Stamp(out, k);
    absl::Status written = co_await stream->WriteAll(out, o.io_timeout);
    if (!written.ok()) co_return written;
  }
  co_return absl::OkStatus();
}

template <typename Stream>
Task<absl::Status> OpenLoopReader(Stream* stream, ConnectionPlan* plan, ShardStats* stats,
                                  int64_t start_ns, int64_t interval_ns, uint64_t count) {
  const LoadOptions& o = *plan->options;
  std::string in(o.size, '\0');
  // A reply can lag its due time by the whole backlog: allow for it on top of io_timeout.
  for (uint64_t k = 0; k < count; ++k) {
    absl::Status read = co_await stream->ReadExactly(in, o.io_timeout + o.duration);
    if (!read.ok()) co_return read;
    int64_t due = start_ns + static_cast<int64_t>(k) * interval_ns;
    if (!Matches(in, k)) {
      co_return absl::DataLossError(absl::StrCat("reply ", k, " is not what was sent"));
    }
    stats->RecordLatency(static_cast<uint64_t>(std::max<int64_t>(0, SteadyNanos() - due)));
  }
  co_return absl::OkStatus();
}

template <typename Stream>
Task<absl::Status> Drive(Self self, Stream stream, ConnectionPlan plan) {
  self.Send(plan.main, Ready{self.pid()});
  Go go = co_await self.Receive<Go>();
  const LoadOptions& o = *plan.options;
  ShardStats* stats = &plan.stats->on(self.shard());
  absl::Status result;
  if (o.rate <= 0) {
    result = co_await ClosedLoop(&stream, &plan, stats, go.start_ns);
  } else {
    double per_connection = o.rate / o.connections;
    int64_t interval_ns = static_cast<int64_t>(1e9 / per_connection);
    uint64_t count =
        plan.messages > 0
            ? plan.messages
            : static_cast<uint64_t>(absl::ToDoubleSeconds(o.duration) * per_connection);
    // Writer and reader share `stream` and `plan`, which this frame owns until Join returns.
    TaskGroup group;
    group.Start(OpenLoopWriter(&stream, &plan, go.start_ns, interval_ns, count));
    group.Start(OpenLoopReader(&stream, &plan, stats, go.start_ns, interval_ns, count));
    result = co_await group.Join();
  }
  absl::Status closed = co_await stream.Close();
  co_return result.ok() ? closed : result;
}

}  // namespace

Task<absl::Status> RunEchoConnection(Self self, ConnectionPlan plan) {
  const LoadOptions& o = *plan.options;
  absl::StatusOr<net::TcpStream> tcp = co_await net::TcpStream::Connect(o.address, o.io_timeout);
  absl::Status result;
  bool connected = false;
  if (!tcp.ok()) {
    result = tcp.status();
  } else if (!o.tls) {
    connected = true;
    result = co_await Drive(self, std::move(*tcp), plan);
  } else {
    absl::StatusOr<net::TlsStream> tls =
        co_await net::TlsStream::Handshake(*plan.tls, std::move(*tcp));
    if (!tls.ok()) {
      result = tls.status();
    } else {
      connected = true;
      result = co_await Drive(self, std::move(*tls), plan);
    }
  }
  if (!result.ok()) plan.stats->on(self.shard()).RecordError(result);
  // A connection that failed to open still answers the roll call, so the run starts.
  if (!connected) self.Send(plan.main, Ready{self.pid()});
  self.Send(plan.main, ConnectionDone{result});
  co_return absl::OkStatus();  // the error is counted and reported, not a crash
}

}  // namespace snow::load
