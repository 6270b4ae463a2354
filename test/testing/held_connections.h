// File: test/testing/held_connections.h
//
// What an attacker holding many connections does, for the tests that check a listener still
// serves others meanwhile: connections from one local address (127.0.0.2) that send a fixed
// prefix (nothing, or half a request) and then nothing more, each re-opened as soon as the
// server closes it, from a thread of their own (blocking sockets, off the runtime's shards).
//
//   std::atomic<bool> stop{false};
//   std::atomic<uint64_t> reopened{0};
//   std::latch holding{1};
//   std::thread attacker(testing::HoldConnections, port, 2000, std::string(""), &stop, &holding,
//                        &reopened);
//   holding.wait();   // all are open
//   ... a legitimate peer connects ...
//   stop = true;
//   attacker.join();
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <latch>
#include <string>
#include <vector>

namespace snow::testing {

// A blocking TCP connection from `source` to 127.0.0.1:`port`; -1 on failure.
inline int ConnectRawFrom(const char* source, uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in from{};
  from.sin_family = AF_INET;
  inet_pton(AF_INET, source, &from.sin_addr);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof(from)) != 0 ||
      connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Holds `count` connections from 127.0.0.2 that send `prefix` and then nothing, re-opening each
// one the server closes, until `stop`. `holding` counts down once all are open.
inline void HoldConnections(uint16_t port, int count, std::string prefix,
                            const std::atomic<bool>* stop, std::latch* holding,
                            std::atomic<uint64_t>* reopened) {
  std::vector<pollfd> fds(count, pollfd{.fd = -1, .events = POLLIN, .revents = 0});
  bool all_open = false;
  char sink[4096];
  while (!stop->load()) {
    for (pollfd& p : fds) {
      if (p.fd >= 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)) != 0 &&
          recv(p.fd, sink, sizeof sink, MSG_DONTWAIT) <= 0) {
        close(p.fd);  // closed or reset by the server (an answer before it is read past)
        p.fd = -1;
        reopened->fetch_add(1);
      }
      if (p.fd < 0) {
        p.fd = ConnectRawFrom("127.0.0.2", port);
        if (p.fd >= 0 && !prefix.empty()) (void)send(p.fd, prefix.data(), prefix.size(), 0);
      }
      p.revents = 0;
    }
    if (!all_open) {
      all_open = true;
      holding->count_down();
    }
    poll(fds.data(), fds.size(), 100);  // wakes for the next closes
  }
  for (const pollfd& p : fds) {
    if (p.fd >= 0) close(p.fd);
  }
}

}  // namespace snow::testing
