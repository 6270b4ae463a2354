// File: core/reactor/reactor.h
//
// Reactor: one io_uring per shard, used only by that shard's thread (the ring is set up with
// SINGLE_ISSUER | DEFER_TASKRUN where the kernel has them, so completion work runs when the
// shard asks for it and sockets never interrupt it). Anything that submits I/O is an IoTarget:
// the reactor passes each completion to the target named by the CQE's user_data.
//
// A target's OnCompletion must not resume a coroutine inline: it records the result and
// schedules the waiter. That rule lets the reactor reap completions anywhere, including while
// an awaiter's destructor waits for its cancellation to finish (CancelAndWait).
//
// Only core/reactor/*.cc include liburing; this header names io_uring types only by pointer.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "snow/core/io.h"

struct io_uring;
struct io_uring_sqe;

namespace snow::core_internal {

struct ReactorOptions {
  uint32_t queue_depth = 1024;
};

class Reactor {
 public:
  static absl::StatusOr<std::unique_ptr<Reactor>> Create(const ReactorOptions& options);
  ~Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  // Queues `request` for `target`; with a finite timeout a linked timeout goes with it and
  // `timeout_target` receives its completion. Submitted at the next Poll. The kernel reads the
  // timeout from `timeout_storage` at submission, so it must stay valid until then; without
  // storage, the pair is submitted at once (one extra io_uring_enter).
  void Submit(const IoRequest& request, IoTarget* target, int64_t timeout_ns,
              IoTarget* timeout_target, KernelTimespec* timeout_storage = nullptr);
  // Asks the kernel to cancel the operation of `target` and reaps completions until `done`
  // says it has finished. For destructors of awaiters whose operation is in flight.
  template <typename Done>
  void CancelAndWait(IoTarget* target, Done done) {
    QueueCancel(target);
    while (!done()) Poll(/*wait=*/true, /*timeout_ns=*/-1);
  }

  // Submits what is queued and dispatches completions. With `wait`, blocks in the kernel until
  // at least one completion arrives, `timeout_ns` passes (negative: no limit) or Wake is called.
  // Returns the number of completions dispatched.
  int Poll(bool wait, int64_t timeout_ns);

  // Passes one completion to the target named by `user_data`, as Poll does for each CQE. False
  // for completions that name no target: cancellations, and the internal timeout that
  // liburing's timed wait queues on kernels without IORING_FEAT_EXT_ARG (before 5.11), whose
  // user_data is kLibraryTimeout.
  bool Dispatch(uint64_t user_data, int32_t result, uint32_t flags);
  static constexpr uint64_t kLibraryTimeout = ~uint64_t{0};

  // Any thread: makes a waiting Poll return.
  void Wake();

  // Operations submitted and not yet completed, not counting the reactor's own wake-up read.
  int64_t in_flight() const { return in_flight_; }
  bool has_pending_submissions() const { return pending_ > 0; }
  // How the ring was set up (Runtime::io_uring_mode).
  const char* setup_mode() const { return setup_mode_; }

 private:
  Reactor() = default;
  io_uring_sqe* NextSqe();
  void QueueCancel(IoTarget* target);
  void ArmWakeRead();
  static void OnWake(IoTarget* self, int32_t result, uint32_t flags);

  std::unique_ptr<io_uring> ring_;
  int wake_fd_ = -1;
  uint64_t wake_buffer_ = 0;
  struct WakeTarget : IoTarget {
    Reactor* reactor;
  } wake_target_;
  int64_t in_flight_ = 0;
  int pending_ = 0;
  const char* setup_mode_ = "";
};

}  // namespace snow::core_internal
