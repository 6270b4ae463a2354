// File: net/hangup_watch.h
//
// HangupWatch: connected sockets that carry nothing, watched only for their peer's end, through
// epoll and never through io_uring.
//
// Why: a socket with an io_uring request pending outlives a kill -9 of its process by several
// milliseconds, because the kernel tears the ring down (cancelling what it holds) before it lets
// go of the files those requests hold; only then is the FIN sent. A socket that is only in an
// epoll set closes with the process, so its peer hears of the death at once. dist/ keeps one such
// connection to each peer node to notice a killed node that fast (dist/PROTOCOL.md §7).
//
// A peer that ends on purpose says so first: it writes a byte, then closes (Remove with a
// farewell). What came before the end tells the two apart.
//
//   absl::StatusOr<std::unique_ptr<net::HangupWatch>> watch = net::HangupWatch::Create();
//   absl::Status added = (*watch)->Add(std::move(socket), /*token=*/7);
//   absl::StatusOr<std::vector<net::Hangup>> news = co_await (*watch)->Wait();
//   // news: {token 7, received "", ended true}: the peer's process is gone.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "snow/core/mutex.h"
#include "snow/core/task.h"
#include "snow/net/tcp.h"

namespace snow::net {

// What Wait found on one watched socket.
struct Hangup {
  uint64_t token = 0;
  std::string received;  // what the peer wrote since the last Wait (up to 64 bytes)
  bool ended = false;    // the peer closed or reset it; the socket is no longer watched
};

class HangupWatch {
 public:
  static absl::StatusOr<std::unique_ptr<HangupWatch>> Create();
  // Closes every socket still watched, without farewell.
  ~HangupWatch();
  HangupWatch(const HangupWatch&) = delete;
  HangupWatch& operator=(const HangupWatch&) = delete;

  // Watches `socket` under `token` (kAlreadyExists if the token is watched). From any thread.
  absl::Status Add(TcpStream socket, uint64_t token);
  // Stops watching `token`'s socket and closes it, sending `farewell` first without waiting (what
  // the kernel does not take at once is not sent). Nothing if the token is not watched. From any
  // thread.
  void Remove(uint64_t token, std::string_view farewell = {});
  // Sends `farewell` on every watched socket and closes them all.
  void RemoveAll(std::string_view farewell);
  size_t size() const;

  // Waits until watched sockets have news and returns it. One waiter at a time, on a shard.
  Task<absl::StatusOr<std::vector<Hangup>>> Wait();

 private:
  explicit HangupWatch(int epoll_fd) : epoll_fd_(epoll_fd) {}
  // Reads what `token`'s socket has, and forgets it if it ended.
  void Collect(uint64_t token, std::vector<Hangup>& news);

  const int epoll_fd_;
  mutable Mutex mutex_;
  absl::flat_hash_map<uint64_t, TcpStream> sockets_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace snow::net
