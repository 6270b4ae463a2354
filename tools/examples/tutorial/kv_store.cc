// Tutorial, step 6: a small key-value store on two nodes. Node "store" runs a supervisor with
// one child, the store actor, registered as "kv". Node "client" puts 1,000 keys, reads one back,
// crashes the store on purpose, and sees the supervisor's fresh store answer (empty: state lives
// in the actor and dies with it).
#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>

#include "snow/core/snow.h"
#include "snow/dist/node.h"
#include "snow/tools/examples/tutorial/two_nodes.h"

using snow::Pid;
using snow::Self;
using snow::Task;
namespace dist = snow::dist;

namespace {

// [snippet messages]
struct Put {  // one-way
  static constexpr std::string_view kWireName = "kv.Put";
  std::string key;
  std::string value;
  friend auto WireFields(Put& m) { return snow::wire::Fields("key", m.key, "value", m.value); }
};
struct Get {  // answered with a Got sent to `from`
  static constexpr std::string_view kWireName = "kv.Get";
  Pid from;
  std::string key;
  friend auto WireFields(Get& m) { return snow::wire::Fields("from", m.from, "key", m.key); }
};
struct Got {
  static constexpr std::string_view kWireName = "kv.Got";
  Pid store;  // who answered: lets the client monitor the store
  std::string key;
  bool found = false;
  std::string value;
  int64_t size = 0;  // keys in the store
  friend auto WireFields(Got& m) {
    return snow::wire::Fields("store", m.store, "key", m.key, "found", m.found, "value", m.value,
                              "size", m.size);
  }
};
struct Crash {  // the deliberate failure
  static constexpr std::string_view kWireName = "kv.Crash";
  std::string why;
  friend auto WireFields(Crash& m) { return snow::wire::Fields("why", m.why); }
};
struct Shutdown {  // tells the store node to stop
  static constexpr std::string_view kWireName = "kv.Shutdown";
  int64_t code = 0;
  friend auto WireFields(Shutdown& m) { return snow::wire::Fields("code", m.code); }
};

void RegisterMessages() {
  dist::RegisterMessage<Put>();
  dist::RegisterMessage<Get>();
  dist::RegisterMessage<Got>();
  dist::RegisterMessage<Crash>();
  dist::RegisterMessage<Shutdown>();
}
// [end messages]

// [snippet store]
Task<absl::Status> Store(Self self) {
  SNOW_CO_RETURN_IF_ERROR(self.Register("kv"));
  std::map<std::string, std::string> data;
  for (;;) {
    auto m = co_await self.Receive<Put, Get, Crash>();
    if (auto* put = std::get_if<Put>(&m)) {
      data[put->key] = std::move(put->value);
    } else if (auto* get = std::get_if<Get>(&m)) {
      Got got;
      got.store = self.pid();
      got.key = get->key;
      if (auto it = data.find(get->key); it != data.end()) {
        got.found = true;
        got.value = it->second;
      }
      got.size = static_cast<int64_t>(data.size());
      self.Send(get->from, std::move(got));
    } else {
      throw std::runtime_error(std::get<Crash>(m).why);  // a crash: the supervisor restarts us
    }
  }
}

Task<absl::Status> StoreNode(Self self, int report_fd) {
  RegisterMessages();
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, {.name = "store@127.0.0.1:0", .cookie = "kv"}));
  SNOW_CO_RETURN_IF_ERROR(self.Register("store_node"));
  snow::SupervisorSpec spec{.strategy = snow::Strategy::kOneForOne,
                            .intensity = 5,
                            .period = absl::Seconds(10),
                            .children = {{.id = "kv", .start = snow::Start(Store)}}};
  self.SpawnLink(snow::Supervise, std::move(spec));
  tutorial::ReportNode(report_fd, dist::SelfNode(self));
  // Until the client says so (or 30 s pass), then the runtime stops with the supervisor.
  absl::StatusOr<Shutdown> shutdown = co_await self.ReceiveFor<Shutdown>(absl::Seconds(30));
  co_return shutdown.status();
}
// [end store]

// [snippet client]
// Asks the store for `key`, retrying while no store answers (one may be restarting).
Task<absl::StatusOr<Got>> Lookup(Self self, std::string node, std::string key) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    SNOW_CO_RETURN_IF_ERROR(dist::SendNamed(self, "kv", node, Get{self.pid(), key}));
    absl::StatusOr<Got> got = co_await self.ReceiveFor<Got>(absl::Milliseconds(100));
    if (got.ok()) co_return got;
  }
  co_return absl::DeadlineExceededError("no store answered");
}

Task<absl::Status> ClientNode(Self self, std::string store) {
  RegisterMessages();
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, {.name = "client@127.0.0.1:0", .cookie = "kv"}));
  dist::MonitorNodes(self);
  absl::Status connected = co_await dist::Connect(self, store);
  if (!connected.ok()) co_return connected;

  for (int i = 0; i < 1000; ++i) {
    std::string key = "key" + std::to_string(i);
    SNOW_CO_RETURN_IF_ERROR(dist::SendNamed(self, "kv", store, Put{key, "value" + key}));
  }
  // Messages from one sender to one receiver arrive in order: this Get sees every Put.
  absl::StatusOr<Got> got = co_await Lookup(self, store, "key42");
  if (!got.ok()) co_return got.status();
  std::printf("key42 = %s; the store holds %lld keys\n", got->value.c_str(),
              static_cast<long long>(got->size));

  snow::Ref watch = self.Monitor(got->store);  // a monitor on a PID of the other node
  self.Send(got->store, Crash{"a deliberate crash"});
  snow::Down down = co_await self.Receive<snow::Down>();
  std::printf("the store ended: %s\n", down.reason.ToString().c_str());

  absl::StatusOr<Got> after = co_await Lookup(self, store, "key42");
  if (!after.ok()) co_return after.status();
  std::printf("a new store %s answers; it holds %lld keys\n",
              dist::PidToString(self, after->store).c_str(), static_cast<long long>(after->size));
  (void)watch;
  SNOW_CO_RETURN_IF_ERROR(dist::SendNamed(self, "store_node", store, Shutdown{}));
  absl::StatusOr<dist::NodeDown> gone = co_await self.ReceiveFor<dist::NodeDown>(absl::Seconds(5));
  co_return gone.status();
}
// [end client]

}  // namespace

int main(int argc, char** argv) {
  snow::RuntimeOptions options = snow::RuntimeOptions::FromArgs(argc, argv);
  return tutorial::RunTwoNodes(
      [&](int fd) { return snow::Run(options, StoreNode, fd); },
      [&](const std::string& store) { return snow::Run(options, ClientNode, store); });
}
