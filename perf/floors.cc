#include "snow/perf/floors.h"

#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

namespace snow::perf {
namespace {

using Clock = std::chrono::steady_clock;

bool Exactly(int fd, char* buffer, size_t n, bool send_it) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = send_it ? send(fd, buffer + done, n - done, MSG_NOSIGNAL)
                        : recv(fd, buffer + done, n - done, 0);
    if (r <= 0) return false;
    done += static_cast<size_t>(r);
  }
  return true;
}

// A loopback listener on a free port; *address gets where it listens.
int Listen(sockaddr_in* address) {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  *address = {};
  address->sin_family = AF_INET;
  address->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(*address);
  bind(listener, reinterpret_cast<sockaddr*>(address), sizeof(*address));
  listen(listener, 1);
  getsockname(listener, reinterpret_cast<sockaddr*>(address), &length);
  return listener;
}

int Dial(const sockaddr_in& address) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address));
  return fd;
}

}  // namespace

void PinTo(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof(set), &set);
}

void Unpin() {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int i = 0; i < CPU_SETSIZE; ++i) CPU_SET(i, &set);
  sched_setaffinity(0, sizeof(set), &set);
}

PingPongFloor BlockingPingPong(int round_trips) {
  sockaddr_in address;
  int listener = Listen(&address);
  std::thread server([listener] {
    PinTo(1);
    int fd = accept(listener, nullptr, nullptr);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    char buffer[64];
    while (Exactly(fd, buffer, 64, false) && Exactly(fd, buffer, 64, true)) {
    }
    close(fd);
  });
  PinTo(0);
  int fd = Dial(address);
  char buffer[64] = {};
  std::vector<double> us;
  us.reserve(round_trips);
  for (int i = 0; i < round_trips; ++i) {
    auto start = Clock::now();
    if (!Exactly(fd, buffer, 64, true) || !Exactly(fd, buffer, 64, false)) break;
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  }
  close(fd);
  server.join();
  close(listener);
  Unpin();
  std::sort(us.begin(), us.end());
  if (us.empty()) return {};
  return {us[us.size() / 2], us[us.size() * 99 / 100]};
}

double BlockingStreamMbPerSecond(size_t total_bytes, size_t write_bytes) {
  sockaddr_in address;
  int listener = Listen(&address);
  size_t received = 0;
  Clock::time_point end;
  std::thread receiver([listener, total_bytes, write_bytes, &received, &end] {
    PinTo(1);
    int fd = accept(listener, nullptr, nullptr);
    std::vector<char> buffer(write_bytes);
    while (received < total_bytes) {
      ssize_t r = recv(fd, buffer.data(), buffer.size(), 0);
      if (r <= 0) break;
      received += static_cast<size_t>(r);
    }
    end = Clock::now();
    close(fd);
  });
  PinTo(0);
  int fd = Dial(address);
  std::vector<char> chunk(write_bytes, 'f');
  auto start = Clock::now();
  for (size_t sent = 0; sent < total_bytes; sent += write_bytes) {
    if (!Exactly(fd, chunk.data(), std::min(write_bytes, total_bytes - sent), true)) break;
  }
  receiver.join();
  close(fd);
  close(listener);
  Unpin();
  if (received < total_bytes) return 0;
  return static_cast<double>(total_bytes) / std::chrono::duration<double>(end - start).count() /
         1e6;
}

double KilledPeerNoticedMs(int trials, bool with_uring) {
  std::vector<double> ms;
  for (int i = 0; i < trials; ++i) {
    sockaddr_in address;
    int listener = Listen(&address);
    int ready[2];
    if (pipe(ready) != 0) return 0;
    pid_t child = fork();
    if (child == 0) {
      PinTo(1);
      int fd = Dial(address);
      io_uring ring;
      char buffer[64];
      if (with_uring && io_uring_queue_init(64, &ring, 0) == 0) {
        io_uring_sqe* sqe = io_uring_get_sqe(&ring);
        io_uring_prep_recv(sqe, fd, buffer, sizeof(buffer), 0);
        io_uring_submit(&ring);
      }
      char one = 1;
      (void)!write(ready[1], &one, 1);
      for (;;) pause();
    }
    close(ready[1]);
    int fd = accept(listener, nullptr, nullptr);
    char byte;
    (void)!read(ready[0], &byte, 1);
    close(ready[0]);
    PinTo(0);
    const auto start = Clock::now();
    kill(child, SIGKILL);
    char buffer[64];
    while (recv(fd, buffer, sizeof(buffer), 0) > 0) {
    }
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    Unpin();
    waitpid(child, nullptr, 0);
    close(fd);
    close(listener);
  }
  std::sort(ms.begin(), ms.end());
  return ms.empty() ? 0 : ms[ms.size() / 2];
}

}  // namespace snow::perf
