// File: dist/internal/session.h
//
// Session: one connection to one node, owned by one shard: the first connection to that node
// or one of its lanes (ARCHITECTURE.md, "Lanes"). It ties together what a connection is made
// of: the stream (plain or TLS), the handshake or JOIN (PROTOCOL.md §3; session_handshake.cc),
// Outgoing (frames out) and Incoming (frames in).
//
// Two linked actors drive it: the reader (connect, handshake, then Incoming's loop with the
// heartbeat as its read timeout) and the writer (Outgoing's loop). Whichever ends first ends
// the other through the link, and Close tells the node, which takes the whole peer down
// (NodeDown, noconnection for links and monitors across it) if the session was part of it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "snow/core/actor.h"
#include "snow/core/event.h"
#include "snow/core/remote.h"
#include "snow/core/task.h"
#include "snow/dist/internal/handshake.h"
#include "snow/dist/internal/incoming.h"
#include "snow/dist/internal/node_impl.h"
#include "snow/dist/internal/outgoing.h"
#include "snow/net/socket_address.h"
#include "snow/net/stream.h"
#include "snow/wire/byte_buffer.h"

namespace snow::dist_internal {

class Session final : public PidContext {
 public:
  // `peer` is known for a dial; an accepted session learns it in the handshake (nullptr).
  Session(Node* node, ShardId shard, Peer* peer);
  ~Session() override;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  Node* node() const { return node_; }
  Peer* peer() const { return peer_; }
  ShardId shard_id() const { return shard_; }
  ShardStats* stats() const { return stats_; }
  bool up() const { return up_; }
  bool closed() const { return closed_; }
  uint32_t peer_creation() const { return peer_creation_; }
  // What the peer announced in its handshake (PROTOCOL.md §3), kCap* bits.
  uint64_t peer_capabilities() const { return peer_capabilities_; }
  // The peer acknowledges fragments and paces its own by ours (kCapBulkWindow).
  bool bulk_window() const { return (peer_capabilities_ & kCapBulkWindow) != 0; }
  // BULK_READ from the peer: it read `bytes` of this connection's fragments.
  void PeerReadBulk(uint32_t bytes) { out_.BulkRead(bytes); }
  // This side read `bytes` of the peer's fragments: tell it, if it paces by that.
  void ReadBulk(uint32_t bytes) {
    if (bulk_window()) out_.AddBulkRead(bytes);
  }
  // The node-table slot of the peer's incarnation (PIDs from it carry this slot here).
  uint32_t peer_slot() const { return peer_slot_; }
  Pid reader() const { return reader_; }
  void set_reader(Pid pid) { reader_ = pid; }
  net::Stream& stream() { return stream_; }

  // --- Lanes ---
  // The connection this session belongs to (set once up, or when a lane is made).
  uint64_t generation() const { return generation_; }
  void set_generation(uint64_t generation) { generation_ = generation; }
  bool is_lane() const { return is_lane_; }
  // The pair of lanes a lane joins: this node's end and the peer's.
  uint16_t lane() const { return lane_; }
  uint16_t peer_lane() const { return peer_lane_; }
  // What the first connection learned: the peer's lane count, and the ends it is on.
  uint16_t peer_lanes() const { return peer_lanes_; }
  uint16_t first_lane() const { return first_lane_; }
  uint16_t peer_first_lane() const { return peer_first_lane_; }
  const std::string& lane_key() const { return lane_key_; }
  // This session becomes lane (`lane`, `peer_lane`) of the connection `ticket` describes.
  void MakeLane(const LaneTicket& ticket, uint16_t lane, uint16_t peer_lane);
  // A JOIN was accepted and the lane handed to its own session: this one ends quietly.
  bool handed_over() const { return handed_over_; }
  // A lane is read only once the peer's lane said LANES_UP (what that lane sent before went
  // over the first connection and must be handed on first).
  void AllowReading();
  bool readable() const { return readable_; }
  Task<void> WaitUntilReadable();
  // Queue LANES_UP / LANES_WANTED for this node's lane `lane` (on the first connection).
  void AddLanesUp(uint16_t lane);
  void AddLanesWanted(uint16_t lane);
  // This node dialed the connection (its client).
  bool dialed() const { return dialed_; }
  // The peer's name, for logs.
  std::string Describe() const;
  // An accepted connection's address without its port, while its handshake holds a slot.
  const std::string& pending_source() const { return pending_source_; }
  void set_pending_source(std::string source) { pending_source_ = std::move(source); }

  // Connects the stream to `address` (within the handshake timeout).
  Task<absl::Status> Dial(net::SocketAddress address);
  // The handshake (PROTOCOL.md §3) on a connected stream; on success the session is the peer's
  // live one and up. For a server session, `peer_` is known only afterwards.
  Task<absl::Status> HandshakeAsClient();
  // In the reader actor `self`, which may wait for the peer's previous connection to go.
  Task<absl::Status> HandshakeAsServer(Self self);
  // A lane's JOIN on a connected stream (the session was made with MakeLane).
  Task<absl::Status> JoinAsClient();

  // Run the connection until it fails; return why.
  Task<absl::Status> ReadLoop();
  Task<absl::Status> WriteLoop();

  // --- Outgoing traffic (this shard's thread) ---
  // Takes a message or signal addressed to the peer.
  void Enqueue(RemoteEnvelope e);
  // Appends a complete frame (a named send); held until the session is up.
  void AppendFrame(wire::ByteSpan frame);
  // Flow control: Outgoing::AskForRoom.
  bool AskForRoom(Pid waiter, uint64_t token) { return out_.AskForRoom(waiter, token); }
  // Frames held before the session was up, handed on when another connection won.
  wire::ByteBuffer TakeHeldFrames() { return std::move(held_frames_); }

  // Ends the session once and tells the node (which takes the peer down if it was part of it).
  void Close(const absl::Status& reason);
  // The peer's process ended (its hangup watch closed without a farewell): the stream is shut
  // down, so the reader takes what has arrived, then ends with PeerProcessEnded().
  void ShutDownForDeadPeer();
  bool peer_process_ended() const { return peer_process_ended_; }

  // PidContext: PIDs inside messages.
  void WritePid(wire::Writer& w, Pid pid) override;
  bool ReadPid(wire::Reader& r, Pid& pid) override;

 private:
  // The handshake's own framing: one payload per frame, bounded by kMaxHandshakeFrame.
  Task<absl::Status> WriteHandshakeFrame(std::string payload);
  Task<absl::StatusOr<std::string>> ReadHandshakeFrame(int64_t deadline_ns);
  // Sends REJECT `code` (with `told`, or why's message) and returns `why`.
  Task<absl::Status> Refuse(RejectCode code, absl::Status why, std::string told = {});
  // TLS (when on) over the connected socket, and the exporter value the proofs bind to.
  Task<absl::Status> SecureStream(bool client);
  // With NodeOptions::name_in_certificate: whether the peer's certificate names `name`.
  absl::Status CheckCertificateNames(const std::string& name) const;
  // The server's side of a JOIN (`payload`): checks it, answers, and hands the stream to a new
  // session on the lane's shard.
  Task<absl::Status> JoinAsServer(std::string payload);
  void LearnCapabilities(uint64_t capabilities);
  // What HELLO or CHALLENGE says of the lanes, checked.
  absl::Status LearnLanes(uint16_t peer_lanes, uint16_t peer_first_lane);
  void BecomeUp();

  Node* node_;
  ShardId shard_;
  ShardStats* stats_;
  Peer* peer_;
  bool up_ = false;
  bool closed_ = false;
  bool is_lane_ = false;
  bool dialed_ = false;
  bool handed_over_ = false;
  bool peer_process_ended_ = false;
  bool readable_ = true;  // false for a lane until the peer's lane said LANES_UP
  uint64_t generation_ = 0;
  uint16_t lane_ = kNoLane;
  uint16_t peer_lane_ = kNoLane;
  uint16_t peer_lanes_ = 1;
  uint16_t first_lane_ = kNoLane;
  uint16_t peer_first_lane_ = kNoLane;
  std::string lane_key_;
  std::string pending_source_;
  Event readable_event_;
  uint32_t peer_creation_ = 0;
  uint64_t peer_capabilities_ = 0;
  uint32_t peer_slot_ = 0;
  Pid reader_;
  net::Stream stream_;
  Outgoing out_;
  Incoming in_;
  wire::ByteBuffer held_frames_;  // named sends waiting for the handshake
  std::string exporter_;          // the TLS exporter value the proofs are bound to
};

// Why a session whose peer's process ended ends.
absl::Status PeerProcessEnded();

// The actors of a session.
Task<absl::Status> SessionReader(Self self, std::shared_ptr<Session> session,
                                 std::optional<net::SocketAddress> dial);
Task<absl::Status> LaneReader(Self self, std::shared_ptr<Session> session,
                              std::optional<net::SocketAddress> dial);
Task<absl::Status> SessionWriter(Self self, std::shared_ptr<Session> session);
// Dials a hangup watch, JOINs, and hands its socket to the node's watch.
Task<absl::Status> WatchDialer(Self self, std::shared_ptr<Session> watch,
                               net::SocketAddress address);

// Marks an actor of the node's own for as long as it lives (Node::AddOwnActor).
struct OwnActor {
  OwnActor(Node* n, Pid p) : node(n), pid(p) { node->AddOwnActor(pid); }
  ~OwnActor() { node->RemoveOwnActor(pid); }
  OwnActor(const OwnActor&) = delete;
  OwnActor& operator=(const OwnActor&) = delete;
  Node* node;
  Pid pid;
};

}  // namespace snow::dist_internal
