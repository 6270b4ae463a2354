// File: net/server.h
//
// TcpServer: accept on every shard and run one actor per connection.
//
//   Task<absl::Status> EchoConnection(Self self, net::TcpStream stream);   // see net/tcp.h
//   Task<absl::Status> Main(Self self) {
//     SNOW_CO_ASSIGN_OR_RETURN(net::SocketAddress address, net::SocketAddress::Parse("0.0.0.0:7"));
//     SNOW_CO_ASSIGN_OR_RETURN(net::TcpServer server,
//                              net::TcpServer::Start(self, address, {}, EchoConnection));
//     ...  // server.address() has the bound port; server.Stop() stops accepting
//   }
//
// Distribution (ServeOptions::distribution):
//  - kReusePort (default): one SO_REUSEPORT listener and one acceptor actor per shard; the kernel
//    spreads connections over the shards by a hash of the client's address and port, and each
//    connection's actor runs on the shard that accepted it. No cross-shard traffic per connection.
//  - kHandOff: one listener on the calling shard; its acceptor spawns each connection's actor
//    round-robin over the shards (one cross-shard spawn per connection).
// ARCHITECTURE.md has the measurement that made kReusePort the default.
//
// Shard affinity: Start binds from the calling actor's shard; acceptors are actors on their
// shards. Stop and the accessors may be called from any shard. Acceptors end (normally) after
// Stop; a connection's actor is not affected by Stop. Accept errors that are the process's
// (out of descriptors: kResourceExhausted) make the acceptor pause 10 ms and go on; any other
// ends that acceptor with the error as its exit reason.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "snow/core/actor.h"
#include "snow/core/runtime.h"
#include "snow/net/tcp.h"

namespace snow::net {

enum class Distribution : uint8_t { kReusePort, kHandOff };

struct ServeOptions {
  ListenOptions listen = {};  // reuse_port is set for kReusePort
  Distribution distribution = Distribution::kReusePort;
};

}  // namespace snow::net

namespace snow::net_internal {

struct ServerState {
  // Closed when the last acceptor and the TcpServer are gone, so Stop never shuts down a
  // descriptor number that has been reused.
  std::vector<net::TcpListener> listeners;
  std::atomic<bool> stopping{false};
};

// Starts a connection's actor. The acceptor loop is not a template: clang 14 fails on this
// coroutine as a template under -g with sanitizers ("Cannot represent a difference across
// sections"), so the handler and its arguments sit behind this interface (one virtual call per
// connection, not per message). Shared by the acceptors of every shard: Spawn only copies.
class ConnectionSpawner {
 public:
  virtual ~ConnectionSpawner() = default;
  virtual void Spawn(Self self, SpawnOptions where, net::TcpStream stream) const = 0;
};

// `Args` are decayed: the spawner keeps its own copies and gives each connection's actor a
// fresh copy of them, as Spawn would.
template <typename Handler, typename... Args>
class SpawnerFor final : public ConnectionSpawner {
 public:
  template <typename... As>
  explicit SpawnerFor(Handler handler, As&&... args)
      : handler_(handler), args_(std::forward<As>(args)...) {}
  void Spawn(Self self, SpawnOptions where, net::TcpStream stream) const override {
    std::apply([&](const Args&... a) { self.Spawn(where, handler_, std::move(stream), a...); },
               args_);
  }

 private:
  Handler handler_;
  std::tuple<Args...> args_;
};

Task<absl::Status> AcceptLoop(Self self, std::shared_ptr<ServerState> state, size_t index,
                              net::Distribution distribution,
                              std::shared_ptr<const ConnectionSpawner> spawner);

}  // namespace snow::net_internal

namespace snow::net {

class TcpServer {
 public:
  // Binds and starts the acceptors; returns once every listener is bound (connections may
  // arrive before the acceptors first run: they wait in the backlog). Errors are Bind's.
  // Each connection runs `handler(self, stream, args...)` as an actor; `handler` and `args`
  // are taken exactly as Spawn takes them (a function or capture-less lambda; arguments
  // decay-copied, one fresh copy per connection).
  template <typename Handler, typename... Args>
  static absl::StatusOr<TcpServer> Start(Self self, SocketAddress address, ServeOptions options,
                                         Handler handler, Args&&... args) {
    static_assert(
        std::is_invocable_r_v<Task<absl::Status>, Handler&, Self, TcpStream, std::decay_t<Args>...>,
        "a connection handler is a function Task<absl::Status>(Self, net::TcpStream, Args...)");
    auto state = std::make_shared<net_internal::ServerState>();
    std::shared_ptr<const net_internal::ConnectionSpawner> spawner =
        std::make_shared<net_internal::SpawnerFor<Handler, std::decay_t<Args>...>>(
            handler, std::forward<Args>(args)...);
    bool reuse = options.distribution == Distribution::kReusePort;
    uint32_t listeners = reuse ? self.runtime().shard_count() : 1;
    options.listen.reuse_port = reuse;
    for (uint32_t i = 0; i < listeners; ++i) {
      // The first bind picks the port (if 0); the others join it.
      SNOW_ASSIGN_OR_RETURN(TcpListener listener, TcpListener::Bind(address, options.listen));
      if (i == 0) address = listener.local_address();
      state->listeners.push_back(std::move(listener));
    }
    for (uint32_t i = 0; i < listeners; ++i) {
      SpawnOptions where{.placement = Placement::kShard,
                         .shard = reuse ? static_cast<ShardId>(i) : self.shard()};
      self.Spawn(where, net_internal::AcceptLoop, state, size_t{i}, options.distribution, spawner);
    }
    return TcpServer(std::move(state), address, options.listen.limit);
  }

  const SocketAddress& address() const { return address_; }
  // Null when ServeOptions::listen.limit was.
  const std::shared_ptr<ConnectionLimit>& limit() const { return limit_; }
  // Stops accepting on every shard. Thread-safe; idempotent.
  void Stop() {
    if (state_ == nullptr || state_->stopping.exchange(true)) return;
    for (const TcpListener& listener : state_->listeners) TcpListener::StopAccepting(listener.fd());
  }

 private:
  TcpServer(std::shared_ptr<net_internal::ServerState> state, SocketAddress address,
            std::shared_ptr<ConnectionLimit> limit)
      : state_(std::move(state)), address_(address), limit_(std::move(limit)) {}

  std::shared_ptr<net_internal::ServerState> state_;
  SocketAddress address_;
  std::shared_ptr<ConnectionLimit> limit_;
};

}  // namespace snow::net
