// File: core/io.h
//
// Io: submit one io_uring operation from a coroutine on a shard and resume when it completes.
// This is the interface net/ builds sockets on; the operations are named by IoOp so that only
// core/reactor/*.cc deals with liburing.
//
//   char buffer[4096];
//   int n = co_await Io({.op = IoOp::kRecv, .fd = fd, .buffer = buffer, .length = 4096},
//                       absl::Seconds(5));
//   if (n < 0) return ErrnoToStatus(n, "recv");   // -ETIMEDOUT when the 5 s ran out
//
// Result: the operation's result, >= 0 on success or a negative errno; -ETIMEDOUT when the
// timeout fired first; -ECANCELED when the operation was cancelled.
// Shard affinity: awaited on a shard thread; resumes on the same shard.
// Lifetime and cancellation: the buffer and address must stay valid until the await finishes.
// If the awaiting coroutine is destroyed while the operation is in flight (an actor killed
// mid-read), the awaiter's destructor cancels the operation and waits for the kernel to let go
// of the buffer, so no completion ever points at freed memory.
#pragma once

#include <sys/socket.h>

#include <coroutine>
#include <cstdint>

#include "absl/time/time.h"
#include "snow/core/internal/runnable.h"

namespace snow {

enum class IoOp : uint8_t {
  kNop,
  kRead,      // read(fd, buffer, length) at offset (-1: current position)
  kWrite,     // write(fd, buffer, length) at offset (-1: current position)
  kRecv,      // recv(fd, buffer, length, flags)
  kSend,      // send(fd, buffer, length, flags)
  kAccept,    // accept4(fd, address, address_length, flags)
  kConnect,   // connect(fd, address, *address_length)
  kClose,     // close(fd)
  kShutdown,  // shutdown(fd, flags as `how`)
  kPollAdd,   // poll(fd, flags as the event mask), one shot
};

struct IoRequest {
  IoOp op = IoOp::kNop;
  int fd = -1;
  void* buffer = nullptr;
  uint32_t length = 0;
  int64_t offset = -1;
  int flags = 0;
  sockaddr* address = nullptr;
  socklen_t* address_length = nullptr;
};

namespace core_internal {
class Shard;
// What a CQE's user_data points at. `flags` are the CQE flags (IORING_CQE_F_MORE: more
// completions follow). OnCompletion must not resume a coroutine inline; it records the result
// and schedules the waiter (see core/reactor/reactor.h).
struct IoTarget {
  void (*on_completion)(IoTarget* self, int32_t result, uint32_t flags) = nullptr;
};
// Laid out as the kernel's __kernel_timespec (checked in reactor.cc): the timeout of a linked
// IORING_OP_LINK_TIMEOUT, which the kernel reads when the SQE is submitted.
struct KernelTimespec {
  int64_t tv_sec;
  int64_t tv_nsec;
};
}  // namespace core_internal

class [[nodiscard]] IoAwaitable {
 public:
  IoAwaitable(IoRequest request, absl::Duration timeout) : request_(request), timeout_(timeout) {}
  IoAwaitable(const IoAwaitable&) = delete;
  IoAwaitable& operator=(const IoAwaitable&) = delete;
  ~IoAwaitable();

  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> awaiter);
  int await_resume() const noexcept { return result_; }

 private:
  struct Target : core_internal::IoTarget {
    Target(void (*fn)(IoTarget*, int32_t, uint32_t), IoAwaitable* o) : owner(o) {
      on_completion = fn;
    }
    IoAwaitable* owner;
  };
  static void OnOperation(core_internal::IoTarget* target, int32_t result, uint32_t flags);
  static void OnTimeout(core_internal::IoTarget* target, int32_t result, uint32_t flags);
  void Finish();

  IoRequest request_;
  absl::Duration timeout_;
  Target operation_{&IoAwaitable::OnOperation, this};
  Target timeout_target_{&IoAwaitable::OnTimeout, this};
  core_internal::Runnable runnable_;
  core_internal::Shard* shard_ = nullptr;
  // Holds the linked timeout's timespec until the SQE is submitted with the shard's next batch
  // (this awaiter outlives the submission: its destructor submits before it returns).
  core_internal::KernelTimespec timeout_storage_{};
  int outstanding_ = 0;  // completions still to come from the kernel
  int result_ = 0;
  bool timed_out_ = false;
};

// Starts `request` when awaited. A finite `timeout` cancels it when it runs out.
inline IoAwaitable Io(IoRequest request, absl::Duration timeout = absl::InfiniteDuration()) {
  return IoAwaitable(request, timeout);
}

}  // namespace snow
