// File: dist/internal/node_impl.h
//
// The node behind dist/node.h: its table of known nodes, the router core hands remote PIDs to,
// and the sessions that carry the traffic: per connected node, a first connection (handshake,
// control, named sends) and a lane per pair of shards (ARCHITECTURE.md, "Lanes").
//
// Threads: the table is shared by every shard. What the per-message path reads (a slot's node,
// a node's live connection) is atomic or per shard; everything else changes under `mutex_`,
// which only connection set-up and tear-down take. A Session is touched only on its shard, and
// a PeerShard only on its shard.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "snow/core/mutex.h"
#include "snow/core/remote.h"
#include "snow/core/runtime.h"
#include "snow/dist/internal/log_limiter.h"
#include "snow/dist/internal/name_service.h"
#include "snow/dist/internal/protocol.h"
#include "snow/dist/internal/remote_links.h"
#include "snow/dist/internal/stats.h"
#include "snow/dist/message.h"
#include "snow/dist/node.h"
#include "snow/dist/spawn.h"
#include "snow/net/hangup_watch.h"
#include "snow/net/socket_address.h"
#include "snow/net/tcp.h"
#include "snow/net/tls.h"
#include "snow/wire/byte_buffer.h"
#include "snow/wire/frame.h"
#include "snow/wire/writer.h"

namespace snow::dist_internal {

class Session;
class Node;
using dist::NodeOptions;

// One shard's part of a connected peer: the lanes this shard owns, whether its traffic uses
// them yet, and the links and monitors between this shard's actors and the peer's. Touched only
// on its shard. `generation` names the connection it describes; state of an older one is
// dropped (and its links answered) the first time the shard sees a newer one.
struct alignas(64) PeerShard {
  uint64_t generation = 0;
  bool holding = false;      // `held` is not empty: new sends queue behind it (read on every send)
  Session* first = nullptr;  // on the first connection's shard: that session (or the
                             // dial that will be it), whatever its generation
  std::vector<Session*> lanes;     // by the peer's lane; this shard's lane owns them
  std::vector<bool> peer_lane_up;  // the peer's lane r said LANES_UP: lanes[r] may be read
  std::vector<bool> dialed;        // this node dialed (or is dialing) lanes[r]
  bool wanted = false;             // this lane asked for its lanes (it had traffic)
  bool switched = false;           // this lane's traffic goes on `lanes`, not the first connection
  RemoteLinks links;
  // Sent from this shard while the peer was not connected (auto-connect): held, in order, until
  // the connection is up (then routed) or has failed (then answered for as undeliverable).
  std::deque<RemoteEnvelope> held;
};

// Envelopes one shard holds for one peer while dialing it (NodeOptions::auto_connect); more are
// answered for at once (messages dropped and counted, signals as noconnection).
inline constexpr size_t kMaxHeldWhileConnecting = 65536;

// A node we know by name. Lives as long as the Node.
struct Peer {
  std::string name;
  net::SocketAddress address;
  // Read on every remote send, from any shard.
  std::atomic<int32_t> owner{-1};       // shard of the first connection; -1: none
  std::atomic<uint32_t> creation{0};    // incarnation of the connected node; 0: not up
  std::atomic<uint64_t> generation{0};  // the live connection (Node-wide count); 0: none
  std::atomic<uint16_t> lanes{1};       // how many lanes the peer takes part in
  std::atomic<bool> dialed{false};      // this node dialed the live connection (it dials lanes)
  // Entry i is touched only by shard i.
  std::unique_ptr<PeerShard[]> shards;
  // Under Node::mutex_.
  enum class State : uint8_t { kIdle, kConnecting, kUp } state = State::kIdle;
  // The connecting or live session: who may claim, publish or release the peer. Set before
  // its reader is spawned, so a session that ends at once is still recognised.
  Session* session = nullptr;
  Pid session_actor;  // that session's reader, once known (Disconnect and replacement kill it)
  bool disconnecting = false;                     // Disconnect was called on the live session
  std::vector<std::pair<Pid, uint64_t>> waiters;  // Connect callers and their refs
  // Handshakes from this incarnation waiting for its live connection to go (AwaitPeerDown).
  std::vector<std::pair<Pid, uint64_t>> down_waiters;
  uint32_t slot = 0;  // slot of the live incarnation
  // The live connection's lanes: the key JOINs prove, the pair the first connection is (if it
  // is one), the lanes accepted so far and the readers of every lane (ended with the peer).
  std::string lane_key;
  uint16_t first_lane = kNoLane;       // this node's end of the first connection
  uint16_t peer_first_lane = kNoLane;  // the peer's end
  std::vector<bool> joined;            // by (this node's lane) * peer lanes + (peer's lane)
  std::vector<Pid> lane_actors;
  bool watch_taken = false;   // the live connection's hangup watch has joined (or is joining)
  uint64_t capabilities = 0;  // what the live incarnation announced in its handshake
};

// What a lane needs of the connection it joins, read under the lock.
struct LaneTicket {
  Peer* peer = nullptr;
  uint64_t generation = 0;
  uint32_t peer_creation = 0;
  uint32_t slot = 0;
  uint16_t peer_lanes = 1;
  uint16_t first_lane = kNoLane;  // the first connection's pair
  uint16_t peer_first_lane = kNoLane;
  std::string lane_key;
  uint64_t peer_capabilities = 0;
};

// One node incarnation that PIDs name: slot K of core's PID layout.
struct Slot {
  std::string name;
  uint32_t creation = 0;
  Peer* peer = nullptr;  // nullptr: an earlier incarnation of this node, or kUnknownNodeSlot
};

// The node table (slots_, PIDs' 12 node bits). Slots are never reused: a PID is a plain value
// that may be kept anywhere (a map, a message in flight, another node), so a reused slot would
// make an old PID reach a different node. What bounds the table instead: a PID met in a message
// for an incarnation this node has no slot for takes one only while fewer than
// kForeignSlotLimit are in use; past that it reads as a PID of kUnknownNodeSlot, a dead PID
// (sends to it are dropped and counted, links and monitors on it fire noproc at once). The
// last kSlotsForConnections slots are kept for incarnations that connect, so a peer that
// floods the node with PIDs of made-up nodes cannot lock real peers out.
inline constexpr uint32_t kUnknownNodeSlot = Pid::kMaxNodes - 1;
inline constexpr uint32_t kSlotsForConnections = 1024;
inline constexpr uint32_t kForeignSlotLimit = kUnknownNodeSlot - kSlotsForConnections;

// The reply a Connect caller waits for.
struct ConnectResult {
  uint64_t ref = 0;
  absl::Status status;
};

class Node final : public Transport {
 public:
  Node(Runtime& runtime, dist::NodeOptions options, std::string cookie, uint32_t creation,
       net::TlsContext server_tls, net::TlsContext client_tls,
       std::unique_ptr<net::HangupWatch> hangup_watch);
  ~Node() override;

  // --- Transport: core hands over every envelope addressed to another node ---
  void Route(RemoteEnvelope e) override;
  // <node.S.N>, with this node's name for local PIDs.
  std::string PidText(Pid pid) const override;
  std::string NodeName(Pid pid) const override;

  const dist::NodeOptions& options() const { return options_; }
  const std::string& name() const { return options_.name; }
  const std::string& cookie() const { return cookie_; }
  uint32_t creation() const { return creation_; }
  Runtime& runtime() const { return runtime_; }
  const net::TlsContext& server_tls() const { return server_tls_; }
  const net::TlsContext& client_tls() const { return client_tls_; }
  ShardStats& stats(ShardId shard) { return stats_[shard]; }
  // How many lanes this node takes part in: one per shard, up to kMaxLanes.
  uint16_t lanes() const { return lanes_; }
  dist::DistStats TotalStats() const;

  // --- The table ---
  // The peer called `name` (created on first use); kInvalidArgument for a malformed name or
  // this node's own name.
  absl::StatusOr<Peer*> PeerFor(std::string_view name);
  // The slot of incarnation `creation` of node `name` (allocated on first sight); 0 when the
  // table is full.
  uint32_t SlotFor(std::string_view name, uint32_t creation);
  const Slot* slot(uint32_t index) const {
    return index < slots_.size() ? slots_[index].load(std::memory_order_acquire) : nullptr;
  }
  std::vector<std::string> ConnectedNames();
  // The slot of the incarnation of `name` connected now.
  absl::StatusOr<uint32_t> LiveSlotOf(std::string_view name);
  // `session` lost a simultaneous connect. True if the connection kept is already the peer's
  // live one; otherwise `waiter` gets a ConnectResult{ref} once that connection is up or has
  // failed (it is one of the peer's Connect waiters).
  bool AwaitOtherConnection(Session* session, Pid waiter, uint64_t ref);
  // `session` (accepted) claims the incarnation whose connection is live here. False if that
  // connection has gone already; otherwise `waiter` gets a ConnectResult{ref} when it goes.
  bool AwaitPeerDown(Session* session, Pid waiter, uint64_t ref);
  // A PID as the wire names it: this node's name or the slot's, with the creation.
  void WritePid(wire::Writer& w, Pid pid) const;

  // --- Connection life cycle (the session and Connect call these) ---
  // Starts a connection to `peer` from this shard unless one exists; with `waiter`, that actor
  // gets a ConnectResult{ref} when it is up or has failed (at once if already up).
  void EnsureConnecting(Peer* peer, Pid waiter = Pid(), uint64_t ref = 0);
  // Appends an encoded kSendNamed frame (with its header) to `peer`'s session, on the shard that
  // owns it; dropped and counted when there is none.
  void SendNamedFrame(Peer* peer, wire::ByteBuffer frame);
  // An accepted session proved the cookie: it becomes the peer's connecting session (so
  // ACCEPT may be sent), or is told why not (our own dial to that node wins: kAborted; already
  // connected: kAlreadyExists). Nothing is announced yet.
  absl::Status Claim(Session* session);
  // A session (outgoing, or claimed) is ready to carry traffic: it becomes the peer's live
  // session, and Connect callers and node monitors hear that it is up. kAborted if another
  // connection took its place. The caller makes the session up before it next suspends, so
  // NodeUp means a send will go out.
  absl::Status Publish(Session* session);
  // The session ended; if it was live (or connecting), or a lane of the live connection, the
  // peer goes down with `reason` (every connection to it ends).
  void Release(Session* session, const absl::Status& reason);
  // On every shard: what waited for `peer` while it was dialed (auto-connect) goes on if it is
  // up, or is answered for if it is not being dialed any more. Without the lock: this shard's
  // part runs inside the call. The first connection calls it once it is up.
  void SettleHeld(Peer* peer) ABSL_LOCKS_EXCLUDED(mutex_);

  // --- Lanes ---
  // On the first connection's shard, once it is up: registers it.
  void FirstConnectionUp(Session* session);
  // LANES_WANTED(`peer_lane`) arrived (this node dialed `first`): every lane of this node dials
  // its pair with that lane.
  void PeerWantsLanes(Session* first, uint16_t peer_lane);
  // A JOIN for lane pair (this node's `lane`, the peer's `peer_lane`) from `join`'s sender: the
  // live connection it belongs to, or why not. Marks nothing.
  absl::StatusOr<LaneTicket> LaneTicketFor(std::string_view name, uint32_t creation,
                                           uint32_t our_creation, uint16_t lane,
                                           uint16_t peer_lane);
  // The JOIN proved the lane key: marks the pair taken (kAlreadyExists if it was, kAborted if
  // the connection is gone).
  absl::Status TakeLane(const LaneTicket& ticket, uint16_t lane, uint16_t peer_lane);
  // --- Hangup watch (PROTOCOL.md §7) ---
  // On the dialing side, once the first connection is up: dials its hangup watch.
  void DialWatch(Peer* peer, uint64_t generation);
  // A watch of connection `generation` to `peer` joined: its socket is watched from now on
  // (kAborted, and the socket closed with a farewell, if that connection is gone).
  absl::Status Watch(Peer* peer, uint64_t generation, net::TcpStream socket);
  net::HangupWatch& hangup_watch() { return *watch_; }
  // The watch of connection `generation` ended without a farewell: the peer's process is gone.
  // Every connection to it is shut down, so each reader takes what has arrived and then ends.
  void PeerProcessEnded(uint64_t generation);
  // The peer said farewell on the watch of connection `generation`: it ends on purpose, and the
  // connections themselves say when.
  void WatchEnded(uint64_t generation) { watch_->Remove(generation); }

  // A lane's reader is running: it ends with the peer. kAborted if the connection is gone.
  absl::Status AddLaneActor(Session* session, Pid reader);
  // On the lane's shard: the lane carries traffic now; when this shard has every lane, its
  // traffic moves onto them (and the peer hears LANES_UP through the first connection).
  void LaneUp(Session* session);
  // The peer's lane `peer_lane` said LANES_UP on the first connection: on every shard, the lane
  // from it may be read (what it carried over the first connection was handed on before).
  void PeerLaneUp(Session* first, uint16_t peer_lane);
  // A message or signal that arrived from the peer, for the local actor it names: handed on in
  // the order lanes require (ARCHITECTURE.md, "Lanes"). A signal is accounted for on its
  // target's shard.
  // `here`: the shard of `from`, which reads it. Inline for the common case, a message for an
  // actor on that shard.
  void HandOn(Session* from, ShardId here, RemoteEnvelope e) {
    if (!e.is_signal() && e.to().shard() == here) [[likely]] {
      remote::Deliver(std::move(e));
      return;
    }
    HandOnElsewhere(from, here, std::move(e));
  }
  void HandOnElsewhere(Session* from, ShardId here, RemoteEnvelope e);
  // Starts a call by name from `caller` (an actor of this shard) to `name` on connected `peer`:
  // notes the monitor under `ref` on the peer's name service and sends the NamedCall. The
  // request is `value`, a `type`. kUnavailable if the peer is not connected.
  absl::Status StartNamedCall(Pid caller, std::string_view name, Peer* peer, const RemoteType& type,
                              const void* value, uint64_t ref);
  // Starts a remote spawn from `caller` (an actor of this shard) on `node`: notes the call's
  // monitor (and the child's, if asked) locally, and sends the request to the name service.
  absl::Status StartSpawn(Pid caller, std::string_view node, SpawnRequest request);
  // The spawn that noted monitor `ref` for `caller` made `child`: the monitor is of it now.
  void SpawnedChildKnown(Pid caller, Pid child, uint64_t ref);
  // A SpawnRequest arrived through `from` (read on shard `here`): the child starts on a shard
  // chosen round-robin, linked or monitored as asked, and the caller gets the reply from that
  // shard, ahead of anything the child sends. `start` is the decoded function, or why not.
  void SpawnForPeer(Session* from, ShardId here, SpawnRequest request,
                    absl::StatusOr<SpawnStart> start);
  void Disconnect(std::string_view name);
  // Flow control, on `waiter`'s shard: true when the queue its messages to `to` go into holds
  // at most the high watermark; otherwise `waiter` gets RoomAvailable{token} later (when the
  // queue is down to the low watermark, or at once if the queue is on another shard and has
  // room).
  bool RoomFor(Pid waiter, Pid to, uint64_t token);
  void MonitorNodes(Pid pid, bool on);
  // Connects to each named node not connected (mesh), within the bounds of NodeOptions::mesh;
  // `from` names the peer that sent the list, for the log.
  void LearnPeers(const std::vector<std::string>& names, std::string_view from);

  // Pending handshakes on the listener (bounded by options().max_pending_handshakes).
  // `source`: the connection's address without its port.
  bool TryStartHandshake(const std::string& source);
  void EndHandshake(const std::string& source);

  // The node's own actors (acceptors, session readers and writers): a peer's link or exit
  // signal never reaches them, so a peer cannot kill the listener or another peer's session.
  void AddOwnActor(Pid pid);
  void RemoveOwnActor(Pid pid);
  bool IsOwnActor(Pid pid);

  void Log(const std::string& line) const;
  // Logs a line about `peer` (a node name, or what stands for an unnamed one) that a peer can
  // cause: at most a few per peer and kind a minute (LogLimiter); `line()` is only built then.
  template <typename Line>
  void LogAbout(std::string_view peer, LogKind kind, Line line) const {
    std::string text = log_limiter_.Admit(peer, kind, absl::Now(), line);
    if (!text.empty()) Log(text);
  }
  uint64_t log_lines_held_back() const { return log_limiter_.held_back_total(); }

 private:
  // Logs a lost peer, unless an actor monitors nodes (it hears NodeDown instead).
  void LogNodeDown(const std::string& peer, const absl::Status& why) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void NotifyNodes(const std::string& name, bool up, const absl::Status& reason)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void NotifyWaiters(Peer* peer, const absl::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  uint32_t SlotForLocked(std::string_view name, uint32_t creation, bool connecting)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // The live connection to `peer` is gone: every session of it ends, every shard answers for
  // its links and monitors, and monitors of nodes hear NodeDown.
  // `ending` is the reader already ending (not told again).
  void PeerDownLocked(Peer* peer, const absl::Status& why, Pid ending)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // The peer has no connection (live or coming).
  void ResetLocked(Peer* peer) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  std::unique_ptr<Peer> NewPeer(std::string name, net::SocketAddress address);
  // On shard `shard`: that shard's part of `peer`, brought to `generation` (older state goes);
  // nullptr when `generation` is older than what the shard already knows.
  PeerShard* ShardOf(Peer* peer, ShardId shard, uint64_t generation) {
    PeerShard& part = peer->shards[shard];
    if (part.generation == generation) [[likely]]
      return &part;
    return MoveOn(peer, part, generation);
  }
  PeerShard* MoveOn(Peer* peer, PeerShard& part, uint64_t generation);
  // The name service of connected `peer` and this shard's part of it, or kUnavailable.
  absl::StatusOr<std::pair<Pid, PeerShard*>> NameServiceOf(Peer* peer);
  // Signal `e` from `from` (read on shard `here`) is accounted for and delivered on shard
  // `target`, reached the way lanes require.
  void AccountOn(ShardId target, Session* from, ShardId here, RemoteEnvelope e);
  // When this shard has every lane it owns, its traffic moves onto them.
  void MaybeSwitch(Peer* peer, PeerShard& here, ShardId shard);
  // On this shard: `e` waits for `peer`, which is not connected, and a connection is dialed.
  void HoldWhileConnecting(Peer* peer, RemoteEnvelope e);
  absl::Status PublishLocked(Session* session) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Release under the lock; true when a dial failed and what shards held must be answered for.
  bool ReleaseLocked(Session* session, const absl::Status& reason, wire::ByteBuffer orphans)
      ABSL_LOCKS_EXCLUDED(mutex_);
  // Puts `e` on the first connection, on its shard (the route of a lane that has not switched).
  void SendOverFirst(Peer* peer, uint64_t generation, RemoteEnvelope e);
  // Lane `lane` (this shard) has traffic for the peer and no lanes yet: the dialing side dials
  // them, the other asks it to (LANES_WANTED). Lanes cost nothing until a shard talks.
  void WantLanes(Peer* peer, PeerShard& here, ShardId lane);
  // On lane `lane`'s shard, on the dialing side: dials pair (lane, peer_lane) unless it is
  // dialed or is the first connection.
  void DialLane(Peer* peer, PeerShard& here, ShardId lane, uint16_t peer_lane);
  // What a lane of `peer`'s connection `generation` needs, or nullopt if that is gone.
  std::optional<LaneTicket> TicketFor(Peer* peer, uint64_t generation);

  Runtime& runtime_;
  dist::NodeOptions options_;
  std::string cookie_;
  uint32_t creation_;
  net::TlsContext server_tls_;
  net::TlsContext client_tls_;
  std::vector<ShardStats> stats_;
  std::unique_ptr<net::HangupWatch> watch_;
  mutable LogLimiter log_limiter_;
  const uint16_t lanes_;
  Mutex pending_mutex_;
  uint32_t pending_handshakes_ ABSL_GUARDED_BY(pending_mutex_) = 0;
  absl::flat_hash_map<std::string, uint32_t> pending_by_source_ ABSL_GUARDED_BY(pending_mutex_);
  // The mesh's dial budget: a token bucket of mesh_dials_per_second.
  // Starts empty at the epoch: the first refill fills it.
  double mesh_dial_tokens_ ABSL_GUARDED_BY(mutex_) = 0;
  absl::Time mesh_tokens_at_ ABSL_GUARDED_BY(mutex_) = absl::UnixEpoch();
  std::atomic<uint64_t> mesh_names_skipped_{0};
  std::atomic<uint32_t> next_spawn_shard_{0};
  std::atomic<uint64_t> pids_of_unknown_nodes_{0};
  Mutex own_actors_mutex_;
  absl::flat_hash_set<Pid> own_actors_ ABSL_GUARDED_BY(own_actors_mutex_);
  Slot unknown_node_slot_{.name = "(a node the table had no room for)"};

  Mutex mutex_;
  absl::flat_hash_map<std::string, std::unique_ptr<Peer>> peers_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_map<std::pair<std::string, uint32_t>, uint32_t> slot_index_
      ABSL_GUARDED_BY(mutex_);
  std::vector<std::unique_ptr<Slot>> slot_storage_ ABSL_GUARDED_BY(mutex_);
  std::array<std::atomic<const Slot*>, Pid::kMaxNodes> slots_{};
  uint32_t next_slot_ ABSL_GUARDED_BY(mutex_) = 1;
  uint64_t next_generation_ ABSL_GUARDED_BY(mutex_) = 1;
  absl::flat_hash_set<Pid> node_monitors_ ABSL_GUARDED_BY(mutex_);
};

// The PIDs of a named send are written by the table alone (no session is at hand).
class NamedSendPids final : public PidContext {
 public:
  explicit NamedSendPids(const Node* node) : node_(node) {}
  void WritePid(wire::Writer& w, Pid pid) override { node_->WritePid(w, pid); }
  bool ReadPid(wire::Reader& r, Pid&) override {
    return r.Fail(absl::StatusCode::kInternal, "named sends are only encoded here");
  }

 private:
  const Node* node_;
};

// The socket options of every node connection.
net::TcpOptions ConnectionSocketOptions(const dist::NodeOptions& options);

// The registered function `function` with `args` decoded (with `context` for PIDs), ready to
// start; kNotFound when nothing is registered under that name, kInvalidArgument when the
// arguments do not decode as its parameters.
absl::StatusOr<SpawnStart> PrepareSpawn(std::string_view function, wire::ByteSpan args,
                                        wire::CodecContext* context,
                                        const wire::DecodeLimits& limits);

// The node a runtime is, or nullptr.
Node* NodeOf(Runtime& runtime);

// Starts the actor that accepts connections on `listener`.
void StartAcceptor(Self self, Node* node, net::TcpListener listener);
// Starts the actor that waits on the node's hangup watch.
void StartHangupWatcher(Self self, Node* node);
// Starts the reader of outgoing `session` on this shard (returns its actor). The reader runs at
// once: call without Node's mutex.
Pid StartOutgoing(Node* node, std::shared_ptr<Session> session);
// Starts a lane's reader on the lane's shard: dialing `dial` first, or on a JOIN just accepted.
void StartLane(Node* node, std::shared_ptr<Session> lane, std::optional<net::SocketAddress> dial);
// Starts the dial of a hangup watch (a session made with MakeLane(ticket, kWatchLane,
// kWatchLane)) on this shard.
void StartWatch(Node* node, std::shared_ptr<Session> watch, net::SocketAddress address);
// Ends a session's reader (and, through their link, its writer) with `reason`.
void EndSessionActor(Pid actor, absl::Status reason);

}  // namespace snow::dist_internal
