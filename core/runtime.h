// File: core/runtime.h
//
// Runtime: S shards (by default one per CPU this process may use), each a thread pinned to its
// CPU with its own io_uring. Programs enter through snow::Run, which returns when the main actor
// ends (or on SIGINT/SIGTERM, after stopping every actor):
//
//   Task<absl::Status> Main(Self self) { ...; co_return absl::OkStatus(); }
//   int main(int argc, char** argv) {
//     return snow::Run(snow::RuntimeOptions::FromArgs(argc, argv), Main);
//   }
//
// Lower level, for tests and embedders: Runtime::Create, Spawn from outside, Wait.
// When the main actor ends, the runtime stops: every other actor is destroyed at its suspension
// point (its awaiters unregister; in-flight I/O is cancelled) and Run/Wait return.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "snow/core/actor.h"
#include "snow/core/internal/shard.h"
#include "snow/core/mutex.h"
#include "snow/core/pid.h"
#include "snow/core/remote.h"

namespace snow {

struct RuntimeOptions;
class Runtime;
namespace core_internal {
int RunMain(RuntimeOptions options, absl::AnyInvocable<void(Runtime&)> spawn_main);
}

enum class Clock : uint8_t {
  kReal,
  // Tests: time stands still while anything can run and jumps to the next timer when every
  // actor is blocked, so timeouts are exact and instant. One shard only. If every actor is
  // blocked with no timer or I/O pending, the runtime stops with kDeadlineExceeded.
  kVirtual,
};

struct RuntimeOptions {
  uint32_t shards = 0;  // 0: one per CPU in the process's affinity mask
  bool pin_threads = true;
  // How long an idle shard polls before it parks in the kernel (waking a parked vCPU costs
  // ~25 µs on the reference machine); 0 parks at once.
  absl::Duration spin = absl::Microseconds(50);
  Clock clock = Clock::kReal;
  bool log_crashes = true;  // one stderr line per actor that ends by an exception

  // Reads --snow-shards=N, --snow-spin-us=N and --snow-no-pin; leaves other arguments to the
  // program. Exits with status 2 and a message on a malformed value. A program with no options
  // of its own gets --help (and -h) here: the runtime's options on stdout, then exit 0. A
  // program with its own options answers --help itself, before calling this, and prints
  // kUsage among them.
  static RuntimeOptions FromArgs(int argc, char** argv);
  static constexpr const char* kUsage =
      "runtime options (every Snow program):\n"
      "  --snow-shards=N    shards (threads, one io_uring each); default: one per allowed CPU\n"
      "  --snow-spin-us=N   how long an idle shard polls before it sleeps (default 50)\n"
      "  --snow-no-pin      do not pin shard threads to CPUs\n";
};

struct RuntimeStats {
  uint64_t messages_dropped = 0;  // sent to a dead or unknown PID
  uint64_t actors_spawned = 0;
  uint64_t actors_exited = 0;
  uint64_t actors_crashed = 0;  // ended by an exception
  uint64_t live_actors = 0;
  uint64_t parks = 0;           // times a shard slept in the kernel
  uint64_t timers_pending = 0;  // armed timers: sleeps, receive timeouts, SendAfter
  // Messages lost to a bounded mailbox (core/mailbox.h); also in messages_dropped.
  uint64_t mailbox_overflows = 0;
};

class Runtime {
 public:
  // Starts the shard threads. Fails if io_uring cannot be set up.
  static absl::StatusOr<std::unique_ptr<Runtime>> Create(RuntimeOptions options);
  // Stops (if still running) and joins the shards.
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  uint32_t shard_count() const { return static_cast<uint32_t>(shards_.size()); }
  const RuntimeOptions& options() const { return options_; }

  // From any thread outside the runtime: starts an actor. The first actor spawned with
  // `main = true` decides when Wait returns.
  template <typename Fn, typename... Args>
  Pid Spawn(SpawnOptions options, Fn fn, Args&&... args) {
    return core_internal::SpawnActor(core_internal::Shard::Current(), *this, options, {}, fn,
                                     std::forward<Args>(args)...);
  }
  template <typename Fn, typename... Args>
  Pid SpawnMain(Fn fn, Args&&... args) {
    return core_internal::SpawnActor(core_internal::Shard::Current(), *this, SpawnOptions{},
                                     {.is_main = true}, fn, std::forward<Args>(args)...);
  }
  // From any thread outside the runtime (actors use Self::Send).
  template <typename T>
  void Send(Pid to, T&& message) {
    PostFromOutside(core_internal::Box<std::decay_t<T>>(to, std::forward<T>(message)));
  }

  // Blocks until the main actor ends or Stop is called; returns the main actor's exit reason
  // (or Stop's). Stops every shard before returning.
  absl::Status Wait();
  // Any thread: asks every shard to stop; Wait returns `reason`. The first reason wins.
  void Stop(absl::Status reason);
  // Any thread: whether Stop has been called (the main actor ended, a signal came, or Stop).
  bool stopping() const { return stop_requested_.load(std::memory_order_acquire); }

  RuntimeStats stats() const;
  // Any thread: `pid` as logs print it: <0.S.N>, or with the node's name once the runtime is a
  // node of a cluster (<a@host:4370.S.N>), so that lines from several nodes can be told apart.
  std::string PidText(Pid pid) const;
  // Any thread: the name of the node `pid` lives on ("" when the runtime is not a node).
  std::string NodeNameOf(Pid pid) const;
  // How the shards' io_uring rings were set up: "single_issuer+defer_taskrun" where the kernel
  // has it, else "coop_taskrun" or "plain".
  const char* io_uring_mode() const { return shards_.front()->reactor().setup_mode(); }

  // Local registry: names -> PIDs for this runtime. Self::Register/WhereIs call these.
  absl::Status Register(std::string name, Pid pid);
  std::optional<Pid> WhereIs(std::string_view name) const;

  // --- For the shards and dist/ ---
  core_internal::Shard& shard(ShardId id) { return *shards_[id]; }
  void ReleaseName(std::string_view name, Pid pid);
  void OnMainExit(absl::Status reason) { Stop(std::move(reason)); }
  // A transport for PIDs of other nodes (core/remote.h; dist::Start installs one), once; the
  // runtime owns it and destroys it after every shard has stopped. Without one, such PIDs are
  // unreachable (noconnection).
  absl::Status SetTransport(std::unique_ptr<Transport> transport);
  Transport* transport() const { return transport_.load(std::memory_order_acquire); }
  // From a shard's thread: runs `fn` on shard `target`'s thread, after what this shard already
  // sent there (the way a transport hands work to the shard that owns a connection).
  void SubmitTo(ShardId target, absl::AnyInvocable<void()> fn);
  uint64_t NextExternalSerial();
  ShardId NextRoundRobin() {
    return round_robin_.fetch_add(1, std::memory_order_relaxed) % shard_count();
  }

 private:
  friend int core_internal::RunMain(RuntimeOptions, absl::AnyInvocable<void(Runtime&)>);
  explicit Runtime(RuntimeOptions options) : options_(options) {}
  // Wait, returning early with the signal number when `signal_fd` (a signalfd) is readable.
  absl::Status WaitFor(int signal_fd, int* signal_number);
  void PostFromOutside(core_internal::Envelope* e);
  void StopAndJoin();

  RuntimeOptions options_;
  std::vector<std::unique_ptr<core_internal::Shard>> shards_;
  std::vector<std::thread> threads_;
  std::atomic<uint64_t> external_counter_{1};
  std::atomic<uint32_t> round_robin_{0};
  int done_fd_ = -1;  // eventfd, signalled when the runtime should stop
  std::atomic<bool> stop_requested_{false};
  Mutex stop_mutex_;
  std::optional<absl::Status> stop_reason_ ABSL_GUARDED_BY(stop_mutex_);
  bool joined_ = false;
  std::atomic<Transport*> transport_{nullptr};
  std::unique_ptr<Transport> transport_owner_;

  // The registry takes a lock: registration is rare and lookups are short; the per-message
  // path (Send to a PID) never touches it.
  mutable Mutex registry_mutex_;
  absl::flat_hash_map<std::string, Pid> names_ ABSL_GUARDED_BY(registry_mutex_);
};

// Runs `main(Self, args...)` as the main actor of a new runtime and returns a process exit code:
// 0 when it ends normally, 1 (with the reason on stderr) when it ends abnormally or the runtime
// cannot start, 130/143 after SIGINT/SIGTERM (every actor is stopped first; the first signal
// decides the code, and another one sent while the runtime stops is taken and ignored).
template <typename Fn, typename... Args>
int Run(RuntimeOptions options, Fn main, Args&&... args) {
  auto start = [&](Runtime& runtime) { runtime.SpawnMain(main, std::forward<Args>(args)...); };
  return core_internal::RunMain(options, start);
}

}  // namespace snow
