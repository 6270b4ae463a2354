// File: dist/node.h
//
// Distribution: a runtime becomes a named node (`name@host:port`) that other nodes reach over
// TCP + TLS 1.3, authenticated by a shared cookie (dist/PROTOCOL.md). Once two nodes are
// connected, Self::Send to a PID of the other node works as a local send does: fire and forget,
// never blocking, in order per sender and receiver. Connected nodes tell each other whom they
// know and form a full mesh.
//
//   Task<absl::Status> Main(Self self) {
//     SNOW_CO_RETURN_IF_ERROR(dist::Start(self, {.name = "a@127.0.0.1:4370", .cookie = "secret"}));
//     dist::MonitorNodes(self);                           // NodeUp / NodeDown messages
//     SNOW_CO_RETURN_IF_ERROR(co_await dist::Connect(self, "b@127.0.0.1:4371"));
//     dist::SendNamed(self, "echo", "b@127.0.0.1:4371", Ping{self.pid(), 1});
//     ...
//   }
//
// Messages that cross nodes are encoded with wire/ and must be registered once per program,
// on both sides, with the same wire name (dist/message.h): dist::RegisterMessage<Ping>().
//
// Names: `name@host:port` where host is a numeric IPv4/IPv6 address or `localhost` (no DNS:
// resolving blocks, and Snow's shards never block). The port is where the node listens.
//
// Links and monitors to remote PIDs work (core's Self::Link / Self::Monitor): a lost connection
// fires them with noconnection. Call (core/service.h) works on remote PIDs, and dist::Call below
// calls a registered name on a node; dist/spawn.h starts registered functions on other nodes.
// dist::StartOn (dist/spawn.h) places supervisor children on other nodes. Not here yet: the
// global registry and process groups (docs/erlang.md lists what is not built).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "snow/core/actor.h"
#include "snow/core/service.h"
#include "snow/core/task.h"
#include "snow/dist/message.h"
#include "snow/net/tls.h"

namespace snow::dist_internal {
// Queues an encoded named send for `node`; see dist::SendNamed.
absl::Status SendNamedEncoded(Self self, std::string_view name, std::string_view node,
                              const dist::RemoteType* type, const void* value);
// Sends `request` (a `type`) to `name` on `node` as a call under monitor `ref`; see dist::Call.
absl::Status SendNamedCall(Self self, std::string_view name, std::string_view node,
                           const dist::RemoteType* type, const void* request, Ref ref);
bool IsConnected(Self self, std::string_view node);
}  // namespace snow::dist_internal

namespace snow::dist {

struct NodeOptions {
  // "name@host:port". Port 0 listens on a free port; SelfNode() then reports the real one.
  std::string name = {};
  // The shared secret. Empty: the SNOW_COOKIE environment variable, else the file named by
  // cookie_file (which must not be readable by group or others), else an error.
  std::string cookie = {};
  std::string cookie_file = {};
  // TLS 1.3 on every connection (default). Off: plain TCP, still cookie-authenticated but
  // without confidentiality or channel binding (PROTOCOL.md §5); for trusted networks and
  // benchmarks only.
  bool tls = true;
  // Without a certificate the node makes an ephemeral self-signed one at start.
  std::optional<net::TlsCertificate> certificate = std::nullopt;
  net::TlsVerify verify = net::TlsVerify::kNone;
  std::string ca_file = {};                         // verify == kCa
  std::vector<net::Sha256Fingerprint> pinned = {};  // verify == kPinnedSha256
  // With verify == kCa: binds node names to certificates. A peer's certificate must carry the
  // URI subject alternative name CertificateName(<the name it claims>), so that holding the
  // cookie is not enough to pass for another node (or to evict it as its "new incarnation");
  // and this node's own certificate must name it (checked at Start, after the port is known).
  bool name_in_certificate = false;
  // Heartbeat: a connection silent for `tick` is down; idle connections send a tick every
  // tick / 4.
  absl::Duration tick = absl::Seconds(60);
  absl::Duration handshake_timeout = absl::Seconds(5);  // TCP connect + TLS + cookie exchange
  // Connect to every node a peer knows (full mesh). What one peer can make this node dial is
  // bounded: at most `mesh_new_names` names this node did not know are taken from one peer
  // list, and the mesh starts at most `mesh_dials_per_second` dials a second (bursts of as
  // many); the names left out are counted (DistStats::mesh_names_skipped) and taken from a later
  // peer list that names them.
  bool mesh = true;
  uint32_t mesh_new_names = 16;
  uint32_t mesh_dials_per_second = 10;
  // A send, link, monitor or call to a PID of a node that is known (met in a PID, a name or a
  // peer list) but not connected dials it first, as Erlang does; what was sent waits, in order,
  // up to 65,536 per shard, until the connection is up. If it cannot be made, the messages are
  // dropped and counted (DistStats::dropped_no_connection) and links and monitors fire with
  // noconnection, once each. Off: such sends fail at once.
  bool auto_connect = true;
  // Nodes to keep connected: each is dialed at start, and again whenever it is lost, after
  // `reconnect_initial`, doubling up to `reconnect_max` while dials fail (each delay with +-25%
  // jitter); NodeUp arrives when it is back. PIDs of the old incarnation stay dead.
  std::vector<std::string> keep_connected = {};
  absl::Duration reconnect_initial = absl::Milliseconds(100);
  absl::Duration reconnect_max = absl::Seconds(5);
  // Bytes waiting to be written to one peer; past this, further sends to that peer are dropped
  // and counted (DistStats::dropped_queue_full) until it drains.
  size_t max_queue_bytes = size_t{256} << 20;
  // Flow control (WaitForRoom): a sender waits while more than `flow_high_bytes` are queued for
  // the peer on its path, until at most `flow_low_bytes` are.
  size_t flow_high_bytes = size_t{32} << 20;
  size_t flow_low_bytes = size_t{16} << 20;
  // Largest message accepted from a peer, once reassembled.
  size_t max_message_bytes = size_t{128} << 20;
  // How long dist::Spawn (dist/spawn.h) waits for the peer's answer.
  absl::Duration spawn_timeout = absl::Seconds(5);
  // What connections that have not finished their handshake may hold, so that idle or slow ones
  // cannot lock peers out: at most `max_pending_handshakes` at once, at most
  // `max_pending_handshakes_per_source` from one address (more are reset at accept), and each
  // must send its first bytes within `first_bytes_timeout` (then the whole handshake within
  // handshake_timeout).
  uint32_t max_pending_handshakes = 1024;
  uint32_t max_pending_handshakes_per_source = 32;
  absl::Duration first_bytes_timeout = absl::Seconds(1);
  // SO_SNDBUF and SO_RCVBUF of every connection; 0: the kernel's auto-tuning (default). Small
  // buffers bound how long a small message waits in the kernel behind a large one (W7c p99
  // 10 -> 3 ms plain, 25 -> 5 ms TLS at 256 KiB here) and cost stream throughput (W7 -38%).
  int socket_buffer_bytes = 0;
  // Node name -> "host:port" to dial instead of the address in the name. For tests and relays
  // (test/dist/ puts a TLS man-in-the-middle there); the handshake still checks that the node
  // reached is the one named, and the cookie proofs are bound to each TLS channel.
  std::map<std::string, std::string> connect_via = {};
  // Reads --snow-node=NAME, --snow-cookie=C, --snow-cookie-file=F, --snow-tick-ms=N,
  // --snow-socket-buffer=BYTES, --snow-keep-connected=NODE[,NODE...], --snow-no-tls,
  // --snow-no-mesh; returns nullopt if no --snow-node was given.
  static absl::StatusOr<std::optional<NodeOptions>> FromArgs(int argc, char** argv);
};

// Node monitor messages (MonitorNodes).
struct NodeUp {
  std::string node;
};
struct NodeDown {
  std::string node;
  absl::Status reason;
};

// What WaitForRoom waits for (internal to it).
struct RoomAvailable {
  uint64_t token = 0;
};

struct DistStats {
  uint64_t messages_sent = 0;
  uint64_t messages_received = 0;
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  uint64_t dropped_not_registered = 0;  // a type without RegisterMessage, either side
  uint64_t dropped_encode_failed = 0;   // wire/ refused the value (depth, bad UTF-8, ...)
  uint64_t dropped_decode_failed = 0;   // a message from a peer that did not decode
  uint64_t dropped_queue_full = 0;      // NodeOptions::max_queue_bytes reached
  uint64_t dropped_no_connection = 0;   // sent to a node that is not connected
  uint64_t handshakes_failed = 0;
  uint64_t connections_up = 0;     // sessions that completed a handshake
  uint64_t lanes_up = 0;           // lane connections that joined one (ARCHITECTURE.md, "Lanes")
  uint64_t queued_bytes_peak = 0;  // the most any one connection has held to write, so far
  uint64_t queued_bytes = 0;       // what all connections hold to write now
  // Times a large message waited for the peer to read its fragments because small frames were
  // going out beside it (PROTOCOL.md §5: fragments are paced while small frames compete).
  uint64_t bulk_paused = 0;
  uint64_t log_lines_held_back = 0;  // lines a peer caused that were counted, not logged
  uint64_t mesh_names_skipped = 0;   // names of peer lists the mesh did not dial (NodeOptions)
  // Connected peers whose hangup watch is set up: a kill -9 there is noticed at once
  // (ARCHITECTURE.md, "Noticing a dead node").
  uint64_t watched_peers = 0;
  // PIDs of incarnations met in messages that the node table had no room for: they arrived as
  // dead PIDs (ARCHITECTURE.md, "Node table").
  uint64_t pids_of_unknown_nodes = 0;
};

// Makes this runtime the node `options.name`: binds the listener (an error if the port is
// taken), installs remote routing, and starts accepting. Once per runtime.
absl::Status Start(Self self, NodeOptions options);

// The URI subject alternative name that binds `node` to a certificate (NodeOptions::
// name_in_certificate): "snow://" + node, e.g. "snow://a@10.0.0.1:4370".
std::string CertificateName(std::string_view node);

// "name@host:port" of this node, or "" when the runtime is not a node.
std::string SelfNode(Self self);
// The nodes connected now, sorted.
std::vector<std::string> Nodes(Self self);
// The node `pid` lives on ("" if unknown); SelfNode() for local PIDs.
std::string NodeOf(Self self, Pid pid);
// Text form of a PID with its node: <node.S.N>, this node's name for local PIDs (<0.S.N> when
// the runtime is not a node). Runtime::PidText gives the same from any thread.
std::string PidToString(Self self, Pid pid);
// The inverse of PidToString. The text carries no creation (as in Erlang): a remote PID parses
// to the incarnation of that node connected now; kUnavailable if it is not connected.
absl::StatusOr<Pid> ParsePid(Self self, std::string_view text);

// Connects to `node` (if not connected) and returns when the session is up, or with the reason
// it could not be: kUnavailable (refused, unreachable), kUnauthenticated (wrong cookie, on either
// side), kFailedPrecondition (protocol version, name clash), kDeadlineExceeded (handshake timeout).
Task<absl::Status> Connect(Self self, std::string node);
// Closes the connection to `node`, if any. The node is down when this returns (its monitors
// have NodeDown with reason "disconnect", links and monitors across it have fired), so a
// Connect right after makes a new connection; the peer, which may not have read the end of the
// old one yet, waits for it before it accepts the new one.
void Disconnect(Self self, std::string_view node);

// While on, this actor receives NodeUp{node} and NodeDown{node, reason} for every node.
void MonitorNodes(Self self, bool on = true);

DistStats Stats(Self self);

// Flow control, for a sender that may outrun the network (Erlang suspends senders on a busy
// distribution port; here it is explicit and opt-in). Returns at once while the queue that
// messages from this actor to `to` go into holds at most NodeOptions::flow_high_bytes; above
// that, it suspends the caller until the queue is down to flow_low_bytes (or the connection is
// gone). Send itself never blocks:
//
//   for (auto& chunk : chunks) {
//     self.Send(sink, std::move(chunk));
//     co_await dist::WaitForRoom(self, sink);
//   }
//
// For a local PID, or a node that is not connected, it returns at once.
Task<void> WaitForRoom(Self self, Pid to);

// Sends `message` to the actor registered as `name` on `node` (Erlang's {Name, Node} ! Msg),
// connecting first if needed. `node` may be this node (a local send by name). Errors at the send
// site: the type is not registered, the value does not encode, this runtime is not a node, or
// `node` is not a valid name. Delivery itself is fire and forget: an unknown name on the peer drops
// the message there (counted).
template <typename T>
absl::Status SendNamed(Self self, std::string_view name, std::string_view node, const T& message) {
  static_assert(wire::Wireable<T>, "a message sent to another node must be encodable by wire/");
  if (node == SelfNode(self)) {
    // Dropped and counted, as on the peer, when nothing is registered under the name.
    self.Send(self.WhereIs(name).value_or(Pid()), message);
    return absl::OkStatus();
  }
  return dist_internal::SendNamedEncoded(self, name, node, RemoteTypeOf<T>(), &message);
}

// Call (core/service.h) to the actor registered as `name` on `node` (Erlang's
// gen_server:call({Name, Node}, Request)), connecting first if needed; `node` may be this node. The
// peer resolves the name and monitors what it names in one step, so the call takes one round trip
// and fails as a Call to a PID does: kNotFound (noproc) when nothing is registered under the name,
// the server's exit reason, kUnavailable (noconnection) when the node is unreachable or lost,
// kDeadlineExceeded; also kFailedPrecondition when this runtime is not a node or Req is not
// registered (RegisterMessage<Req>), kInvalidArgument for a malformed name.
template <typename Req>
Task<absl::StatusOr<typename Req::Reply>> Call(Self self, std::string name, std::string node,
                                               Req request, absl::Duration timeout) {
  using R = typename Req::Reply;
  static_assert(wire::Wireable<Req> && wire::Wireable<R>,
                "a request sent to another node, and its reply, must be encodable by wire/");
  if (node == SelfNode(self)) {
    std::optional<Pid> local = self.WhereIs(name);
    if (!local) co_return absl::NotFoundError(absl::StrCat("call to \"", name, "\": noproc"));
    co_return co_await snow::Call(self, *local, std::move(request), timeout);
  }
  if (!dist_internal::IsConnected(self, node)) {
    absl::Status connected = co_await Connect(self, node);
    if (!connected.ok()) co_return connected;
  }
  Ref ref = self.MakeRef();  // marks the mailbox: the reply can only come after it
  Request<Req> message{std::move(request), ReplyTo<R>{self.pid(), ref}};
  absl::Status sent =
      dist_internal::SendNamedCall(self, name, node, RemoteTypeOf<Request<Req>>(), &message, ref);
  if (!sent.ok()) co_return sent;
  co_return co_await AwaitReply<R>(self, ref, Pid(), absl::StrCat("\"", name, "\" on ", node),
                                   timeout);
}

}  // namespace snow::dist
