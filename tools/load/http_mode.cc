// The http mode of snow-load: requests over keep-alive connections (HttpClient), `depth` of
// them pipelined, or sent at an open-loop rate.
#include <deque>
#include <string>

#include "absl/strings/str_cat.h"
#include "snow/net/http_client.h"
#include "snow/tools/load/load.h"

namespace snow::load {
namespace {

net::HttpRequest MakeRequest(const LoadOptions& o) {
  net::HttpRequest request;
  request.method = o.method;
  request.target = o.path;
  if (o.method == "POST" || o.method == "PUT") request.body = std::string(o.size, 'x');
  return request;
}

Task<absl::StatusOr<net::HttpClient>> Connect(const ConnectionPlan& plan) {
  const LoadOptions& o = *plan.options;
  net::HttpClientOptions options;
  options.tls = plan.tls;
  options.tcp = ConnectionTcpOptions(o, plan.index);
  options.connect_timeout = o.io_timeout;
  // Open loop: an answer may wait behind the whole backlog.
  options.timeout = o.rate > 0 ? o.io_timeout + o.duration : o.io_timeout;
  co_return co_await net::HttpClient::Connect(o.address, options);
}

// Sends requests until the budget is spent: closed loop (`depth` in flight, each answer releases
// the next) or open loop (request k due at start + k * interval; its latency counts from then,
// so a stall shows in every request it delayed). A connection the server closes (Connection:
// close, a request cap) is opened again, as a browser or wrk would.
Task<absl::Status> Drive(Self self, net::HttpClient client, ConnectionPlan plan) {
  self.Send(plan.main, Ready{self.pid()});
  Go go = co_await self.Receive<Go>();
  const LoadOptions& o = *plan.options;
  ShardStats& stats = plan.stats->on(self.shard());
  const net::HttpRequest request = MakeRequest(o);
  const Pacing pacing(o, plan, go.start_ns);
  const bool open_loop = pacing.open_loop;
  std::deque<int64_t> sent_at;  // when each request in flight was sent (open loop: was due)
  uint64_t sent = 0;
  absl::Status result;
  for (;;) {
    // Queue what may go now.
    if (open_loop) {
      while (pacing.MaySend(sent) && pacing.Due(sent) <= SteadyNanos()) {
        client.Queue(request);
        sent_at.push_back(pacing.Due(sent));
        ++sent;
      }
    } else {
      while (sent_at.size() < o.depth && pacing.MaySend(sent)) {
        client.Queue(request);
        sent_at.push_back(SteadyNanos());
        ++sent;
      }
    }
    if (sent_at.empty()) {
      if (!pacing.MaySend(sent)) break;
      // Open loop, ahead of schedule: wait for the next request's due time.
      const int64_t due = pacing.Due(sent);
      co_await Sleep(absl::Nanoseconds(due - SteadyNanos()));
      continue;
    }
    absl::StatusOr<net::HttpResponse> answer = co_await client.Receive();
    if (!answer.ok()) {
      result = answer.status();
      break;
    }
    if (answer->status < 200 || answer->status >= 300) {
      result = absl::FailedPreconditionError(absl::StrCat("HTTP status ", answer->status));
      break;
    }
    stats.RecordLatency(
        static_cast<uint64_t>(std::max<int64_t>(0, SteadyNanos() - sent_at.front())));
    sent_at.pop_front();
    if (!client.open()) {
      if (!sent_at.empty()) {
        result = absl::UnavailableError("the server closed with requests unanswered");
        break;
      }
      (void)co_await client.Close();
      absl::StatusOr<net::HttpClient> again = co_await Connect(plan);
      if (!again.ok()) {
        result = again.status();
        break;
      }
      client = std::move(*again);
    }
  }
  absl::Status closed = co_await client.Close();
  co_return result.ok() ? closed : result;
}

}  // namespace

Task<absl::Status> RunHttpConnection(Self self, ConnectionPlan plan) {
  absl::StatusOr<net::HttpClient> client = co_await Connect(plan);
  absl::Status result;
  if (client.ok()) {
    result = co_await Drive(self, std::move(*client), plan);
  } else {
    result = client.status();
    self.Send(plan.main, Ready{self.pid()});  // a failed connection still answers the roll call
  }
  if (!result.ok()) plan.stats->on(self.shard()).RecordError(result);
  self.Send(plan.main, ConnectionDone{result});
  co_return absl::OkStatus();  // the error is counted and reported, not a crash
}

}  // namespace snow::load
