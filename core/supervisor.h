// File: core/supervisor.h
//
// Supervisors with OTP's semantics. A supervisor is an actor that starts its children in
// order, restarts them by its strategy when they end, and gives up — stops them in reverse
// order and exits with reason shutdown — when restarts come faster than its intensity allows,
// so that its own supervisor can act. Specs are plain data:
//
//   Task<absl::Status> Main(Self self) {
//     Pid sup = self.SpawnLink(Supervise, SupervisorSpec{
//         .strategy = Strategy::kOneForOne, .intensity = 3, .period = absl::Seconds(5),
//         .children = {{.id = "cache", .start = Start(Cache)},
//                      {.id = "http", .start = Start(HttpServer, port)}}});
//     ...
//   }
//
// Strategies: kOneForOne restarts the child that ended; kOneForAll stops the others (in
// reverse start order) and restarts all in order; kRestForOne does the same for the children
// started after it; kSimpleOneForOne has one template child spec and children added at run
// time with StartChild, each restarted on its own.
// Restart types: kPermanent always restarted; kTransient only after an abnormal exit (not
// normal, not shutdown); kTemporary never, and forgotten when it ends.
// Stopping a child: exit signal shutdown, then `kill` if it has not ended within its
// `shutdown` duration (kBrutalKill: `kill` at once; InfiniteDuration: wait, for supervisors).
//
// The supervisor traps exits. When its parent (the actor that SpawnLink-ed it) ends, it stops
// its children in reverse order and ends with the parent's reason. A child whose start fails
// at the supervisor's start stops the supervisor (already started children are stopped first)
// with a shutdown reason naming the child; a start that fails on restart counts as a restart
// and is retried. With RuntimeOptions::log_crashes, each abnormal child exit and each failed
// start is reported on stderr.
//
// A child's start is its spawn: children are spawned in order, but there is no init handshake
// (OTP's proc_lib init_ack), so a child on another shard may run after the next one started.
// A child may run on another node (dist::StartOn in dist/spawn.h, with a list of candidate
// nodes): its crash is handled like a local child's, the loss of its node is an exit with
// noconnection (a permanent child is then restarted on the first reachable candidate), and it
// is stopped the same way. WhichChildren says where each child runs.
//
// Build a spec in a named local before passing it to a co_await-ed call (docs/pitfalls.md):
// g++ 12 frees a braced temporary inside a co_await expression wrongly.
//   ChildSpec spec{.id = "w", .start = Start(Worker)};
//   absl::StatusOr<Pid> pid = co_await StartChild(self, sup, std::move(spec));
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "snow/core/actor.h"
#include "snow/core/pid.h"
#include "snow/core/task.h"

namespace snow {

enum class Strategy : uint8_t { kOneForOne, kOneForAll, kRestForOne, kSimpleOneForOne };
enum class Restart : uint8_t { kPermanent, kTransient, kTemporary };
enum class ChildType : uint8_t { kWorker, kSupervisor };

// Starts a child, linked to the supervisor `self`, and returns its PID, or an error if the
// start failed. Called again for each restart. A start may wait (a child on another node:
// dist::StartOn in dist/spawn.h); the supervisor handles nothing else meanwhile, as OTP's waits
// for a child's init.
using ChildStart = std::function<Task<absl::StatusOr<Pid>>(Self self)>;

namespace core_internal {
// A spawn that throws (copying an argument, say) is a failed start, not the supervisor's crash.
template <typename Fn, typename... Args>
Task<absl::StatusOr<Pid>> SpawnLinkChild(Self self, SpawnOptions options, Fn fn, Args... args) {
  absl::StatusOr<Pid> pid;
  try {
    pid = self.SpawnLink(options, fn, std::move(args)...);
  } catch (const std::exception& e) {
    pid = absl::InternalError(e.what());
  }
  co_return pid;
}
}  // namespace core_internal

// The usual ChildStart: SpawnLink(fn, args...) with a fresh copy of `args` for each start.
template <typename Fn, typename... Args>
ChildStart Start(SpawnOptions options, Fn fn, Args... args) {
  // The coroutine takes copies: nothing it holds refers to this closure.
  return [options, fn, args...](Self self) {
    return core_internal::SpawnLinkChild(self, options, fn, args...);
  };
}
template <typename Fn, typename... Args>
ChildStart Start(Fn fn, Args... args) {
  return Start(SpawnOptions{}, fn, std::move(args)...);
}

// Stop the child with `kill` at once, without asking.
inline constexpr absl::Duration kBrutalKill = absl::ZeroDuration();

// Every member has a default initializer, so designated initializers may leave any out
// without -Wmissing-field-initializers.
struct ChildSpec {
  std::string id = {};  // unique among the supervisor's children (ignored by kSimpleOneForOne)
  ChildStart start = {};
  Restart restart = Restart::kPermanent;
  absl::Duration shutdown = absl::Seconds(5);
  ChildType type = ChildType::kWorker;
};

struct SupervisorSpec {
  Strategy strategy = Strategy::kOneForOne;
  // At most `intensity` restarts in any `period`; one more and the supervisor gives up.
  int intensity = 1;
  absl::Duration period = absl::Seconds(5);
  // Started in this order, stopped in reverse. kSimpleOneForOne: exactly one, the template
  // whose restart, shutdown and type every dynamic child gets.
  std::vector<ChildSpec> children = {};
};

// The supervisor actor. Spawn it with SpawnLink (from its parent, or as a child: Start(Supervise,
// spec) with .type = ChildType::kSupervisor and .shutdown = absl::InfiniteDuration()).
Task<absl::Status> Supervise(Self self, SupervisorSpec spec);

struct ChildInfo {
  std::string id;
  Pid pid;  // null when not running
  ChildType type;
  Restart restart;
  std::string node;  // where it runs: its node's name, "" for this node when it is not a node
};

struct ChildCounts {
  int specs = 0;   // children the supervisor knows
  int active = 0;  // running
  int supervisors = 0;
  int workers = 0;
};

// Run-time management, each a Call to `supervisor` (core/service.h): the errors of Call, plus
// those listed. `timeout` bounds the whole call, including a child's shutdown.
//
// Adds and starts a child. kAlreadyExists: the id is taken. The start's own error if it
// fails (the child is then not added). kSimpleOneForOne: only spec.start is used (empty: the
// template's), with the template's restart, shutdown and type.
Task<absl::StatusOr<Pid>> StartChild(Self self, Pid supervisor, ChildSpec spec,
                                     absl::Duration timeout = absl::InfiniteDuration());
// Stops a child but keeps its spec (a temporary child's spec is dropped). kNotFound: no such
// child. kSimpleOneForOne children are named by PID (the child is removed).
Task<absl::Status> TerminateChild(Self self, Pid supervisor, std::string id,
                                  absl::Duration timeout = absl::InfiniteDuration());
Task<absl::Status> TerminateChild(Self self, Pid supervisor, Pid child,
                                  absl::Duration timeout = absl::InfiniteDuration());
// Starts a stopped child again. kFailedPrecondition: it is running. kNotFound: no such child.
Task<absl::StatusOr<Pid>> RestartChild(Self self, Pid supervisor, std::string id,
                                       absl::Duration timeout = absl::InfiniteDuration());
// Forgets a stopped child. kFailedPrecondition: it is running. kNotFound: no such child.
Task<absl::Status> DeleteChild(Self self, Pid supervisor, std::string id,
                               absl::Duration timeout = absl::InfiniteDuration());
// The children in start order.
Task<absl::StatusOr<std::vector<ChildInfo>>> WhichChildren(
    Self self, Pid supervisor, absl::Duration timeout = absl::InfiniteDuration());
Task<absl::StatusOr<ChildCounts>> CountChildren(Self self, Pid supervisor,
                                                absl::Duration timeout = absl::InfiniteDuration());

}  // namespace snow
