// File: dist/internal/session.h
//
// Session: one connection to one node, owned by one shard. Two linked actors drive it: the
// reader (handshake, then frames in, heartbeat timeout) and the writer (frames out, coalesced;
// ticks when idle). Whichever ends first ends the other through the link, and Close fires what
// the connection loss means (NodeDown, noconnection for links and monitors across it).
//
// Outgoing traffic: small frames are appended to `urgent_` and leave in the writer's next
// write, however many there are. A frame over kBulkThreshold goes to the bulk lane and leaves
// in kFragmentBytes pieces, one per write, between the small frames, so a 64 MiB message holds
// the others back by one fragment at most. Order per sender and receiver holds because a
// message to a PID that has a bulk frame queued follows it through the bulk lane.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "snow/core/actor.h"
#include "snow/core/remote.h"
#include "snow/core/task.h"
#include "snow/dist/internal/handshake.h"
#include "snow/dist/internal/node_impl.h"
#include "snow/net/tcp.h"
#include "snow/net/tls.h"
#include "snow/wire/byte_buffer.h"
#include "snow/wire/frame.h"

namespace snow::dist_internal {

// TCP, or TLS over it, behind one read/write interface.
class Channel {
 public:
  Channel() = default;
  explicit Channel(net::TcpStream tcp) : tcp_(std::move(tcp)) {}
  Task<absl::Status> StartTls(net::TlsContext context);
  Task<absl::StatusOr<size_t>> ReadSome(std::span<char> buffer, absl::Duration timeout);
  Task<absl::Status> ReadExactly(std::span<char> buffer, absl::Duration timeout);
  Task<absl::Status> WriteAll(std::span<const char> data, absl::Duration timeout);
  // The TLS exporter value that binds the cookie proofs to this channel ("" for plain TCP).
  absl::StatusOr<std::string> Exporter() const;
  // Closes at once (no close_notify): the peer sees the connection drop.
  void Reset();

 private:
  net::TcpStream tcp_;
  std::optional<net::TlsStream> tls_;
};

class Session final : public PidContext {
 public:
  Session(Node* node, ShardId shard, Peer* peer, bool outgoing);
  ~Session() override;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  Node* node() const { return node_; }
  Peer* peer() const { return peer_; }
  ShardId shard_id() const { return shard_; }
  bool outgoing() const { return outgoing_; }
  bool up() const { return up_; }
  uint32_t peer_creation() const { return peer_creation_; }
  Pid reader() const { return reader_; }
  void set_reader(Pid pid) { reader_ = pid; }
  Channel& channel() { return channel_; }

  // The handshake (PROTOCOL.md §3) on a connected socket; on success the session is the peer's
  // live one. For a server session, `peer_` is known only afterwards.
  Task<absl::Status> HandshakeAsClient();
  Task<absl::Status> HandshakeAsServer();

  // Runs the connection until it fails; returns why.
  Task<absl::Status> ReadLoop();
  Task<absl::Status> WriteLoop(Self self);

  // --- Outgoing traffic (this shard's thread) ---
  // Takes a message or signal envelope addressed to the peer.
  void Enqueue(RemoteEnvelope e);
  // Appends a complete frame (a named send, a peer list).
  void AppendFrame(wire::ByteSpan frame);
  // Frames queued before the session was up, handed on when another connection won.
  wire::ByteBuffer TakeQueuedNamedFrames() { return std::move(named_pending_); }

  // Ends the session once: releases it from the table and fires NodeDown and noconnection.
  void Close(const absl::Status& reason);
  bool closed() const { return closed_; }

  // PidContext: PIDs inside messages.
  void WritePid(wire::Writer& w, Pid pid) override;
  bool ReadPid(wire::Reader& r, Pid& pid) override;

 private:
  struct BulkItem {
    wire::ByteBuffer bytes;  // one frame payload at bytes[offset..]
    size_t offset = 0;
    uint64_t to = 0;       // destination PID bits
    bool started = false;  // its first fragment is written
  };

  Task<absl::Status> WriteFrame(std::string_view payload);
  Task<absl::StatusOr<std::string>> ReadFrame(int64_t deadline_ns);
  Task<void> SendReject(RejectCode code, std::string reason);
  absl::Status HandleFrame(wire::ByteSpan frame);
  absl::Status HandlePayload(wire::ByteSpan payload);
  absl::Status DeliverSignal(wire::ByteSpan body);
  // Decodes a message for local actor `to` and routes it; a message that does not decode is
  // dropped and counted.
  absl::Status DeliverMessage(const RemoteType& type, wire::ByteSpan term, Pid to);
  // TLS (when on) over the connected socket, and the exporter value the proofs bind to.
  Task<absl::Status> SecureChannel(bool client);
  uint16_t OutTypeId(const RemoteType* type);
  // Starts a frame in the right lane for `to`; returns the buffer and where the frame starts.
  wire::ByteBuffer& BeginFrame(uint64_t to, size_t* start);
  void EndFrame(wire::ByteBuffer& out, size_t start, uint64_t to);
  void TrackOutgoingSignal(const RemoteEnvelope& s);
  void Kick();
  void BecomeUp();
  std::string Describe() const;

  Node* node_;
  ShardId shard_;
  ShardStats* stats_;
  Peer* peer_;
  bool outgoing_;
  bool up_ = false;
  bool closed_ = false;
  uint32_t peer_creation_ = 0;
  uint32_t peer_slot_ = 0;
  Pid reader_;
  Pid writer_;
  Channel channel_;

  // Out.
  wire::ByteBuffer urgent_;
  wire::ByteBuffer named_pending_;  // named frames waiting for the handshake
  std::deque<BulkItem> bulk_;
  absl::flat_hash_map<uint64_t, uint32_t> bulk_destinations_;
  size_t queued_bytes_ = 0;
  bool writer_waiting_ = false;
  bool kicked_ = false;
  absl::flat_hash_map<const RemoteType*, uint16_t> out_types_;
  const RemoteType* last_type_ = nullptr;
  uint16_t last_type_id_ = 0;
  uint64_t bytes_written_ = 0;

  // In.
  std::vector<const RemoteType*> in_types_;
  wire::ByteBuffer reassembly_;
  uint64_t reassembly_expected_ = 0;  // announced by the first fragment

  // What a lost connection must answer for: every link fires noconnection, every monitor a Down
  // with noconnection (docs/distribution.md).
  absl::flat_hash_set<std::pair<uint64_t, uint64_t>> links_;  // {local pid, remote pid}
  // Monitors by local actors of remote ones: ref -> {watcher, target}.
  absl::flat_hash_map<uint64_t, std::pair<Pid, Pid>> monitors_out_;
  // Monitors by remote actors of local ones, under a ref minted here (the peer's refs may
  // collide with this node's): local ref <-> the peer's ref. The target is kept so that Close
  // can take the monitor off it.
  struct MonitorIn {
    uint64_t peer_ref = 0;
    Pid target;
  };
  absl::flat_hash_map<uint64_t, MonitorIn> monitor_ref_to_peer_;
  absl::flat_hash_map<uint64_t, uint64_t> monitor_ref_from_peer_;

  // Handshake transcript.
  std::string exporter_;
};

// The actors of a session.
Task<absl::Status> SessionReader(Self self, std::shared_ptr<Session> session,
                                 std::optional<net::SocketAddress> dial);
Task<absl::Status> SessionWriter(Self self, std::shared_ptr<Session> session);

}  // namespace snow::dist_internal
