#include "snow/dist/spawn.h"

#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "snow/core/mutex.h"
#include "snow/core/service.h"
#include "snow/core/status.h"
#include "snow/dist/internal/name_service.h"
#include "snow/dist/internal/node_impl.h"
#include "snow/dist/node.h"

namespace snow::dist_internal {
namespace {

struct Spawnable {
  const void* identity = nullptr;
  SpawnPrepare prepare;
};

struct SpawnableRegistry {
  Mutex mutex;
  absl::flat_hash_map<std::string, Spawnable> by_name ABSL_GUARDED_BY(mutex);
};

SpawnableRegistry& Spawnables() {
  static auto* registry = new SpawnableRegistry();
  return *registry;
}

}  // namespace

void RegisterSpawnable(std::string name, const void* identity, SpawnPrepare prepare) {
  SpawnableRegistry& registry = Spawnables();
  MutexLock lock(&registry.mutex);
  auto [it, inserted] = registry.by_name.try_emplace(std::move(name));
  if (!inserted) {
    SNOW_CHECK(it->second.identity == identity,
               "RegisterSpawnable: two functions registered under one name");
    return;
  }
  it->second = Spawnable{identity, std::move(prepare)};
}

absl::StatusOr<SpawnStart> PrepareSpawn(std::string_view function, wire::ByteSpan args,
                                        wire::CodecContext* context,
                                        const wire::DecodeLimits& limits) {
  SpawnPrepare prepare;
  {
    SpawnableRegistry& registry = Spawnables();
    MutexLock lock(&registry.mutex);
    auto it = registry.by_name.find(AbslView(function));
    if (it == registry.by_name.end()) {
      return absl::NotFoundError(absl::StrCat("no function is registered as \"", AbslView(function),
                                              "\" for remote spawn (dist::RegisterSpawnable)"));
    }
    prepare = it->second.prepare;
  }
  absl::StatusOr<SpawnStart> start = prepare(args, context, limits);
  if (!start.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the arguments of \"", AbslView(function),
                     "\" do not match its parameters: ", start.status().message()));
  }
  return start;
}

absl::StatusOr<std::string> EncodeSpawnArgs(Self self, const wire::ErasedCodec& codec,
                                            const void* args) {
  Node* node = NodeOf(self.runtime());
  if (node == nullptr) {
    return absl::FailedPreconditionError("this runtime is not a node (call dist::Start)");
  }
  NamedSendPids pids(node);
  wire::EncodeOptions options;
  options.context = &pids;
  wire::ByteBuffer bytes;
  absl::Status status;
  {
    wire::Writer w(bytes, options);
    w.WriteVersion();
    codec.encode(w, args);
    status = w.Finish();
  }
  if (!status.ok()) return status;
  return std::string(bytes.chars());
}

Task<absl::StatusOr<SpawnedMonitor>> SpawnRemote(Self self, std::string node_name,
                                                 std::string function,
                                                 absl::StatusOr<std::string> args, SpawnHow how) {
  if (!args.ok()) co_return args.status();
  Node* node = NodeOf(self.runtime());
  if (node == nullptr) {
    co_return absl::FailedPreconditionError("this runtime is not a node (call dist::Start)");
  }
  if (!IsConnected(self, node_name)) {
    absl::Status connected = co_await dist::Connect(self, node_name);
    if (!connected.ok()) co_return connected;
  }
  const uint64_t monitor_ref = how == SpawnHow::kMonitor ? remote::NewRef() : 0;
  Ref call = self.MakeRef();  // marks the mailbox: the reply can only come after it
  SpawnRequest request{function,    self.pid(),
                       call.bits(), how == SpawnHow::kLink,
                       monitor_ref, wire::Binary{std::move(*args)}};
  absl::Status sent = node->StartSpawn(self.pid(), node_name, std::move(request));
  if (!sent.ok()) co_return sent;
  absl::StatusOr<absl::StatusOr<Pid>> reply = co_await AwaitReply<absl::StatusOr<Pid>>(
      self, call, Pid(), absl::StrCat("spawn of \"", function, "\" on ", node_name),
      node->options().spawn_timeout);
  absl::Status status = reply.ok() ? reply->status() : reply.status();
  if (!status.ok()) {
    // No child to watch: the monitor noted for it goes (without a word to the peer).
    if (monitor_ref != 0) self.Demonitor(Ref::FromBits(monitor_ref), DemonitorOption::kFlush);
    co_return status;
  }
  const Pid child = **reply;
  if (monitor_ref != 0) node->SpawnedChildKnown(self.pid(), child, monitor_ref);
  co_return SpawnedMonitor{child, Ref::FromBits(monitor_ref)};
}

Task<absl::StatusOr<Pid>> SpawnLinkOnFirst(Self self, std::vector<std::string> nodes,
                                           std::string function, absl::StatusOr<std::string> args) {
  if (!args.ok()) co_return args.status();
  std::string errors;
  absl::StatusCode code = absl::StatusCode::kInvalidArgument;
  for (const std::string& node : nodes) {
    absl::StatusOr<SpawnedMonitor> spawned =
        co_await SpawnRemote(self, node, function, *args, SpawnHow::kLink);
    if (spawned.ok()) co_return spawned->pid;
    code = spawned.status().code();
    absl::StrAppend(&errors, errors.empty() ? "" : "; ", node, ": ", spawned.status().message());
  }
  co_return absl::Status(code, absl::StrCat("no node could start \"", function, "\" (", errors,
                                            nodes.empty() ? "no nodes given" : "", ")"));
}

Task<absl::StatusOr<Pid>> SpawnRemotePid(Self self, std::string node, std::string function,
                                         absl::StatusOr<std::string> args, SpawnHow how) {
  absl::StatusOr<SpawnedMonitor> spawned =
      co_await SpawnRemote(self, std::move(node), std::move(function), std::move(args), how);
  if (!spawned.ok()) co_return spawned.status();
  co_return spawned->pid;
}

}  // namespace snow::dist_internal
