// File: dist/internal/session.h
//
// Session: one connection to one node, owned by one shard. It ties together what a connection
// is made of: the stream (plain or TLS), the handshake (PROTOCOL.md §3; session_handshake.cc),
// Outgoing (frames out), Incoming (frames in) and RemoteLinks (what its loss must answer for).
//
// Two linked actors drive it: the reader (connect, handshake, then Incoming's loop with the
// heartbeat as its read timeout) and the writer (Outgoing's loop). Whichever ends first ends
// the other through the link, and Close fires what the connection loss means (NodeDown,
// noconnection for links and monitors across it).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "snow/core/actor.h"
#include "snow/core/remote.h"
#include "snow/core/task.h"
#include "snow/dist/internal/handshake.h"
#include "snow/dist/internal/incoming.h"
#include "snow/dist/internal/node_impl.h"
#include "snow/dist/internal/outgoing.h"
#include "snow/dist/internal/remote_links.h"
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
  // The node-table slot of the peer's incarnation (PIDs from it carry this slot here).
  uint32_t peer_slot() const { return peer_slot_; }
  Pid reader() const { return reader_; }
  void set_reader(Pid pid) { reader_ = pid; }
  net::Stream& stream() { return stream_; }
  RemoteLinks& links() { return links_; }
  // The peer's name, for logs.
  std::string Describe() const;

  // The handshake (PROTOCOL.md §3) on a connected stream; on success the session is the peer's
  // live one and up. For a server session, `peer_` is known only afterwards.
  Task<absl::Status> HandshakeAsClient();
  Task<absl::Status> HandshakeAsServer();

  // Run the connection until it fails; return why.
  Task<absl::Status> ReadLoop();
  Task<absl::Status> WriteLoop();

  // --- Outgoing traffic (this shard's thread) ---
  // Takes a message or signal addressed to the peer.
  void Enqueue(RemoteEnvelope e);
  // Appends a complete frame (a named send); held until the session is up.
  void AppendFrame(wire::ByteSpan frame);
  // Frames held before the session was up, handed on when another connection won.
  wire::ByteBuffer TakeHeldFrames() { return std::move(held_frames_); }

  // Ends the session once: releases it from the table and fires NodeDown and noconnection.
  void Close(const absl::Status& reason);

  // PidContext: PIDs inside messages.
  void WritePid(wire::Writer& w, Pid pid) override;
  bool ReadPid(wire::Reader& r, Pid& pid) override;

 private:
  // The handshake's own framing: one payload per frame, bounded by kMaxHandshakeFrame.
  Task<absl::Status> WriteHandshakeFrame(std::string payload);
  Task<absl::StatusOr<std::string>> ReadHandshakeFrame(int64_t deadline_ns);
  Task<void> SendReject(RejectCode code, std::string reason);
  // TLS (when on) over the connected socket, and the exporter value the proofs bind to.
  Task<absl::Status> SecureStream(bool client);
  void BecomeUp();

  Node* node_;
  ShardId shard_;
  ShardStats* stats_;
  Peer* peer_;
  bool up_ = false;
  bool closed_ = false;
  uint32_t peer_creation_ = 0;
  uint32_t peer_slot_ = 0;
  Pid reader_;
  net::Stream stream_;
  Outgoing out_;
  Incoming in_;
  RemoteLinks links_;
  wire::ByteBuffer held_frames_;  // named sends waiting for the handshake
  std::string exporter_;          // the TLS exporter value the proofs are bound to
};

// The actors of a session.
Task<absl::Status> SessionReader(Self self, std::shared_ptr<Session> session,
                                 std::optional<net::SocketAddress> dial);
Task<absl::Status> SessionWriter(Self self, std::shared_ptr<Session> session);

}  // namespace snow::dist_internal
