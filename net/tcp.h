// File: net/tcp.h
//
// TCP on the shard's io_uring: TcpListener (Bind, Accept) and TcpStream (Connect, ReadSome,
// ReadExactly, WriteAll, Shutdown, Close). The normal pattern is one actor per connection:
//
//   Task<absl::Status> EchoConnection(Self self, net::TcpStream stream) {
//     std::array<char, 16384> buffer;
//     for (;;) {
//       absl::StatusOr<size_t> n = co_await stream.ReadSome(buffer);
//       if (!n.ok() || *n == 0) break;                  // error, or the peer closed its side
//       absl::Status written = co_await stream.WriteAll(std::span(buffer.data(), *n));
//       if (!written.ok()) break;
//     }
//     absl::Status closed = co_await stream.Close();
//     co_return closed;
//   }
//   Task<absl::Status> EchoServer(Self self, net::SocketAddress address) {
//     SNOW_CO_ASSIGN_OR_RETURN(net::TcpListener listener, net::TcpListener::Bind(address));
//     for (;;) {
//       absl::StatusOr<net::TcpStream> stream = co_await listener.Accept();
//       if (!stream.ok()) co_return stream.status();
//       self.Spawn(EchoConnection, std::move(*stream));
//     }
//   }
//
// net/server.h runs such a loop on every shard.
//
// Shard affinity: every await happens on the awaiting coroutine's shard. A stream or listener is
// a plain owner of a socket: it may be moved to an actor on another shard (Spawn copies
// arguments), but only one coroutine at a time may read it and one at a time may write it.
//
// Cancellation: destroying a coroutine blocked in any of these operations (an actor killed
// mid-read, runtime shutdown) cancels the io_uring operation and waits for the kernel to let go
// of the buffer before the frame is freed (core/io.h). A timeout cancels the operation the same
// way and reports kDeadlineExceeded.
//
// Errors: absl::Status with the errno's meaning (core/status.h ErrnoToStatus): connection
// refused, reset or broken pipe -> kUnavailable; a timeout -> kDeadlineExceeded; no file
// descriptors left -> kResourceExhausted; a closed stream -> kFailedPrecondition.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "snow/core/io.h"
#include "snow/core/task.h"
#include "snow/net/internal/awaitables.h"
#include "snow/net/socket_address.h"

namespace snow::net {

// Socket options of a stream. Accepted streams inherit them from their listener (set once on
// the listening socket: Linux copies them to each accepted socket).
struct TcpOptions {
  bool no_delay = true;          // TCP_NODELAY: small messages leave at once
  int send_buffer_bytes = 0;     // SO_SNDBUF; 0: the kernel's default (auto-tuned)
  int receive_buffer_bytes = 0;  // SO_RCVBUF; 0: the kernel's default (auto-tuned)
  bool keep_alive = false;       // SO_KEEPALIVE with the three settings below
  absl::Duration keep_alive_idle = absl::Seconds(60);
  absl::Duration keep_alive_interval = absl::Seconds(10);
  int keep_alive_probes = 6;
  // The deadline of a read given no timeout of its own: a peer that sends nothing for this long
  // ends the read with kDeadlineExceeded. Infinite: wait forever.
  absl::Duration idle_timeout = absl::InfiniteDuration();
  // Connect only: the local address to connect from (its port 0: any). A client holding more
  // connections to one server than one address has ports spreads them over addresses, e.g.
  // 127.0.0.0/8 on loopback; the port is chosen at connect time (IP_BIND_ADDRESS_NO_PORT), so
  // one source address serves any number of destinations.
  std::optional<SocketAddress> source = std::nullopt;
};

// A cap on open connections, shared by any number of listeners (on any shards): past it, a new
// connection is accepted and at once reset (RST), so the client sees ECONNRESET (kUnavailable)
// instead of waiting in the backlog, and `refused` counts it. Thread-safe (atomics; touched once
// per connection, never per message).
class ConnectionLimit {
 public:
  explicit ConnectionLimit(uint64_t max_open) : max_open_(max_open) {}

  uint64_t max_open() const { return max_open_; }
  uint64_t open() const { return open_.load(std::memory_order_relaxed); }
  uint64_t accepted() const { return accepted_.load(std::memory_order_relaxed); }
  uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }

  // For TcpListener and TcpStream.
  bool TryAcquire();
  void Release() { open_.fetch_sub(1, std::memory_order_relaxed); }
  void CountRefused() { refused_.fetch_add(1, std::memory_order_relaxed); }

 private:
  const uint64_t max_open_;
  std::atomic<uint64_t> open_{0};
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> refused_{0};
};

struct ListenOptions {
  int backlog = 1024;
  // SO_REUSEPORT: several listeners (one per shard) on one port; the kernel spreads new
  // connections over them by a hash of the peer's address and port.
  bool reuse_port = false;
  // Null: no cap on open connections.
  std::shared_ptr<ConnectionLimit> limit = nullptr;
  // Wait for connections through epoll rather than with an io_uring accept pending. A listening
  // socket with an io_uring request pending outlives a kill -9 of its process by milliseconds
  // (the kernel tears the ring down before it lets go of the files its requests hold), and
  // meanwhile dialers connect into its backlog and hang until it goes; one waited for through
  // epoll closes with the process, so they are refused at once. For servers whose clients fail
  // over (dist/ nodes).
  bool closes_with_process = false;
  TcpOptions stream = {};  // for accepted streams
};

class TcpStream;

class TcpStream {
 public:
  // An unconnected stream (every operation fails with kFailedPrecondition).
  TcpStream() = default;
  TcpStream(TcpStream&& other) noexcept;
  TcpStream& operator=(TcpStream&& other) noexcept;
  TcpStream(const TcpStream&) = delete;
  TcpStream& operator=(const TcpStream&) = delete;
  // Closes the socket synchronously if Close did not run (close(2) of a socket without SO_LINGER
  // does not block). Prefer co_await Close().
  ~TcpStream();

  // Connects to `address`. kUnavailable when refused or unreachable, kDeadlineExceeded when
  // `timeout` runs out first (the connect is cancelled).
  static Task<absl::StatusOr<TcpStream>> Connect(SocketAddress address, absl::Duration timeout,
                                                 TcpOptions options = {});
  // Takes ownership of a connected socket (from socketpair, or another library).
  static TcpStream FromFd(int fd, TcpOptions options = {});

  // Receives what has arrived, up to buffer.size() bytes: the count, or 0 when the peer has
  // shut down its side (end of stream). The deadline is TcpOptions::idle_timeout, or `timeout`.
  net_internal::ReadSomeAwaitable ReadSome(std::span<char> buffer) {
    return {fd_, buffer, idle_timeout_};
  }
  net_internal::ReadSomeAwaitable ReadSome(std::span<char> buffer, absl::Duration timeout) {
    return {fd_, buffer, timeout};
  }
  // Fills all of `buffer`. kUnavailable if the stream ends first (the message says how much
  // arrived); the deadline applies to the whole read.
  net_internal::Immediate<absl::Status> ReadExactly(std::span<char> buffer) {
    return ReadExactly(buffer, idle_timeout_);
  }
  net_internal::Immediate<absl::Status> ReadExactly(std::span<char> buffer,
                                                    absl::Duration timeout) {
    return net_internal::Immediate<absl::Status>(
        ReadExactlyImpl(fd_, buffer.data(), buffer.size(), timeout));
  }
  // Sends all of `data` (several sends if the kernel takes less); the deadline applies to the
  // whole write. Never raises SIGPIPE: a closed peer gives kUnavailable.
  net_internal::Immediate<absl::Status> WriteAll(
      std::span<const char> data, absl::Duration timeout = absl::InfiniteDuration()) {
    return net_internal::Immediate<absl::Status>(
        WriteAllImpl(fd_, data.data(), data.size(), timeout));
  }
  template <std::size_t N>
  net_internal::Immediate<absl::Status> WriteAll(
      const char (&data)[N], absl::Duration timeout = absl::InfiniteDuration()) {
    net_internal::RejectCharArrayWrite<N>();
    return WriteAll(std::span<const char>(data, N), timeout);
  }

  // Without waiting and without io_uring (one recv or send call): what has arrived, up to
  // buffer.size() bytes (0: the peer shut down its side; kDeadlineExceeded: nothing yet), and
  // how much of `data` the kernel takes at once (0 when its buffer is full). For a step that
  // would otherwise wait a loop turn with its memory held: the first read once WaitReadable
  // said bytes are there, a short answer to a fresh connection.
  absl::StatusOr<size_t> ReadSomeNow(std::span<char> buffer);
  absl::StatusOr<size_t> WriteSomeNow(std::span<const char> data);

  // Waits until the peer has sent something (or closed), without reading it;
  // kDeadlineExceeded after `timeout`. A listener's first-bytes deadline: a connection that
  // sends nothing is dropped long before a whole request or handshake would time out.
  net_internal::WaitReadableAwaitable WaitReadable(absl::Duration timeout);

  // Half-close: no more writes from this side (the peer reads end of stream); reads go on.
  Task<absl::Status> Shutdown();
  // Closes the socket (io_uring close). The stream is unconnected afterwards.
  Task<absl::Status> Close();
  // Closes at once with a reset (SO_LINGER 0): the peer's next read or write fails with
  // ECONNRESET. For refusing or abandoning a connection.
  void Reset();

  bool is_open() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  // The deadline of a read given no timeout of its own (TcpOptions::idle_timeout).
  absl::Duration idle_timeout() const { return idle_timeout_; }
  // Applies `options` to the socket now.
  absl::Status SetOptions(const TcpOptions& options);
  absl::StatusOr<SocketAddress> local_address() const;
  absl::StatusOr<SocketAddress> peer_address() const;

 private:
  friend class TcpListener;
  TcpStream(int fd, TcpOptions options, std::shared_ptr<ConnectionLimit> limit);
  void ReleaseFd();

  static Task<absl::Status> ReadExactlyImpl(int fd, char* data, size_t size,
                                            absl::Duration timeout);
  static Task<absl::Status> WriteAllImpl(int fd, const char* data, size_t size,
                                         absl::Duration timeout);

  int fd_ = -1;
  // The only option a stream consults after it is made; the others are the socket's (an idle
  // WebSocket server holds a stream per connection, so it stays small).
  absl::Duration idle_timeout_ = absl::InfiniteDuration();
  std::shared_ptr<ConnectionLimit> limit_;  // released when the socket closes
};

class TcpListener {
 public:
  TcpListener() = default;
  TcpListener(TcpListener&& other) noexcept;
  TcpListener& operator=(TcpListener&& other) noexcept;
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;
  // Closes the socket synchronously if Close did not run.
  ~TcpListener();

  // Binds and listens (synchronously: a few non-blocking syscalls; callable from any thread).
  // Port 0 takes a free port: see local_address(). kAlreadyExists if the address is in use.
  static absl::StatusOr<TcpListener> Bind(SocketAddress address, ListenOptions options = {});

  // The next connection. Past the options' ConnectionLimit, connections are reset and counted
  // and Accept keeps waiting. kResourceExhausted when the process is out of descriptors (the
  // connection stays queued: back off and retry); kDeadlineExceeded after `timeout`;
  // kInvalidArgument once the listener has been shut down (StopAccepting).
  Task<absl::StatusOr<TcpStream>> Accept(absl::Duration timeout = absl::InfiniteDuration());

  // Wakes a pending Accept with an error and refuses connections from now on. Thread-safe:
  // for stopping listeners on other shards.
  static void StopAccepting(int listener_fd);

  Task<absl::Status> Close();

  bool is_open() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  const SocketAddress& local_address() const { return local_; }
  const ListenOptions& options() const { return options_; }

 private:
  TcpListener(int fd, SocketAddress local, ListenOptions options)
      : fd_(fd), local_(local), options_(std::move(options)) {}

  int fd_ = -1;
  int epoll_fd_ = -1;  // with closes_with_process: the set `fd_` is waited for in
  SocketAddress local_;
  ListenOptions options_;
};

}  // namespace snow::net
