#include "snow/net/hangup_watch.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "snow/core/io.h"
#include "snow/core/status.h"

namespace snow::net {

absl::StatusOr<std::unique_ptr<HangupWatch>> HangupWatch::Create() {
  const int fd = epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) return ErrnoToStatus(-errno, "epoll_create1");
  return std::unique_ptr<HangupWatch>(new HangupWatch(fd));
}

HangupWatch::~HangupWatch() { close(epoll_fd_); }

absl::Status HangupWatch::Add(TcpStream socket, uint64_t token) {
  if (!socket.is_open()) return absl::FailedPreconditionError("watching a closed socket");
  MutexLock lock(&mutex_);
  if (sockets_.contains(token)) {
    return absl::AlreadyExistsError("a socket is already watched under that token");
  }
  epoll_event event{};
  event.events = EPOLLIN | EPOLLRDHUP;
  event.data.u64 = token;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, socket.fd(), &event) != 0) {
    return ErrnoToStatus(-errno, "epoll_ctl");
  }
  sockets_.emplace(token, std::move(socket));
  return absl::OkStatus();
}

namespace {

// Without waiting: what the kernel does not take at once is not sent.
void SayFarewell(const TcpStream& socket, std::string_view farewell) {
  if (farewell.empty()) return;
  (void)::send(socket.fd(), farewell.data(), farewell.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
}

}  // namespace

void HangupWatch::Remove(uint64_t token, std::string_view farewell) {
  MutexLock lock(&mutex_);
  auto it = sockets_.find(token);
  if (it == sockets_.end()) return;
  SayFarewell(it->second, farewell);
  // Closing the socket takes it out of the epoll set.
  sockets_.erase(it);
}

void HangupWatch::RemoveAll(std::string_view farewell) {
  MutexLock lock(&mutex_);
  for (const auto& [token, socket] : sockets_) SayFarewell(socket, farewell);
  sockets_.clear();
}

size_t HangupWatch::size() const {
  MutexLock lock(&mutex_);
  return sockets_.size();
}

void HangupWatch::Collect(uint64_t token, std::vector<Hangup>& news) {
  MutexLock lock(&mutex_);
  auto it = sockets_.find(token);
  if (it == sockets_.end()) return;  // removed since epoll saw it
  Hangup hangup;
  hangup.token = token;
  char buffer[64];
  const ssize_t n = ::recv(it->second.fd(), buffer, sizeof(buffer), MSG_DONTWAIT);
  if (n > 0) {
    hangup.received.assign(buffer, static_cast<size_t>(n));
  } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
    hangup.ended = true;
    sockets_.erase(it);
  } else {
    return;  // nothing after all
  }
  news.push_back(std::move(hangup));
}

Task<absl::StatusOr<std::vector<Hangup>>> HangupWatch::Wait() {
  for (;;) {
    const int ready = co_await Io({.op = IoOp::kPollAdd, .fd = epoll_fd_, .flags = POLLIN});
    if (ready < 0) co_return ErrnoToStatus(ready, "poll");
    epoll_event events[32];
    const int count = epoll_wait(epoll_fd_, events, 32, 0);
    if (count < 0 && errno != EINTR) co_return ErrnoToStatus(-errno, "epoll_wait");
    std::vector<Hangup> news;
    for (int i = 0; i < count; ++i) Collect(events[i].data.u64, news);
    if (!news.empty()) co_return news;
  }
}

}  // namespace snow::net
