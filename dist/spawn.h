// File: dist/spawn.h
//
// Remote spawn (Erlang's spawn(Node, M, F, A)): a program registers actor functions under stable
// names, and a connected node starts them there by name, with arguments that cross the wire:
//
//   Task<absl::Status> KvShard(Self self, std::string table, int64_t capacity);
//   dist::RegisterSpawnable("kv.shard", KvShard);   // in the program that runs it, at start
//
//   absl::StatusOr<Pid> shard =
//       co_await dist::Spawn(self, node, "kv.shard", std::string("users"), int64_t{1000});
//
// Two separately built programs agree on the name and on the arguments' wire forms (wire/STF.md),
// not on C++ types: the caller's arguments are encoded as a tuple and decoded as the function's
// parameters. SpawnLink and SpawnMonitor set up the link or monitor before the child first runs,
// so a child that dies at once is still noticed. The child runs on a shard of the node chosen
// round-robin. Errors come back to the caller:
//   kNotFound           nothing is registered under that name on the node;
//   kInvalidArgument    the arguments do not decode as the function's parameters (with the
//                       field path, "{1}" for the second);
//   kUnavailable        the node is unreachable, or its connection was lost before the reply;
//   kDeadlineExceeded   no reply within NodeOptions::spawn_timeout;
//   kFailedPrecondition this runtime is not a node.
// The node is connected first when it is not (dist::Connect's errors).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "snow/core/actor.h"
#include "snow/core/remote.h"
#include "snow/core/supervisor.h"
#include "snow/core/task.h"
#include "snow/dist/message.h"
#include "snow/wire/codec.h"
#include "snow/wire/erased.h"

namespace snow::dist_internal {

// Starts a registered function whose arguments have been decoded: (parent, link, monitor_ref)
// as remote::SpawnFor takes them.
using SpawnStart = std::function<Pid(Pid parent, bool link, uint64_t monitor_ref)>;
// Decodes a tuple term of arguments (version byte first) into a SpawnStart, or says why not.
using SpawnPrepare = std::function<absl::StatusOr<SpawnStart>(
    wire::ByteSpan args, wire::CodecContext* context, const wire::DecodeLimits& limits)>;

// Records `prepare` under `name`; `identity` tells a second registration of the same function
// (ignored) from another function under the same name (a programming error, checked).
void RegisterSpawnable(std::string name, const void* identity, SpawnPrepare prepare);

enum class SpawnHow : uint8_t { kPlain, kLink, kMonitor };

// Encodes `args` (a `codec`) for a spawn on a node of `self`'s runtime.
absl::StatusOr<std::string> EncodeSpawnArgs(Self self, const wire::ErasedCodec& codec,
                                            const void* args);
Task<absl::StatusOr<SpawnedMonitor>> SpawnRemote(Self self, std::string node, std::string function,
                                                 absl::StatusOr<std::string> args, SpawnHow how);

// What an argument travels as: string literals and other text as std::string.
template <class T>
using SpawnArg =
    std::conditional_t<std::is_convertible_v<const std::decay_t<T>&, std::string_view> &&
                           !std::is_same_v<std::decay_t<T>, std::string>,
                       std::string, std::decay_t<T>>;

template <class... Args>
absl::StatusOr<std::string> EncodeArgs(Self self, Args&&... args) {
  using Tuple = std::tuple<SpawnArg<Args>...>;
  static_assert((wire::Wireable<SpawnArg<Args>> && ...),
                "the arguments of a remote spawn must be encodable by wire/ (no pointers, "
                "references or closures)");
  const Tuple tuple(std::forward<Args>(args)...);
  return EncodeSpawnArgs(self, wire::ErasedCodecFor<Tuple>(), &tuple);
}

// SpawnLink on each of `nodes` in turn until one starts the child (StartOn).
Task<absl::StatusOr<Pid>> SpawnLinkOnFirst(Self self, std::vector<std::string> nodes,
                                           std::string function, absl::StatusOr<std::string> args);

// SpawnRemote for Spawn and SpawnLink, which give the PID alone.
Task<absl::StatusOr<Pid>> SpawnRemotePid(Self self, std::string node, std::string function,
                                         absl::StatusOr<std::string> args, SpawnHow how);

}  // namespace snow::dist_internal

namespace snow::dist {

// Registers `fn` for remote spawn under `name` (once per program; a second registration of the
// same function is ignored). Its parameters after Self must be values that wire/ can decode.
template <class... Args>
void RegisterSpawnable(std::string_view name, Task<absl::Status> (*fn)(Self, Args...)) {
  static_assert((std::is_same_v<Args, std::decay_t<Args>> && ...),
                "a spawnable function takes its parameters by value: they are decoded into the "
                "new actor");
  static_assert((!std::is_pointer_v<Args> && ...),
                "a spawnable function's parameters must not be raw pointers: they are decoded "
                "from a message, and what a pointer points to is on another node");
  static_assert((wire::Wireable<Args> && ...),
                "a spawnable function's parameters must be decodable by wire/");
  static_assert((std::is_default_constructible_v<Args> && ...),
                "a spawnable function's parameters must be default-constructible (they are "
                "decoded in place)");
  dist_internal::RegisterSpawnable(
      std::string(name), reinterpret_cast<const void*>(fn),
      [fn](wire::ByteSpan bytes, wire::CodecContext* context,
           const wire::DecodeLimits& limits) -> absl::StatusOr<dist_internal::SpawnStart> {
        auto args = std::make_shared<std::tuple<Args...>>();
        absl::Status decoded = wire::DecodeInto(bytes, *args, limits, context);
        if (!decoded.ok()) return decoded;
        return dist_internal::SpawnStart([fn, args](Pid parent, bool link, uint64_t monitor_ref) {
          return std::apply(
              [&](Args&... a) {
                return remote::SpawnFor(parent, link, monitor_ref, fn, std::move(a)...);
              },
              *args);
        });
      });
}

// Starts the function registered as `function` on `node` with `args`; its PID once it exists.
// The arguments are encoded at the call, so nothing refers to them afterwards.
template <class... Args>
Task<absl::StatusOr<Pid>> Spawn(Self self, std::string node, std::string function, Args&&... args) {
  return dist_internal::SpawnRemotePid(self, std::move(node), std::move(function),
                                       dist_internal::EncodeArgs(self, std::forward<Args>(args)...),
                                       dist_internal::SpawnHow::kPlain);
}

// Spawn, linked to the caller before the child first runs.
template <class... Args>
Task<absl::StatusOr<Pid>> SpawnLink(Self self, std::string node, std::string function,
                                    Args&&... args) {
  return dist_internal::SpawnRemotePid(self, std::move(node), std::move(function),
                                       dist_internal::EncodeArgs(self, std::forward<Args>(args)...),
                                       dist_internal::SpawnHow::kLink);
}

// Spawn, monitored by the caller before the child first runs: the PID and the monitor's ref.
template <class... Args>
Task<absl::StatusOr<SpawnedMonitor>> SpawnMonitor(Self self, std::string node, std::string function,
                                                  Args&&... args) {
  return dist_internal::SpawnRemote(self, std::move(node), std::move(function),
                                    dist_internal::EncodeArgs(self, std::forward<Args>(args)...),
                                    dist_internal::SpawnHow::kMonitor);
}

// A supervisor child start (ChildSpec::start, core/supervisor.h) that runs `function` with
// `args` on the first of `nodes` that starts it, linked to the supervisor. When the node of a
// permanent child is lost, the child's exit (noconnection) restarts it, on the first of `nodes`
// reachable then (failover), within the supervisor's intensity. Fails with every node's error
// when none can start it.
//
//   ChildSpec shard{.id = "kv.1", .start = dist::StartOn({b, c}, "kv.shard", std::string("t"))};
template <class... Args>
ChildStart StartOn(std::vector<std::string> nodes, std::string function, Args... args) {
  static_assert((wire::Wireable<dist_internal::SpawnArg<Args>> && ...),
                "the arguments of a remote spawn must be encodable by wire/");
  return [nodes = std::move(nodes), function = std::move(function), args...](Self self) {
    return dist_internal::SpawnLinkOnFirst(self, nodes, function,
                                           dist_internal::EncodeArgs(self, args...));
  };
}

}  // namespace snow::dist
