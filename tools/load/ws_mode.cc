// The ws and ws-broadcast modes of snow-load, over Snow's WebSocket client.
//
// ws: binary messages of `size` bytes (at least 16: the stamp) carrying their sequence number
// and send time; the server echoes them (tools/examples/ws_echo.cc's /echo, or any echo server).
// Closed loop with `depth` in flight, or open loop at `rate`.
//
// ws-broadcast: connection 0 publishes into a room, every other connection subscribes. The
// server (ws_echo's /room/:name) says "joined" when a connection is in the room and sends each
// message to every other member. A message carries the publisher's clock (steady_clock, one
// process), so each delivery's latency is publish to delivery. One subscriber paces the
// publisher: `depth` messages in flight as that subscriber sees them (or `rate`, open loop).
// The report counts deliveries.
#include <cstring>
#include <string>
#include <variant>

#include "absl/strings/str_cat.h"
#include "snow/net/websocket.h"
#include "snow/tools/load/load.h"

namespace snow::load {
namespace {

struct Stamp {
  uint64_t sequence;
  int64_t sent_ns;
};

void Write(std::string& message, Stamp stamp) {
  std::memcpy(message.data(), &stamp, std::min(sizeof stamp, message.size()));
}

Stamp Read(const std::string& message) {
  Stamp stamp{};
  std::memcpy(&stamp, message.data(), std::min(sizeof stamp, message.size()));
  return stamp;
}

Task<absl::StatusOr<net::WebSocket>> Open(Self self, const ConnectionPlan& plan) {
  const LoadOptions& o = *plan.options;
  net::WebSocketClientOptions options;
  options.http.tls = plan.tls;
  options.http.tcp = ConnectionTcpOptions(o, plan.index);
  options.http.connect_timeout = o.io_timeout;
  options.http.timeout = o.io_timeout;
  options.websocket.deflate = o.deflate;
  options.websocket.max_message_bytes = std::max<size_t>(o.size, 1 << 20);
  options.websocket.max_queued_bytes = std::max<size_t>(o.size * o.depth * 2, 1 << 20);
  co_return co_await net::ConnectWebSocket(self, o.address, o.path, options);
}

// The next message (kDeadlineExceeded after `timeout`, kUnavailable if the connection ended).
Task<absl::StatusOr<net::WsMessage>> Next(Self self, absl::Duration timeout) {
  absl::StatusOr<std::variant<net::WsMessage, net::WsClosed>> event =
      co_await self.ReceiveFor<net::WsMessage, net::WsClosed>(timeout);
  if (!event.ok()) co_return event.status();
  if (auto* closed = std::get_if<net::WsClosed>(&*event)) {
    co_return absl::UnavailableError(
        absl::StrCat("the server closed the WebSocket: ", closed->code, " ", closed->reason));
  }
  co_return std::move(std::get<net::WsMessage>(*event));
}

Task<absl::Status> Echo(Self self, net::WebSocket ws, ConnectionPlan plan, Go go) {
  const LoadOptions& o = *plan.options;
  ShardStats& stats = plan.stats->on(self.shard());
  const Pacing pacing(o, plan, go.start_ns);
  const bool open_loop = pacing.open_loop;
  std::string out(std::max<size_t>(o.size, sizeof(Stamp)), 'x');  // room for the stamp
  uint64_t sent = 0;
  uint64_t received = 0;
  for (;;) {
    if (open_loop) {
      while (pacing.MaySend(sent) && pacing.Due(sent) <= SteadyNanos()) {
        Write(out, {sent, pacing.Due(sent)});
        SNOW_CO_RETURN_IF_ERROR(ws.Send(out, false));
        ++sent;
      }
    } else {
      while (sent - received < o.depth && pacing.MaySend(sent)) {
        Write(out, {sent, SteadyNanos()});
        SNOW_CO_RETURN_IF_ERROR(ws.Send(out, false));
        ++sent;
      }
    }
    if (received == sent && !pacing.MaySend(sent)) break;
    absl::Duration wait = o.io_timeout + (open_loop ? o.duration : absl::ZeroDuration());
    if (open_loop && pacing.MaySend(sent)) {
      // Wake for the next due message even if no echo comes first.
      wait = absl::Nanoseconds(std::max<int64_t>(0, pacing.Due(sent) - SteadyNanos()));
    }
    if (received == sent && open_loop) {
      co_await Sleep(wait);
      continue;
    }
    absl::StatusOr<net::WsMessage> echo = co_await Next(self, wait);
    if (!echo.ok() && absl::IsDeadlineExceeded(echo.status()) && open_loop &&
        pacing.MaySend(sent)) {
      continue;  // time to send, not a lost echo
    }
    SNOW_CO_RETURN_IF_ERROR(echo.status());
    const Stamp stamp = Read(echo->data);
    if (echo->data.size() != out.size() || stamp.sequence != received) {
      co_return absl::DataLossError(absl::StrCat("echo ", received, " is not what was sent"));
    }
    stats.RecordLatency(static_cast<uint64_t>(std::max<int64_t>(0, SteadyNanos() - stamp.sent_ns)));
    ++received;
  }
  co_return absl::OkStatus();
}

// ---- ws-broadcast ----

struct Delivered {
  uint64_t sequence;
};
constexpr std::string_view kEnd = "end";  // the publisher's last message (text)

Task<absl::Status> Publish(Self self, net::WebSocket ws, ConnectionPlan plan, Go go) {
  const LoadOptions& o = *plan.options;
  const int64_t deadline = go.start_ns + absl::ToInt64Nanoseconds(o.duration);
  const bool open_loop = o.rate > 0;
  const int64_t interval_ns = open_loop ? static_cast<int64_t>(1e9 / o.rate) : int64_t{0};
  std::string out(std::max<size_t>(o.size, sizeof(Stamp)), 'x');
  uint64_t sent = 0;
  uint64_t delivered = 0;  // as the pacing subscriber saw it
  auto may_send = [&] {
    return o.messages > 0 ? sent < o.messages : SteadyNanos() < deadline;  // all its own
  };
  while (may_send()) {
    if (open_loop) {
      const int64_t due = go.start_ns + static_cast<int64_t>(sent) * interval_ns;
      if (due > SteadyNanos()) co_await Sleep(absl::Nanoseconds(due - SteadyNanos()));
      Write(out, {sent, due});
    } else {
      while (sent - delivered >= o.depth) {
        absl::StatusOr<Delivered> d = co_await self.ReceiveFor<Delivered>(o.io_timeout);
        SNOW_CO_RETURN_IF_ERROR(d.status());
        delivered = std::max(delivered, d->sequence + 1);
      }
      Write(out, {sent, SteadyNanos()});
    }
    SNOW_CO_RETURN_IF_ERROR(ws.Send(out, false));
    ++sent;
  }
  SNOW_CO_RETURN_IF_ERROR(ws.Send(kEnd, true));
  co_return absl::OkStatus();
}

Task<absl::Status> Subscribe(Self self, ConnectionPlan plan, Pid pacer_of) {
  const LoadOptions& o = *plan.options;
  ShardStats& stats = plan.stats->on(self.shard());
  for (;;) {
    // The publisher may be slower than io_timeout only if the run says so.
    absl::StatusOr<net::WsMessage> m = co_await Next(self, o.io_timeout + o.duration);
    SNOW_CO_RETURN_IF_ERROR(m.status());
    if (m->text && m->data == kEnd) co_return absl::OkStatus();
    const Stamp stamp = Read(m->data);
    stats.RecordLatency(static_cast<uint64_t>(std::max<int64_t>(0, SteadyNanos() - stamp.sent_ns)));
    if (pacer_of != Pid()) self.Send(pacer_of, Delivered{stamp.sequence});
  }
}

// The publisher's and the pacing subscriber's PIDs meet here: connection 0 registers as the
// publisher, connection 1 looks it up after Go.
constexpr std::string_view kPublisherName = "snow-load.publisher";

}  // namespace

Task<absl::Status> RunWsConnection(Self self, ConnectionPlan plan) {
  absl::StatusOr<net::WebSocket> ws = co_await Open(self, plan);
  absl::Status result;
  if (ws.ok()) {
    self.Send(plan.main, Ready{self.pid()});
    Go go = co_await self.Receive<Go>();
    result = co_await Echo(self, *ws, plan, go);
    ws->Close();
  } else {
    result = ws.status();
    self.Send(plan.main, Ready{self.pid()});
  }
  if (!result.ok()) plan.stats->on(self.shard()).RecordError(result);
  self.Send(plan.main, ConnectionDone{result});
  co_return absl::OkStatus();
}

Task<absl::Status> RunWsBroadcastConnection(Self self, ConnectionPlan plan) {
  const bool publisher = plan.index == 0;
  absl::StatusOr<net::WebSocket> ws = co_await Open(self, plan);
  absl::Status result = ws.status();
  if (ws.ok()) {
    // In the room once the server says so.
    absl::StatusOr<net::WsMessage> joined = co_await Next(self, plan.options->io_timeout);
    result = joined.status();
    if (joined.ok() && joined->data != "joined") {
      result = absl::FailedPreconditionError(
          absl::StrCat("the server's first message is \"", joined->data.substr(0, 40),
                       "\", not \"joined\" (is it a room endpoint?)"));
    }
    if (result.ok() && publisher) result = self.Register(std::string(kPublisherName));
  }
  self.Send(plan.main, Ready{self.pid()});
  if (result.ok()) {
    Go go = co_await self.Receive<Go>();
    if (publisher) {
      result = co_await Publish(self, *ws, plan, go);
    } else {
      const Pid pacer_of = plan.index == 1 ? self.WhereIs(kPublisherName).value_or(Pid()) : Pid();
      result = co_await Subscribe(self, plan, pacer_of);
    }
    ws->Close();
  }
  if (!result.ok()) plan.stats->on(self.shard()).RecordError(result);
  self.Send(plan.main, ConnectionDone{result});
  co_return absl::OkStatus();
}

}  // namespace snow::load
