#include "snow/net/tcp.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "snow/core/status.h"
#include "snow/core/time.h"

namespace snow {
namespace net_internal {

absl::Status WaitReadableAwaitable::await_resume() const {
  if (ready_) return absl::OkStatus();
  if (closed_) return absl::FailedPreconditionError("wait on a closed stream");
  const int rc = io_.await_resume();
  if (rc == -ETIMEDOUT) {
    return absl::DeadlineExceededError(
        absl::StrCat("nothing received within ", absl::FormatDuration(timeout_)));
  }
  return rc < 0 ? ErrnoToStatus(rc, "poll") : absl::OkStatus();
}

absl::StatusOr<size_t> ReadSomeAwaitable::await_resume() const {
  if (closed_) return absl::FailedPreconditionError("read from a closed stream");
  int n = io_.await_resume();
  if (n < 0) return ErrnoToStatus(n, "recv");
  return static_cast<size_t>(n);
}

}  // namespace net_internal

namespace net {
namespace {

int ToSeconds(absl::Duration d) {
  return static_cast<int>(std::max<int64_t>(1, absl::ToInt64Seconds(d)));
}

absl::Status SetInt(int fd, int level, int name, int value, const char* what) {
  if (setsockopt(fd, level, name, &value, sizeof(value)) != 0) return ErrnoToStatus(errno, what);
  return absl::OkStatus();
}

absl::Status ApplyOptions(int fd, const TcpOptions& options) {
  SNOW_RETURN_IF_ERROR(
      SetInt(fd, IPPROTO_TCP, TCP_NODELAY, options.no_delay ? 1 : 0, "setsockopt TCP_NODELAY"));
  if (options.send_buffer_bytes > 0) {
    SNOW_RETURN_IF_ERROR(
        SetInt(fd, SOL_SOCKET, SO_SNDBUF, options.send_buffer_bytes, "setsockopt SO_SNDBUF"));
  }
  if (options.receive_buffer_bytes > 0) {
    SNOW_RETURN_IF_ERROR(
        SetInt(fd, SOL_SOCKET, SO_RCVBUF, options.receive_buffer_bytes, "setsockopt SO_RCVBUF"));
  }
  SNOW_RETURN_IF_ERROR(
      SetInt(fd, SOL_SOCKET, SO_KEEPALIVE, options.keep_alive ? 1 : 0, "setsockopt SO_KEEPALIVE"));
  if (options.keep_alive) {
    SNOW_RETURN_IF_ERROR(SetInt(fd, IPPROTO_TCP, TCP_KEEPIDLE, ToSeconds(options.keep_alive_idle),
                                "setsockopt TCP_KEEPIDLE"));
    SNOW_RETURN_IF_ERROR(SetInt(fd, IPPROTO_TCP, TCP_KEEPINTVL,
                                ToSeconds(options.keep_alive_interval),
                                "setsockopt TCP_KEEPINTVL"));
    SNOW_RETURN_IF_ERROR(
        SetInt(fd, IPPROTO_TCP, TCP_KEEPCNT, options.keep_alive_probes, "setsockopt TCP_KEEPCNT"));
  }
  return absl::OkStatus();
}

// Closes with an RST instead of a FIN.
void CloseWithReset(int fd) {
  linger lingering{.l_onoff = 1, .l_linger = 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lingering, sizeof(lingering));
  close(fd);
}

// The deadline left of `timeout`, which started at `start`.
absl::Duration Remaining(absl::Duration timeout, absl::Duration start) {
  if (timeout == absl::InfiniteDuration()) return timeout;
  return std::max(absl::ZeroDuration(), timeout - (MonotonicNow() - start));
}

absl::StatusOr<SocketAddress> SocketName(int fd, bool peer) {
  if (fd < 0) return absl::FailedPreconditionError("the stream is closed");
  sockaddr_storage storage;
  socklen_t length = sizeof(storage);
  auto* address = reinterpret_cast<sockaddr*>(&storage);
  int rc = peer ? getpeername(fd, address, &length) : getsockname(fd, address, &length);
  if (rc != 0) return ErrnoToStatus(errno, peer ? "getpeername" : "getsockname");
  return SocketAddress::FromSockaddr(address, length);
}

}  // namespace

bool ConnectionLimit::TryAcquire() {
  uint64_t open = open_.load(std::memory_order_relaxed);
  do {
    if (open >= max_open_) return false;
  } while (!open_.compare_exchange_weak(open, open + 1, std::memory_order_relaxed));
  accepted_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

// ---- TcpStream ----

TcpStream::TcpStream(int fd, TcpOptions options, std::shared_ptr<ConnectionLimit> limit)
    : fd_(fd), idle_timeout_(options.idle_timeout), limit_(std::move(limit)) {}

TcpStream::TcpStream(TcpStream&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      idle_timeout_(other.idle_timeout_),
      limit_(std::move(other.limit_)) {}

TcpStream& TcpStream::operator=(TcpStream&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    ReleaseFd();
    fd_ = std::exchange(other.fd_, -1);
    idle_timeout_ = other.idle_timeout_;
    limit_ = std::move(other.limit_);
  }
  return *this;
}

TcpStream::~TcpStream() {
  // An actor killed mid-connection never reaches Close(); close(2) on a socket without SO_LINGER
  // returns at once, so doing it here does not block the shard.
  if (fd_ >= 0) close(fd_);
  ReleaseFd();
}

void TcpStream::ReleaseFd() {
  fd_ = -1;
  if (limit_ != nullptr) std::exchange(limit_, nullptr)->Release();
}

TcpStream TcpStream::FromFd(int fd, TcpOptions options) { return TcpStream(fd, options, nullptr); }

Task<absl::StatusOr<TcpStream>> TcpStream::Connect(SocketAddress address, absl::Duration timeout,
                                                   TcpOptions options) {
  int fd = socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) co_return ErrnoToStatus(errno, "socket");
  TcpStream stream(fd, options, nullptr);  // closes the socket on every error path
  SNOW_CO_RETURN_IF_ERROR(ApplyOptions(fd, options));
  if (options.source.has_value()) {
    const int one = 1;
    if (setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one) != 0) {
      co_return ErrnoToStatus(errno, "setsockopt(IP_BIND_ADDRESS_NO_PORT)");
    }
    if (bind(fd, options.source->sockaddr_ptr(), options.source->length()) != 0) {
      co_return ErrnoToStatus(errno, absl::StrCat("bind to ", options.source->ToString()));
    }
  }
  socklen_t length = address.length();
  int rc = co_await Io({.op = IoOp::kConnect,
                        .fd = fd,
                        .address = const_cast<sockaddr*>(address.sockaddr_ptr()),
                        .address_length = &length},
                       timeout);
  if (rc < 0) co_return ErrnoToStatus(rc, absl::StrCat("connect to ", address.ToString()));
  co_return std::move(stream);
}

Task<absl::Status> TcpStream::ReadExactlyImpl(int fd, char* data, size_t size,
                                              absl::Duration timeout) {
  if (fd < 0) co_return absl::FailedPreconditionError("read from a closed stream");
  absl::Duration start =
      timeout == absl::InfiniteDuration() ? absl::ZeroDuration() : MonotonicNow();
  size_t done = 0;
  while (done < size) {
    uint32_t chunk = static_cast<uint32_t>(std::min<size_t>(size - done, size_t{1} << 30));
    int n = co_await Io({.op = IoOp::kRecv, .fd = fd, .buffer = data + done, .length = chunk},
                        Remaining(timeout, start));
    if (n < 0) co_return ErrnoToStatus(n, "recv");
    if (n == 0) {
      co_return absl::UnavailableError(
          absl::StrCat("the peer closed the stream after ", done, " of ", size, " bytes"));
    }
    done += static_cast<size_t>(n);
  }
  co_return absl::OkStatus();
}

Task<absl::Status> TcpStream::WriteAllImpl(int fd, const char* data, size_t size,
                                           absl::Duration timeout) {
  if (fd < 0) co_return absl::FailedPreconditionError("write to a closed stream");
  absl::Duration start =
      timeout == absl::InfiniteDuration() ? absl::ZeroDuration() : MonotonicNow();
  size_t done = 0;
  while (done < size) {
    uint32_t chunk = static_cast<uint32_t>(std::min<size_t>(size - done, size_t{1} << 30));
    int n = co_await Io({.op = IoOp::kSend,
                         .fd = fd,
                         .buffer = const_cast<char*>(data + done),
                         .length = chunk,
                         .flags = MSG_NOSIGNAL},
                        Remaining(timeout, start));
    if (n < 0) co_return ErrnoToStatus(n, "send");
    done += static_cast<size_t>(n);
  }
  co_return absl::OkStatus();
}

absl::StatusOr<size_t> TcpStream::ReadSomeNow(std::span<char> buffer) {
  if (fd_ < 0) return absl::FailedPreconditionError("read from a closed stream");
  const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), MSG_DONTWAIT);
  if (n >= 0) return static_cast<size_t>(n);
  if (errno == EAGAIN || errno == EWOULDBLOCK) {
    return absl::DeadlineExceededError("nothing has arrived");
  }
  return ErrnoToStatus(errno, "recv");
}

absl::StatusOr<size_t> TcpStream::WriteSomeNow(std::span<const char> data) {
  if (fd_ < 0) return absl::FailedPreconditionError("write to a closed stream");
  const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  if (n >= 0) return static_cast<size_t>(n);
  if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
  return ErrnoToStatus(errno, "send");
}

net_internal::WaitReadableAwaitable TcpStream::WaitReadable(absl::Duration timeout) {
  return {fd_, timeout, false};
}

Task<absl::Status> TcpStream::Shutdown() {
  if (fd_ < 0) co_return absl::FailedPreconditionError("shutdown of a closed stream");
  int rc = co_await Io({.op = IoOp::kShutdown, .fd = fd_, .flags = SHUT_WR});
  co_return ErrnoToStatus(rc, "shutdown");
}

Task<absl::Status> TcpStream::Close() {
  if (fd_ < 0) co_return absl::OkStatus();
  int fd = fd_;
  ReleaseFd();
  int rc = co_await Io({.op = IoOp::kClose, .fd = fd});
  co_return ErrnoToStatus(rc, "close");
}

void TcpStream::Reset() {
  if (fd_ < 0) return;
  CloseWithReset(fd_);
  ReleaseFd();
}

absl::Status TcpStream::SetOptions(const TcpOptions& options) {
  if (fd_ < 0) return absl::FailedPreconditionError("the stream is closed");
  SNOW_RETURN_IF_ERROR(ApplyOptions(fd_, options));
  idle_timeout_ = options.idle_timeout;
  return absl::OkStatus();
}

absl::StatusOr<SocketAddress> TcpStream::local_address() const { return SocketName(fd_, false); }
absl::StatusOr<SocketAddress> TcpStream::peer_address() const { return SocketName(fd_, true); }

// ---- TcpListener ----

TcpListener::TcpListener(TcpListener&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      epoll_fd_(std::exchange(other.epoll_fd_, -1)),
      local_(other.local_),
      options_(std::move(other.options_)) {}

TcpListener& TcpListener::operator=(TcpListener&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    if (epoll_fd_ >= 0) close(epoll_fd_);
    fd_ = std::exchange(other.fd_, -1);
    epoll_fd_ = std::exchange(other.epoll_fd_, -1);
    local_ = other.local_;
    options_ = std::move(other.options_);
  }
  return *this;
}

TcpListener::~TcpListener() {
  if (fd_ >= 0) close(fd_);
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

absl::StatusOr<TcpListener> TcpListener::Bind(SocketAddress address, ListenOptions options) {
  int fd = socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoToStatus(errno, "socket");
  TcpListener listener(fd, address, std::move(options));  // closes on the error paths
  SNOW_RETURN_IF_ERROR(SetInt(fd, SOL_SOCKET, SO_REUSEADDR, 1, "setsockopt SO_REUSEADDR"));
  if (listener.options_.reuse_port) {
    SNOW_RETURN_IF_ERROR(SetInt(fd, SOL_SOCKET, SO_REUSEPORT, 1, "setsockopt SO_REUSEPORT"));
  }
  // Accepted sockets inherit these, so Accept sets nothing per connection.
  SNOW_RETURN_IF_ERROR(ApplyOptions(fd, listener.options_.stream));
  if (bind(fd, address.sockaddr_ptr(), address.length()) != 0) {
    return ErrnoToStatus(errno, absl::StrCat("bind to ", address.ToString()));
  }
  if (listen(fd, listener.options_.backlog) != 0) return ErrnoToStatus(errno, "listen");
  if (listener.options_.closes_with_process) {
    // Non-blocking, so that accept4 says when the backlog is empty (accepted sockets do not
    // inherit the flag).
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
      return ErrnoToStatus(errno, "fcntl O_NONBLOCK");
    }
    listener.epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    if (listener.epoll_fd_ < 0) return ErrnoToStatus(errno, "epoll_create1");
    epoll_event event{};
    event.events = EPOLLIN;
    if (epoll_ctl(listener.epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) {
      return ErrnoToStatus(errno, "epoll_ctl");
    }
  }
  SNOW_ASSIGN_OR_RETURN(listener.local_, SocketName(fd, /*peer=*/false));
  return listener;
}

Task<absl::StatusOr<TcpStream>> TcpListener::Accept(absl::Duration timeout) {
  if (fd_ < 0) co_return absl::FailedPreconditionError("accept on a closed listener");
  for (;;) {
    int fd;
    if (epoll_fd_ >= 0) {
      fd = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) fd = -errno;
      if (fd == -EAGAIN || fd == -EWOULDBLOCK) {
        const int ready =
            co_await Io({.op = IoOp::kPollAdd, .fd = epoll_fd_, .flags = POLLIN}, timeout);
        if (ready < 0) co_return ErrnoToStatus(ready, "accept");
        continue;
      }
      if (fd == -EINTR || fd == -ECONNABORTED) continue;
    } else {
      fd = co_await Io({.op = IoOp::kAccept, .fd = fd_, .flags = SOCK_CLOEXEC}, timeout);
    }
    if (fd < 0) co_return ErrnoToStatus(fd, "accept");
    const std::shared_ptr<ConnectionLimit>& limit = options_.limit;
    if (limit != nullptr && !limit->TryAcquire()) {
      CloseWithReset(fd);
      limit->CountRefused();
      continue;
    }
    co_return TcpStream(fd, options_.stream, limit);
  }
}

void TcpListener::StopAccepting(int listener_fd) { shutdown(listener_fd, SHUT_RDWR); }

Task<absl::Status> TcpListener::Close() {
  if (fd_ < 0) co_return absl::OkStatus();
  int fd = std::exchange(fd_, -1);
  if (epoll_fd_ >= 0) close(std::exchange(epoll_fd_, -1));
  int rc = co_await Io({.op = IoOp::kClose, .fd = fd});
  co_return ErrnoToStatus(rc, "close");
}

}  // namespace net
}  // namespace snow
