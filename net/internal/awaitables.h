// File: net/internal/awaitables.h
//
// The awaitables behind TcpStream's buffer operations.
//
// Immediate<T>: wraps the Task of a buffer operation so that it can only be awaited where it
// is created. Buffer I/O takes spans, the one exception to the rule that coroutine parameters
// are values (docs/coroutines.md): the caller's buffer must outlive the operation, which holds
// when the operation is awaited in the same statement.
//
//   absl::Status s = co_await stream.WriteAll(bytes);   // GOOD: awaited at once
//   auto pending = stream.WriteAll(bytes);              // BAD: nothing runs until it is awaited,
//                                                       // and `bytes` must still be alive then
// It cannot be moved, so it cannot be returned onwards, stored in a container or handed to
// another coroutine.
#pragma once

#include <poll.h>

#include <algorithm>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "snow/core/io.h"
#include "snow/core/task.h"

namespace snow::net_internal {

template <typename T>
class [[nodiscard]] Immediate {
 public:
  explicit Immediate(Task<T> task) : task_(std::move(task)) {}
  Immediate(const Immediate&) = delete;
  Immediate& operator=(const Immediate&) = delete;

  auto operator co_await() && noexcept { return std::move(task_).operator co_await(); }

 private:
  friend class StreamReadAwaitable;
  Task<T> task_;
};

// The awaitable of TcpStream::ReadSome: one recv, no allocation. Result: the count, 0 at end of
// stream, or the error.
class [[nodiscard]] ReadSomeAwaitable {
 public:
  ReadSomeAwaitable(int fd, std::span<char> buffer, absl::Duration timeout)
      : io_({.op = IoOp::kRecv,
             .fd = fd,
             .buffer = buffer.data(),
             .length = static_cast<uint32_t>(std::min<size_t>(buffer.size(), size_t{1} << 30))},
            timeout),
        closed_(fd < 0) {}
  bool await_ready() const noexcept { return closed_; }
  void await_suspend(std::coroutine_handle<> awaiter) { io_.await_suspend(awaiter); }
  absl::StatusOr<size_t> await_resume() const;

 private:
  IoAwaitable io_;
  bool closed_;
};

// The awaitable of TcpStream::WaitReadable and Stream::WaitReadable: one poll, without a
// coroutine frame (a server may have thousands of fresh connections waiting in one).
class [[nodiscard]] WaitReadableAwaitable {
 public:
  // `ready`: succeeds at once (a TLS stream's bytes may wait in the TLS layer); a closed `fd`
  // fails at once.
  WaitReadableAwaitable(int fd, absl::Duration timeout, bool ready)
      : io_({.op = IoOp::kPollAdd, .fd = fd, .flags = POLLIN}, timeout),
        timeout_(timeout),
        closed_(fd < 0),
        ready_(ready) {}
  bool await_ready() const noexcept { return ready_ || closed_; }
  void await_suspend(std::coroutine_handle<> awaiter) { io_.await_suspend(awaiter); }
  absl::Status await_resume() const;

 private:
  IoAwaitable io_;
  absl::Duration timeout_;
  bool closed_;
  bool ready_;
};

// The awaitable of Stream::ReadSome: over TCP the recv itself, without a coroutine frame (an
// idle connection waits in one for hours, and a busy one makes one per message); over TLS, the
// TLS layer's read. Awaited where it is made, as Immediate.
class [[nodiscard]] StreamReadAwaitable {
 public:
  StreamReadAwaitable(int fd, std::span<char> buffer, absl::Duration timeout) {
    plain_.emplace(fd, buffer, timeout);
  }
  explicit StreamReadAwaitable(Immediate<absl::StatusOr<size_t>>&& tls)
      : tls_(std::move(tls.task_)) {}
  StreamReadAwaitable(const StreamReadAwaitable&) = delete;
  StreamReadAwaitable& operator=(const StreamReadAwaitable&) = delete;

  bool await_ready() const noexcept { return plain_.has_value() && plain_->await_ready(); }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiter) {
    if (!plain_.has_value()) return std::move(tls_).operator co_await().await_suspend(awaiter);
    plain_->await_suspend(awaiter);
    return std::noop_coroutine();
  }
  absl::StatusOr<size_t> await_resume() {
    if (!plain_.has_value()) return std::move(tls_).operator co_await().await_resume();
    return plain_->await_resume();
  }

 private:
  std::optional<ReadSomeAwaitable> plain_;
  Task<absl::StatusOr<size_t>> tls_;
};

// WriteAll(const char (&)[N]): a string literal's array ends with its terminating NUL, which
// would go on the wire with the text. The streams reject it at compile time.
template <std::size_t N>
constexpr void RejectCharArrayWrite() {
  static_assert(N == 0,
                "WriteAll of a char array (a string literal) would also send its terminating NUL: "
                "pass std::string_view(\"...\") or a std::string, or std::span(array) to send "
                "every byte of a buffer");
}

}  // namespace snow::net_internal
