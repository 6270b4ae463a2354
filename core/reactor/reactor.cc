#include "snow/core/reactor/reactor.h"

#include <liburing.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

#include "snow/core/status.h"

namespace snow::core_internal {
namespace {

// Completions with this user_data (cancellations) need no dispatch.
constexpr uint64_t kIgnored = 0;
static_assert(Reactor::kLibraryTimeout == LIBURING_UDATA_TIMEOUT);

__kernel_timespec ToTimespec(int64_t ns) {
  __kernel_timespec ts;
  ts.tv_sec = ns / 1'000'000'000;
  ts.tv_nsec = ns % 1'000'000'000;
  return ts;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Reactor>> Reactor::Create(const ReactorOptions& options) {
  std::unique_ptr<Reactor> reactor(new Reactor());
  reactor->ring_ = std::make_unique<io_uring>();
  // Preferred: completion work runs only when this shard polls (no interrupts of a busy shard).
  // Older kernels: cooperative task running, then plain.
  struct Mode {
    unsigned flags;
    const char* name;
  };
  const Mode modes[] = {
      {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, "single_issuer+defer_taskrun"},
      {IORING_SETUP_COOP_TASKRUN, "coop_taskrun"},
      {0, "plain"},
  };
  int error = 0;
  for (const Mode& mode : modes) {
    io_uring_params params = {};
    params.flags = mode.flags | IORING_SETUP_CQSIZE;
    params.cq_entries = options.queue_depth * 8;
    error = io_uring_queue_init_params(options.queue_depth, reactor->ring_.get(), &params);
    if (error == 0) {
      reactor->setup_mode_ = mode.name;
      break;
    }
    if (error != -EINVAL) break;
  }
  if (error != 0) {
    reactor->ring_.reset();
    return ErrnoToStatus(error, "io_uring_queue_init (is io_uring allowed on this system?)");
  }
  reactor->wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (reactor->wake_fd_ < 0) return ErrnoToStatus(errno, "eventfd");
  reactor->wake_target_.on_completion = &Reactor::OnWake;
  reactor->wake_target_.reactor = reactor.get();
  reactor->ArmWakeRead();
  return reactor;
}

Reactor::~Reactor() {
  if (ring_ != nullptr) io_uring_queue_exit(ring_.get());
  if (wake_fd_ >= 0) close(wake_fd_);
}

io_uring_sqe* Reactor::NextSqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(ring_.get());
  if (sqe == nullptr) {
    // The submission queue is full: hand it to the kernel now and take a fresh slot.
    io_uring_submit(ring_.get());
    pending_ = 0;
    sqe = io_uring_get_sqe(ring_.get());
    SNOW_CHECK(sqe != nullptr, "io_uring submission queue still full after submit");
  }
  ++pending_;
  return sqe;
}

void Reactor::ArmWakeRead() {
  io_uring_sqe* sqe = NextSqe();
  io_uring_prep_read(sqe, wake_fd_, &wake_buffer_, sizeof(wake_buffer_), 0);
  io_uring_sqe_set_data(sqe, static_cast<IoTarget*>(&wake_target_));
}

void Reactor::OnWake(IoTarget* self, int32_t, uint32_t) {
  Reactor* reactor = static_cast<WakeTarget*>(self)->reactor;
  reactor->ArmWakeRead();
}

void Reactor::Wake() {
  uint64_t one = 1;
  // EAGAIN means the counter is already non-zero: a wake-up is pending anyway.
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof(one));
}

static_assert(sizeof(KernelTimespec) == sizeof(__kernel_timespec) &&
                  offsetof(KernelTimespec, tv_sec) == offsetof(__kernel_timespec, tv_sec) &&
                  offsetof(KernelTimespec, tv_nsec) == offsetof(__kernel_timespec, tv_nsec),
              "KernelTimespec must match __kernel_timespec");

void Reactor::Submit(const IoRequest& request, IoTarget* target, int64_t timeout_ns,
                     IoTarget* timeout_target, KernelTimespec* timeout_storage) {
  // An operation and its linked timeout must go to the kernel in the same submission: were
  // NextSqe to flush a full queue between them, the operation would leave with IOSQE_IO_LINK
  // and no timeout after it. Make room for both first.
  if (timeout_ns >= 0 && io_uring_sq_space_left(ring_.get()) < 2) {
    io_uring_submit(ring_.get());
    pending_ = 0;
  }
  io_uring_sqe* sqe = NextSqe();
  switch (request.op) {
    case IoOp::kNop:
      io_uring_prep_nop(sqe);
      break;
    case IoOp::kRead:
      io_uring_prep_read(sqe, request.fd, request.buffer, request.length,
                         static_cast<uint64_t>(request.offset));
      break;
    case IoOp::kWrite:
      io_uring_prep_write(sqe, request.fd, request.buffer, request.length,
                          static_cast<uint64_t>(request.offset));
      break;
    case IoOp::kRecv:
      io_uring_prep_recv(sqe, request.fd, request.buffer, request.length, request.flags);
      break;
    case IoOp::kSend:
      io_uring_prep_send(sqe, request.fd, request.buffer, request.length, request.flags);
      break;
    case IoOp::kAccept:
      io_uring_prep_accept(sqe, request.fd, request.address, request.address_length, request.flags);
      break;
    case IoOp::kConnect:
      io_uring_prep_connect(sqe, request.fd, request.address,
                            request.address_length != nullptr ? *request.address_length : 0);
      break;
    case IoOp::kClose:
      io_uring_prep_close(sqe, request.fd);
      break;
    case IoOp::kShutdown:
      io_uring_prep_shutdown(sqe, request.fd, request.flags);
      break;
    case IoOp::kPollAdd:
      io_uring_prep_poll_add(sqe, request.fd, static_cast<unsigned>(request.flags));
      break;
  }
  io_uring_sqe_set_data(sqe, target);
  ++in_flight_;
  if (timeout_ns >= 0) {
    sqe->flags |= IOSQE_IO_LINK;
    // The kernel reads the timespec when the SQE is submitted. With caller storage it goes in
    // the next batch (a read with an idle timeout costs no extra syscall); a timespec on our
    // stack must be submitted right away.
    __kernel_timespec stack_ts = ToTimespec(timeout_ns);
    __kernel_timespec* ts = &stack_ts;
    if (timeout_storage != nullptr) {
      std::memcpy(timeout_storage, &stack_ts, sizeof(stack_ts));
      ts = reinterpret_cast<__kernel_timespec*>(timeout_storage);  // read only by the kernel
    }
    io_uring_sqe* timeout_sqe = NextSqe();
    io_uring_prep_link_timeout(timeout_sqe, ts, 0);
    io_uring_sqe_set_data(timeout_sqe, timeout_target);
    ++in_flight_;
    if (timeout_storage == nullptr) {
      io_uring_submit(ring_.get());
      pending_ = 0;
    }
  }
}

void Reactor::QueueCancel(IoTarget* target) {
  io_uring_sqe* sqe = NextSqe();
  io_uring_prep_cancel(sqe, target, 0);
  io_uring_sqe_set_data64(sqe, kIgnored);
}

int Reactor::Poll(bool wait, int64_t timeout_ns) {
  io_uring* ring = ring_.get();
  int error;
  if (wait) {
    io_uring_cqe* cqe = nullptr;
    if (timeout_ns >= 0) {
      __kernel_timespec ts = ToTimespec(timeout_ns);
      error = io_uring_submit_and_wait_timeout(ring, &cqe, 1, &ts, nullptr);
    } else {
      error = io_uring_submit_and_wait_timeout(ring, &cqe, 1, nullptr, nullptr);
    }
  } else {
    error = io_uring_submit_and_get_events(ring);
  }
  if (error >= 0 || error == -ETIME || error == -EINTR || error == -EAGAIN || error == -EBUSY) {
    pending_ = 0;
  } else {
    SNOW_CHECK(false, "io_uring_enter failed unexpectedly");
  }
  int dispatched = 0;
  unsigned head;
  io_uring_cqe* cqe;
  unsigned seen = 0;
  io_uring_for_each_cqe(ring, head, cqe) {
    ++seen;
    dispatched += Dispatch(io_uring_cqe_get_data64(cqe), cqe->res, cqe->flags);
  }
  io_uring_cq_advance(ring, seen);
  return dispatched;
}

bool Reactor::Dispatch(uint64_t user_data, int32_t result, uint32_t flags) {
  if (user_data == kIgnored || user_data == kLibraryTimeout) [[unlikely]]
    return false;
  auto* target = reinterpret_cast<IoTarget*>(user_data);
  if (target != &wake_target_ && (flags & IORING_CQE_F_MORE) == 0) --in_flight_;
  target->on_completion(target, result, flags);
  return true;
}

}  // namespace snow::core_internal
