#include "snow/core/runtime.h"

#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <barrier>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <latch>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "snow/core/remote.h"
#include "snow/core/status.h"

namespace snow {
namespace {

std::vector<int> AllowedCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
    }
  }
  if (cpus.empty()) cpus.push_back(0);
  return cpus;
}

void PinToCpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  // Best effort: a container may forbid it, and an unpinned shard still works.
  sched_setaffinity(0, sizeof(set), &set);
}

}  // namespace

RuntimeOptions RuntimeOptions::FromArgs(int argc, char** argv) {
  RuntimeOptions options;
  auto fail = [](std::string_view arg) {
    std::fprintf(stderr, "snow: bad option %.*s\n", static_cast<int>(arg.size()), arg.data());
    std::exit(2);
  };
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    uint32_t n = 0;
    if (arg == "--help" || arg == "-h") {
      std::printf("usage: %s [runtime options]\n%s", argc > 0 ? argv[0] : "program", kUsage);
      std::exit(0);
    }
    if (arg.starts_with("--snow-shards=")) {
      if (!absl::SimpleAtoi(AbslView(arg.substr(14)), &n) || n > Pid::kMaxShards) fail(arg);
      options.shards = n;
    } else if (arg.starts_with("--snow-spin-us=")) {
      if (!absl::SimpleAtoi(AbslView(arg.substr(15)), &n)) fail(arg);
      options.spin = absl::Microseconds(n);
    } else if (arg == "--snow-no-pin") {
      options.pin_threads = false;
    }
  }
  return options;
}

absl::StatusOr<std::unique_ptr<Runtime>> Runtime::Create(RuntimeOptions options) {
  std::vector<int> cpus = AllowedCpus();
  uint32_t count = options.shards != 0 ? options.shards : static_cast<uint32_t>(cpus.size());
  if (options.clock == Clock::kVirtual) {
    if (options.shards > 1) {
      return absl::InvalidArgumentError("the virtual clock runs on exactly one shard");
    }
    count = 1;
  }
  if (count > Pid::kMaxShards) {
    return absl::InvalidArgumentError(absl::StrCat("at most ", Pid::kMaxShards, " shards"));
  }
  std::unique_ptr<Runtime> runtime(new Runtime(options));
  runtime->done_fd_ = eventfd(0, EFD_CLOEXEC);
  if (runtime->done_fd_ < 0) return ErrnoToStatus(errno, "eventfd");
  core_internal::ShardOptions shard_options;
  shard_options.spin_ns = absl::ToInt64Nanoseconds(options.spin);
  shard_options.clock = options.clock == Clock::kVirtual ? core_internal::ClockKind::kVirtual
                                                         : core_internal::ClockKind::kReal;
  shard_options.log_crashes = options.log_crashes;
  for (uint32_t i = 0; i < count; ++i) {
    runtime->shards_.push_back(
        std::make_unique<core_internal::Shard>(runtime.get(), i, count, shard_options));
  }

  // Each shard sets up its ring on its own thread (SINGLE_ISSUER wants the submitter to be the
  // creator); every shard waits until all are ready, so no one posts to a shard without a ring.
  // The threads outlive this function's frame: what they share lives in `startup`.
  struct Startup {
    explicit Startup(uint32_t n) : init(n), ready(n), stopped(n) {}
    std::vector<absl::Status> init;
    std::latch ready;
    std::atomic<bool> all_ok{true};
    std::barrier<> stopped;
  };
  auto startup = std::make_shared<Startup>(count);
  for (uint32_t i = 0; i < count; ++i) {
    int cpu = cpus[i % cpus.size()];
    runtime->threads_.emplace_back(
        [i, cpu, startup, rt = runtime.get(), pin = options.pin_threads] {
          if (pin) PinToCpu(cpu);
          core_internal::Shard& shard = *rt->shards_[i];
          startup->init[i] = shard.Init();
          if (!startup->init[i].ok()) startup->all_ok.store(false);
          startup->ready.count_down();
          startup->ready.wait();
          if (!startup->all_ok.load()) return;
          shard.Loop();
          // Every shard has stopped its actors before any frees what others sent it since.
          startup->stopped.arrive_and_wait();
          shard.DrainInbox();
        });
  }
  startup->ready.wait();
  if (!startup->all_ok.load()) {
    for (auto& t : runtime->threads_) t.join();
    runtime->threads_.clear();
    runtime->joined_ = true;
    for (const absl::Status& s : startup->init) {
      if (!s.ok()) return s;
    }
  }
  return runtime;
}

Runtime::~Runtime() {
  StopAndJoin();
  transport_.store(nullptr);
  transport_owner_.reset();
  if (done_fd_ >= 0) close(done_fd_);
}

absl::Status Runtime::SetTransport(std::unique_ptr<Transport> transport) {
  MutexLock lock(&stop_mutex_);
  if (transport_owner_ != nullptr) {
    return absl::AlreadyExistsError("this runtime is already a node");
  }
  transport_owner_ = std::move(transport);
  transport_.store(transport_owner_.get(), std::memory_order_release);
  return absl::OkStatus();
}

std::string Runtime::PidText(Pid pid) const {
  Transport* t = transport();
  return t != nullptr ? t->PidText(pid) : pid.ToString();
}

std::string Runtime::NodeNameOf(Pid pid) const {
  Transport* t = transport();
  return t != nullptr ? t->NodeName(pid) : std::string();
}

namespace {

// A function run on another shard (Runtime::SubmitTo), as a control item.
struct Submitted final : core_internal::Envelope {
  absl::AnyInvocable<void()> fn;
};

void FreeSubmitted(Submitted* item) {
  item->~Submitted();
  core_internal::PoolFree(item, sizeof(Submitted));
}

void DestroySubmitted(core_internal::Envelope* e) noexcept {
  FreeSubmitted(static_cast<Submitted*>(e));
}

void RunSubmitted(core_internal::Envelope* e, core_internal::Shard&) {
  auto* item = static_cast<Submitted*>(e);
  std::move(item->fn)();
  FreeSubmitted(item);
}

const char* SubmittedName() { return "submitted function"; }

constinit const core_internal::MessageType kSubmittedType = {&DestroySubmitted, &RunSubmitted,
                                                             &SubmittedName, nullptr};

}  // namespace

void Runtime::SubmitTo(ShardId target, absl::AnyInvocable<void()> fn) {
  core_internal::Shard* current = core_internal::Shard::Current();
  SNOW_CHECK(current != nullptr && target < shard_count(),
             "SubmitTo: call it on a shard's thread, with a shard of this runtime");
  auto* item = new (core_internal::PoolAllocate(sizeof(Submitted))) Submitted();
  item->type = &kSubmittedType;
  // A local PID on the target shard: the item rides that shard's inbox, behind this shard's
  // earlier sends there, and runs when it is taken.
  item->to = Pid::FromParts(0, target, 0);
  item->fn = std::move(fn);
  if (target == current->id()) {
    RunSubmitted(item, *current);
  } else {
    current->Forward(item, target);
  }
}

void Runtime::Stop(absl::Status reason) {
  {
    MutexLock lock(&stop_mutex_);
    if (!stop_reason_.has_value()) stop_reason_ = std::move(reason);
  }
  if (stop_requested_.exchange(true)) return;
  for (auto& shard : shards_) shard->RequestStop();
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(done_fd_, &one, sizeof(one));
}

void Runtime::StopAndJoin() {
  if (joined_) return;
  Stop(absl::CancelledError("runtime destroyed"));
  for (auto& t : threads_) t.join();
  threads_.clear();
  joined_ = true;
}

absl::Status Runtime::Wait() { return WaitFor(-1, nullptr); }

absl::Status Runtime::WaitFor(int signal_fd, int* signal_number) {
  pollfd fds[2] = {{done_fd_, POLLIN, 0}, {signal_fd, POLLIN, 0}};
  for (;;) {
    int n = poll(fds, signal_fd >= 0 ? 2 : 1, -1);
    if (n < 0 && errno == EINTR) continue;
    if (fds[0].revents & POLLIN) break;
    if (signal_fd >= 0 && (fds[1].revents & POLLIN)) {
      signalfd_siginfo info;
      if (read(signal_fd, &info, sizeof(info)) == sizeof(info)) {
        *signal_number = static_cast<int>(info.ssi_signo);
        Stop(absl::CancelledError(absl::StrCat("stopped by signal ", info.ssi_signo)));
        break;
      }
    }
  }
  StopAndJoin();
  MutexLock lock(&stop_mutex_);
  return stop_reason_.value_or(absl::OkStatus());
}

RuntimeStats Runtime::stats() const {
  RuntimeStats s;
  for (const auto& shard : shards_) {
    const core_internal::ShardCounters& c = shard->counters();
    s.messages_dropped += c.messages_dropped.load(std::memory_order_relaxed);
    s.actors_spawned += c.actors_spawned.load(std::memory_order_relaxed);
    s.actors_exited += c.actors_exited.load(std::memory_order_relaxed);
    s.actors_crashed += c.actors_crashed.load(std::memory_order_relaxed);
    s.live_actors += c.live_actors.load(std::memory_order_relaxed);
    s.parks += c.parks.load(std::memory_order_relaxed);
    s.mailbox_overflows += c.mailbox_overflows.load(std::memory_order_relaxed);
    s.timers_pending += shard->timers().published_size();
  }
  return s;
}

absl::Status Runtime::Register(std::string name, Pid pid) {
  if (name.empty()) return absl::InvalidArgumentError("a registered name cannot be empty");
  MutexLock lock(&registry_mutex_);
  auto [it, inserted] = names_.try_emplace(std::move(name), pid);
  if (!inserted) {
    return absl::AlreadyExistsError(
        absl::StrCat("\"", it->first, "\" is already registered to ", it->second.ToString()));
  }
  return absl::OkStatus();
}

std::optional<Pid> Runtime::WhereIs(std::string_view name) const {
  MutexLock lock(&registry_mutex_);
  auto it = names_.find(AbslView(name));
  if (it == names_.end()) return std::nullopt;
  return it->second;
}

void Runtime::ReleaseName(std::string_view name, Pid pid) {
  MutexLock lock(&registry_mutex_);
  auto it = names_.find(AbslView(name));
  if (it != names_.end() && it->second == pid) names_.erase(it);
}

uint64_t Runtime::NextExternalSerial() {
  uint64_t counter = external_counter_.fetch_add(1, std::memory_order_relaxed);
  uint64_t serial = counter * (shard_count() + 1) + shard_count();
  SNOW_CHECK(serial <= Pid::kMaxSerial, "the runtime has used up its external PID serials");
  return serial;
}

void Runtime::PostFromOutside(core_internal::Envelope* e) {
  if (core_internal::Shard* current = core_internal::Shard::Current()) {
    current->Route(e);
    return;
  }
  ShardId target = e->to.shard();
  if (!e->to.is_local() || target >= shard_count() || stop_requested_.load()) {
    core_internal::Destroy(e);
    return;
  }
  shards_[target]->Post(e, e);
}

namespace core_internal {

Shard& ShardOf(Runtime& runtime, ShardId id) { return runtime.shard(id); }

ShardId ChooseShard(Shard* origin, Runtime& runtime, const SpawnOptions& options) {
  switch (options.placement) {
    case Placement::kCallerShard:
      return origin != nullptr ? origin->id() : 0;
    case Placement::kShard:
      SNOW_CHECK(options.shard < runtime.shard_count(), "Spawn on a shard that does not exist");
      return options.shard;
    case Placement::kRoundRobin:
      return runtime.NextRoundRobin();
    case Placement::kLeastLoaded: {
      ShardId best = 0;
      uint64_t best_load = UINT64_MAX;
      for (ShardId i = 0; i < runtime.shard_count(); ++i) {
        uint64_t load = runtime.shard(i).counters().live_actors.load(std::memory_order_relaxed);
        if (load < best_load) {
          best = i;
          best_load = load;
        }
      }
      return best;
    }
  }
  return 0;
}

uint64_t ExternalSerial(Runtime& runtime) { return runtime.NextExternalSerial(); }

int RunMain(RuntimeOptions options, absl::AnyInvocable<void(Runtime&)> spawn_main) {
  sigset_t signals, previous;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  // Blocked before the shard threads start, so they inherit it and the signalfd gets them.
  pthread_sigmask(SIG_BLOCK, &signals, &previous);
  int signal_fd = signalfd(-1, &signals, SFD_CLOEXEC);
  int code = 0;
  {
    absl::StatusOr<std::unique_ptr<Runtime>> runtime = Runtime::Create(options);
    if (!runtime.ok()) {
      std::fprintf(stderr, "snow: cannot start the runtime: %s\n",
                   runtime.status().ToString().c_str());
      code = 1;
    } else {
      spawn_main(**runtime);
      int signal_number = 0;
      absl::Status reason = (*runtime)->WaitFor(signal_fd, &signal_number);
      if (signal_number != 0) {
        code = 128 + signal_number;
      } else if (!reason.ok()) {
        std::fprintf(stderr, "snow: main actor ended: %s\n", reason.ToString().c_str());
        code = 1;
      }
    }
  }
  if (signal_fd >= 0) close(signal_fd);
  // A second SIGINT/SIGTERM sent while the runtime was stopping is still pending: take it
  // here, or restoring the mask would deliver it and end the process by that signal instead
  // of returning the code the first one decided.
  const timespec no_wait = {0, 0};
  while (sigtimedwait(&signals, nullptr, &no_wait) > 0) {
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  return code;
}

}  // namespace core_internal
}  // namespace snow
