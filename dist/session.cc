#include "snow/dist/internal/session.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "snow/core/exit_reason.h"
#include "snow/core/status.h"
#include "snow/dist/internal/protocol.h"
#include "snow/wire/reader.h"
#include "snow/wire/writer.h"

namespace snow::dist_internal {
namespace {

// A local PID as the peer names it: its node bits cleared (the peer sees slot 0 = itself).
uint64_t LocalBits(Pid pid) { return Pid::FromParts(0, pid.shard(), pid.serial()).bits(); }

}  // namespace

Session::Session(Node* node, ShardId shard, Peer* peer)
    : node_(node),
      shard_(shard),
      stats_(&node->stats(shard)),
      peer_(peer),
      out_(node->options().max_queue_bytes, node->options().flow_high_bytes,
           node->options().flow_low_bytes, stats_),
      in_(this) {}

Session::~Session() = default;

std::string Session::Describe() const {
  return peer_ != nullptr ? peer_->name : std::string("(unnamed peer)");
}

void Session::MakeLane(const LaneTicket& ticket, uint16_t lane, uint16_t peer_lane) {
  is_lane_ = true;
  peer_ = ticket.peer;
  generation_ = ticket.generation;
  peer_creation_ = ticket.peer_creation;
  peer_slot_ = ticket.slot;
  peer_lanes_ = ticket.peer_lanes;
  lane_key_ = ticket.lane_key;
  LearnCapabilities(ticket.peer_capabilities);
  readable_ = false;
  lane_ = lane;
  peer_lane_ = peer_lane;
}

void Session::LearnCapabilities(uint64_t capabilities) {
  peer_capabilities_ = capabilities;
  if (bulk_window()) out_.UseBulkWindow(node_->options().tls ? kTlsPacing : kPlainPacing);
  if ((capabilities & kCapDefinedShapes) != 0) out_.UseDefinedShapes();
}

absl::Status Session::LearnLanes(uint16_t peer_lanes, uint16_t peer_first_lane) {
  if (peer_lanes == 0 || peer_lanes > kMaxLanes ||
      (peer_first_lane != kNoLane && peer_first_lane >= peer_lanes)) {
    return ProtocolError("lane count or lane out of range");
  }
  peer_lanes_ = peer_lanes;
  peer_first_lane_ = peer_first_lane;
  return absl::OkStatus();
}

void Session::AllowReading() {
  if (readable_) return;
  readable_ = true;
  readable_event_.Notify();
  absl::Status held = in_.Release();
  if (!held.ok()) {
    Close(held);
    EndSessionActor(reader_, held);
  }
}

Task<void> Session::WaitUntilReadable() {
  while (!readable_ && !closed_) (void)co_await readable_event_.Wait(absl::InfiniteDuration());
}

void Session::AddLanesUp(uint16_t lane) { out_.AddLanesUp(lane); }

Task<absl::Status> Session::Dial(net::SocketAddress address) {
  absl::StatusOr<net::TcpStream> tcp = co_await net::TcpStream::Connect(
      address, node_->options().handshake_timeout, ConnectionSocketOptions(node_->options()));
  if (!tcp.ok()) co_return tcp.status();
  stream_ = net::Stream(std::move(*tcp));
  co_return absl::OkStatus();
}

void Session::AddLanesWanted(uint16_t lane) { out_.AddLanesWanted(lane); }

void Session::BecomeUp() {
  up_ = true;
  peer_slot_ = node_->SlotFor(peer_->name, peer_creation_);
  node_->FirstConnectionUp(this);
  // Tell the peer whom we know (mesh), then what waited for the handshake.
  std::vector<std::string> names;
  for (std::string& n : node_->ConnectedNames()) {
    if (n != peer_->name) names.push_back(std::move(n));
  }
  out_.AddPeers(names);
  if (!held_frames_.empty()) {
    out_.AddFrame(held_frames_.view());
    held_frames_ = wire::ByteBuffer();
  }
}

Task<absl::Status> Session::ReadLoop() {
  co_return co_await in_.ReadLoop(stream_, node_->options().tick);
}

Task<absl::Status> Session::WriteLoop() {
  co_return co_await out_.WriteLoop(stream_, node_->options().tick);
}

// --- Outgoing ---

void Session::Enqueue(RemoteEnvelope e) {
  const uint64_t to = LocalBits(e.to());
  if (e.is_signal()) {
    // Signals go whatever the queue holds: a link or monitor that silently failed would be
    // worse than memory. (Node::Route accounted for it on its sender's shard.)
    out_.AddSignal(to, e.signal_kind(), LocalBits(e.from()), e.ref(), e.reason());
    return;
  }
  if (out_.full()) {
    ShardStats::Add(stats_->dropped_queue_full, 1);
    return;
  }
  const auto* type = static_cast<const RemoteType*>(e.codec());
  if (type == nullptr) [[unlikely]] {
    ShardStats::Add(stats_->dropped_not_registered, 1);
    node_->LogAbout(Describe(), LogKind::kUnregisteredType, [&] {
      return absl::StrCat("dropped a message of type ", e.type_name(), " to ", Describe(),
                          ": the type is not registered (dist::Message or dist::RegisterMessage)");
    });
    return;
  }
  absl::Status status = out_.AddMessage(to, *type, e, *this);
  if (!status.ok()) [[unlikely]] {
    ShardStats::Add(stats_->dropped_encode_failed, 1);
    node_->LogAbout(Describe(), LogKind::kDropped, [&] {
      return absl::StrCat("dropped a ", type->wire_name, " to ", Describe(), ": ",
                          status.ToString());
    });
    return;
  }
  ShardStats::Add(stats_->messages_sent, 1);
}

void Session::AppendFrame(wire::ByteSpan frame) {
  if (!up_) {
    held_frames_.Append(frame);
    return;
  }
  out_.AddFrame(frame);
  ShardStats::Add(stats_->messages_sent, 1);
}

// --- PIDs inside messages ---

void Session::WritePid(wire::Writer& w, Pid pid) { node_->WritePid(w, pid); }

bool Session::ReadPid(wire::Reader& r, Pid& pid) {
  wire::PidView v;
  if (!r.ReadPid(&v)) return false;
  if (v.shard >= Pid::kMaxShards || v.serial > Pid::kMaxSerial) {
    return r.Fail(absl::StatusCode::kInvalidArgument, "PID out of range");
  }
  uint32_t slot;
  if (v.node == peer_->name && v.creation == peer_creation_) {
    slot = peer_slot_;
  } else if (v.node == node_->name() && v.creation == node_->creation()) {
    slot = 0;
  } else {
    if (!CheckNodeName(v.node).ok()) {
      return r.Fail(absl::StatusCode::kInvalidArgument, "PID with a malformed node name");
    }
    slot = node_->SlotFor(v.node, v.creation);
    if (slot == 0) return r.Fail(absl::StatusCode::kResourceExhausted, "node table full");
  }
  pid = Pid::FromParts(slot, v.shard, v.serial);
  return true;
}

// --- End ---

void Session::Close(const absl::Status& reason) {
  if (closed_) return;
  closed_ = true;
  up_ = false;
  readable_event_.Notify();
  out_.TellWaiters();  // senders waiting for room find out on their next send
  out_.Stop();         // the writer ends the stream in order (SessionWriter)
  if (peer_ != nullptr) {
    // No route may lead here any more.
    PeerShard& here = peer_->shards[shard_];
    if (here.first == this) here.first = nullptr;
    for (Session*& lane : here.lanes) {
      if (lane == this) lane = nullptr;
    }
  }
  node_->Release(this, reason);
}

void Session::ShutDownForDeadPeer() {
  peer_process_ended_ = true;
  stream_.ShutdownNow();
}

absl::Status PeerProcessEnded() {
  return absl::UnavailableError("its process ended (the hangup watch closed without a farewell)");
}

// --- The actors ---

namespace {

// Gives an accepted connection's handshake slot back when the handshake is over, or when the
// actor's frame goes before that (an exit signal can end the reader mid-handshake: without this
// the slot leaked, and 32 leaks locked the address out).
struct HandshakeSlot {
  Node* node;
  const std::string* source;  // the session's pending_source(), which outlives this
  ~HandshakeSlot() { node->EndHandshake(*source); }
};

// Closes the session when the actor's frame goes, whichever way it goes.
struct CloseOnExit {
  std::shared_ptr<Session> session;
  absl::Status reason = absl::UnavailableError("connection closed");
  ~CloseOnExit() { session->Close(reason); }
};

}  // namespace

Task<absl::Status> SessionReader(Self self, std::shared_ptr<Session> session,
                                 std::optional<net::SocketAddress> dial) {
  session->set_reader(self.pid());
  CloseOnExit guard{session};
  Node* node = session->node();
  OwnActor own(node, self.pid());
  absl::Status status;
  if (dial.has_value()) {
    status = co_await session->Dial(*dial);
    if (status.ok()) status = co_await session->HandshakeAsClient();
  } else {
    HandshakeSlot slot{node, &session->pending_source()};
    status = co_await session->HandshakeAsServer(self);
  }
  if (session->handed_over()) co_return absl::OkStatus();  // a lane, now on its own shard
  if (!status.ok()) {
    guard.reason = status;
    if (absl::IsAborted(status)) {
      // Both nodes dialled at once and the other connection is the one kept: not a failure.
      // Stay until that one is up (or has failed), so that callers of Connect hear its
      // outcome, not this one's.
      Ref ref = self.MakeRef();
      const uint64_t bits = ref.bits();
      if (!node->AwaitOtherConnection(session.get(), self.pid(), bits)) {
        auto is_ours = [bits](const ConnectResult& r) { return r.ref == bits; };
        absl::StatusOr<ConnectResult> other = co_await self.ReceiveReply<ConnectResult>(
            ref, is_ours, node->options().handshake_timeout);
        (void)other;  // either way this connection is done
      }
      co_return absl::OkStatus();
    }
    ShardStats::Add(node->stats(self.shard()).handshakes_failed, 1);
    const std::string peer = session->peer() != nullptr ? session->peer()->name : "a new peer";
    node->LogAbout(peer, LogKind::kConnection, [&] {
      return absl::StrCat(dial.has_value() ? "connect to " : "handshake with ", peer,
                          " failed: ", status.ToString());
    });
    co_return absl::OkStatus();
  }
  self.Spawn(SessionWriter, session);
  status = co_await session->ReadLoop();
  if (session->peer_process_ended()) status = PeerProcessEnded();
  guard.reason = status;
  co_return status.ok() ? absl::UnavailableError("session ended") : status;
}

Task<absl::Status> LaneReader(Self self, std::shared_ptr<Session> session,
                              std::optional<net::SocketAddress> dial) {
  session->set_reader(self.pid());
  CloseOnExit guard{session};
  Node* node = session->node();
  OwnActor own(node, self.pid());
  absl::Status status = node->AddLaneActor(session.get(), self.pid());
  if (status.ok() && dial.has_value()) {
    status = co_await session->Dial(*dial);
    if (status.ok()) status = co_await session->JoinAsClient();
    if (!status.ok()) {
      // The peer is taken down with it (the lanes are one connection), and says so.
      status = absl::UnavailableError(absl::StrCat("lane ", session->lane(), "-",
                                                   session->peer_lane(), ": ", status.ToString()));
    }
  }
  if (!status.ok()) {
    guard.reason = status;
    co_return absl::OkStatus();
  }
  node->LaneUp(session.get());
  self.Spawn(SessionWriter, session);
  status = co_await session->ReadLoop();
  if (session->peer_process_ended()) status = PeerProcessEnded();
  guard.reason = status;
  co_return status.ok() ? absl::UnavailableError("session ended") : status;
}

Task<absl::Status> WatchDialer(Self self, std::shared_ptr<Session> watch,
                               net::SocketAddress address) {
  Node* node = watch->node();
  OwnActor own(node, self.pid());
  absl::Status status = co_await watch->Dial(address);
  if (status.ok()) status = co_await watch->JoinAsClient();
  if (status.ok()) {
    status = node->Watch(watch->peer(), watch->generation(), watch->stream().TakeSocket());
  }
  // Without its watch the connection still works; only a kill -9 of the peer is noticed later,
  // when the kernel closes its sockets.
  if (!status.ok() && !absl::IsAborted(status)) {
    node->LogAbout(watch->Describe(), LogKind::kConnection, [&] {
      return absl::StrCat("the hangup watch of ", watch->Describe(),
                          " is not set up: ", status.ToString());
    });
  }
  co_return absl::OkStatus();
}

// The writer is not linked to its reader. A writer ended by a signal while its send is in the
// kernel cannot tell how much of a TLS record left, so the stream could not end with
// close_notify, and the peer would read a connection cut short. Instead, when the session closes
// (its reader ended: the peer went, a Disconnect, a newer incarnation), the writer finishes the
// write in progress and closes the stream in order; when the writer fails first, it ends the
// reader.
Task<absl::Status> SessionWriter(Self self, std::shared_ptr<Session> session) {
  OwnActor own(session->node(), self.pid());
  absl::Status status = co_await session->WriteLoop();
  if (session->closed()) {
    (void)co_await session->stream().Close();
    co_return absl::OkStatus();
  }
  session->Close(status);
  EndSessionActor(session->reader(), status);
  co_return status;
}

}  // namespace snow::dist_internal
