// Tutorial, step 6: a small key-value store on two nodes. Node "store" runs a supervisor with
// one child, the store actor, registered as "kv". Node "client" finds it with a call by name,
// puts 1,000 keys, reads one back with a remote Call, crashes the store on purpose, and sees the
// supervisor's fresh store answer (empty: state lives in the actor and dies with it).
#include <cstdio>
#include <map>
#include <optional>
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
  std::string key;
  std::string value;
  static constexpr dist::Message<Put> kWire{"kv.Put", "key", "value"};
};
struct Get {  // a call: the reply is the value, if the key is there
  using Reply = std::optional<std::string>;
  std::string key;
  static constexpr dist::Message<Get> kWire{"kv.Get", "key"};
};
struct StoreInfo {
  Pid store;         // who answered: the client then talks to it by PID, and monitors it
  int64_t size = 0;  // keys in the store
  static constexpr dist::Message<StoreInfo> kWire{"kv.StoreInfo", "store", "size"};
};
struct Stat {  // a call, answered with a StoreInfo
  using Reply = StoreInfo;
  static constexpr dist::Message<Stat> kWire{"kv.Stat"};
};
struct Crash {  // the deliberate failure
  std::string why;
  static constexpr dist::Message<Crash> kWire{"kv.Crash", "why"};
};
struct Shutdown {  // tells the store node to stop
  int64_t code = 0;
  static constexpr dist::Message<Shutdown> kWire{"kv.Shutdown", "code"};
};

// [end messages]

// [snippet store]
Task<absl::Status> Store(Self self) {
  SNOW_CO_RETURN_IF_ERROR(self.Register("kv"));
  std::map<std::string, std::string> data;
  for (;;) {
    auto m = co_await self.Receive<Put, snow::Request<Get>, snow::Request<Stat>, Crash>();
    if (auto* put = std::get_if<Put>(&m)) {
      data[put->key] = std::move(put->value);
    } else if (auto* get = std::get_if<snow::Request<Get>>(&m)) {
      auto it = data.find(get->body.key);
      snow::Reply(self, get->from, it == data.end() ? std::nullopt : std::optional(it->second));
    } else if (auto* stat = std::get_if<snow::Request<Stat>>(&m)) {
      snow::Reply(self, stat->from, StoreInfo{self.pid(), static_cast<int64_t>(data.size())});
    } else {
      throw std::runtime_error(std::get<Crash>(m).why);  // a crash: the supervisor restarts us
    }
  }
}

Task<absl::Status> StoreNode(Self self, int report_fd) {
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
// Calls "kv" on `node` by name until a store answers (one may be restarting: noproc meanwhile).
Task<absl::StatusOr<StoreInfo>> FindStore(Self self, std::string node) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    absl::StatusOr<StoreInfo> info =
        co_await dist::Call(self, "kv", node, Stat{}, absl::Seconds(1));
    if (!absl::IsNotFound(info.status())) co_return info;
    co_await snow::Sleep(absl::Milliseconds(20));
  }
  co_return absl::DeadlineExceededError("no store answered");
}

Task<absl::Status> ClientNode(Self self, std::string node) {
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, {.name = "client@127.0.0.1:0", .cookie = "kv"}));
  dist::MonitorNodes(self);
  // The first call connects to the node. From then on the store is talked to by PID: messages
  // from one actor to another arrive in order, so the Get below sees every Put.
  SNOW_CO_ASSIGN_OR_RETURN(StoreInfo store, co_await FindStore(self, node));
  for (int i = 0; i < 1000; ++i) {
    std::string key = "key" + std::to_string(i);
    snow::Cast(self, store.store, Put{key, "value" + key});
  }
  Get get{"key42"};
  SNOW_CO_ASSIGN_OR_RETURN(
      std::optional<std::string> value,
      co_await snow::Call(self, store.store, std::move(get), absl::Seconds(1)));
  SNOW_CO_ASSIGN_OR_RETURN(StoreInfo stat,
                           co_await snow::Call(self, store.store, Stat{}, absl::Seconds(1)));
  std::printf("key42 = %s; the store holds %lld keys\n", value.value_or("(none)").c_str(),
              static_cast<long long>(stat.size));

  snow::Ref watch = self.Monitor(store.store);  // a monitor on a PID of the other node
  snow::Cast(self, store.store, Crash{"a deliberate crash"});
  snow::Down down = co_await self.Receive<snow::Down>();
  std::printf("the store ended: %s\n", down.reason.ToString().c_str());

  SNOW_CO_ASSIGN_OR_RETURN(StoreInfo fresh, co_await FindStore(self, node));
  std::printf("a new store %s answers; it holds %lld keys\n",
              dist::PidToString(self, fresh.store).c_str(), static_cast<long long>(fresh.size));
  (void)watch;
  SNOW_CO_RETURN_IF_ERROR(dist::SendNamed(self, "store_node", node, Shutdown{}));
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
