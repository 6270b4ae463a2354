#include "snow/dist/node.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "snow/core/exit_reason.h"
#include "snow/core/status.h"
#include "snow/core/time.h"
#include "snow/dist/internal/fields.h"
#include "snow/dist/internal/handshake.h"
#include "snow/dist/internal/name_service.h"
#include "snow/dist/internal/node_impl.h"
#include "snow/dist/internal/session.h"
#include "snow/net/crypto.h"

namespace snow::dist_internal {

// --- The registry of message types ---

namespace {

struct TypeRegistry {
  Mutex mutex;
  absl::flat_hash_map<std::string, const RemoteType*> by_name ABSL_GUARDED_BY(mutex);
};

TypeRegistry& Registry() {
  static auto* registry = new TypeRegistry();
  return *registry;
}

}  // namespace

void Register(std::atomic<const void*>& codec_slot, RemoteType type) {
  TypeRegistry& registry = Registry();
  MutexLock lock(&registry.mutex);
  if (codec_slot.load(std::memory_order_acquire) != nullptr) return;
  auto it = registry.by_name.find(type.wire_name);
  SNOW_CHECK(it == registry.by_name.end(),
             "RegisterMessage: two C++ types registered under one wire name");
  // Registrations live as long as the program, as the types do.
  auto* stored = new RemoteType(std::move(type));
  registry.by_name.emplace(stored->wire_name, stored);
  codec_slot.store(stored, std::memory_order_release);
}

const RemoteType* FindRemoteType(std::string_view wire_name) {
  TypeRegistry& registry = Registry();
  MutexLock lock(&registry.mutex);
  auto it = registry.by_name.find(AbslView(wire_name));
  return it == registry.by_name.end() ? nullptr : it->second;
}

// --- Node ---

namespace {

absl::StatusOr<net::SocketAddress> AddressOf(std::string_view name) {
  SNOW_RETURN_IF_ERROR(CheckNodeName(name));
  std::string_view host_port = name.substr(name.find('@') + 1);
  std::string text(host_port);
  if (host_port.starts_with("localhost:")) {
    text = absl::StrCat("127.0.0.1", AbslView(host_port.substr(9)));
  }
  return net::SocketAddress::Parse(text);
}

// Where to dial `name`: NodeOptions::connect_via if it lists the name, else the name's address.
absl::StatusOr<net::SocketAddress> DialAddressOf(const dist::NodeOptions& options,
                                                 std::string_view name) {
  SNOW_ASSIGN_OR_RETURN(net::SocketAddress address, AddressOf(name));
  auto via = options.connect_via.find(std::string(name));
  if (via == options.connect_via.end()) return address;
  return net::SocketAddress::Parse(via->second);
}

}  // namespace

Node::Node(Runtime& runtime, dist::NodeOptions options, std::string cookie, uint32_t creation,
           net::TlsContext server_tls, net::TlsContext client_tls,
           std::unique_ptr<net::HangupWatch> hangup_watch)
    : runtime_(runtime),
      options_(std::move(options)),
      cookie_(std::move(cookie)),
      creation_(creation),
      server_tls_(std::move(server_tls)),
      client_tls_(std::move(client_tls)),
      stats_(runtime.shard_count()),
      watch_(std::move(hangup_watch)),
      lanes_(static_cast<uint16_t>(std::min<uint32_t>(runtime.shard_count(), kMaxLanes))) {}

// Every shard has stopped: the node's own end is on purpose, so its peers wait for their
// connections to end rather than cut them short.
Node::~Node() { watch_->RemoveAll(std::string_view(&kWatchFarewell, 1)); }

void Node::Log(const std::string& line) const {
  std::fprintf(stderr, "snow dist %s: %s\n", options_.name.c_str(), line.c_str());
}

void Node::AddOwnActor(Pid pid) {
  MutexLock lock(&own_actors_mutex_);
  own_actors_.insert(pid);
}

void Node::RemoveOwnActor(Pid pid) {
  MutexLock lock(&own_actors_mutex_);
  own_actors_.erase(pid);
}

bool Node::IsOwnActor(Pid pid) {
  MutexLock lock(&own_actors_mutex_);
  return own_actors_.contains(pid);
}

void Node::LogNodeDown(const std::string& peer, const absl::Status& why) const {
  // A program that monitors nodes hears of it as NodeDown and decides what to say; a node that
  // is stopping ends its own connections, which is no news.
  if (!node_monitors_.empty() || runtime_.stopping()) return;
  // Limited like every line a peer can cause: one that connects and breaks the protocol in a
  // loop would otherwise write a line per attempt.
  LogAbout(peer, LogKind::kNodeDown,
           [&] { return absl::StrCat("node down: ", peer, ": ", why.ToString()); });
}

std::string Node::PidText(Pid pid) const {
  if (pid.is_local())
    return absl::StrCat("<", options_.name, ".", pid.shard(), ".", pid.serial(), ">");
  const Slot* known = slot(pid.node());
  if (known == nullptr) return pid.ToString();
  return absl::StrCat("<", known->name, ".", pid.shard(), ".", pid.serial(), ">");
}

std::string Node::NodeName(Pid pid) const {
  if (pid.is_local()) return options_.name;
  const Slot* known = slot(pid.node());
  return known != nullptr ? known->name : std::string();
}

absl::StatusOr<Peer*> Node::PeerFor(std::string_view name) {
  if (name == options_.name) {
    return absl::InvalidArgumentError(absl::StrCat(AbslView(name), " is this node"));
  }
  MutexLock lock(&mutex_);
  auto it = peers_.find(AbslView(name));
  if (it != peers_.end()) return it->second.get();
  SNOW_ASSIGN_OR_RETURN(net::SocketAddress address, DialAddressOf(options_, name));
  std::unique_ptr<Peer> peer = NewPeer(std::string(name), address);
  Peer* raw = peer.get();
  peers_.emplace(peer->name, std::move(peer));
  return raw;
}

std::unique_ptr<Peer> Node::NewPeer(std::string name, net::SocketAddress address) {
  auto peer = std::make_unique<Peer>();
  peer->name = std::move(name);
  peer->address = address;
  peer->shards = std::make_unique<PeerShard[]>(runtime_.shard_count());
  return peer;
}

uint32_t Node::SlotFor(std::string_view name, uint32_t creation) {
  MutexLock lock(&mutex_);
  return SlotForLocked(name, creation, /*connecting=*/false);
}

uint32_t Node::SlotForLocked(std::string_view name, uint32_t creation, bool connecting) {
  auto key = std::make_pair(std::string(name), creation);
  if (auto it = slot_index_.find(key); it != slot_index_.end()) return it->second;
  if (!connecting && next_slot_ >= kForeignSlotLimit) {
    // A PID of an incarnation met only in a message, with the table under pressure: a dead PID
    // (the node table's comment in node_impl.h says why not a new slot).
    if (slots_[kUnknownNodeSlot].load(std::memory_order_relaxed) == nullptr) {
      slots_[kUnknownNodeSlot].store(&unknown_node_slot_, std::memory_order_release);
    }
    pids_of_unknown_nodes_.fetch_add(1, std::memory_order_relaxed);
    return kUnknownNodeSlot;
  }
  if (next_slot_ >= kUnknownNodeSlot) return 0;
  auto slot = std::make_unique<Slot>();
  slot->name = std::string(name);
  slot->creation = creation;
  if (name != options_.name) {
    auto it = peers_.find(AbslView(name));
    if (it == peers_.end()) {
      // A PID of a node we have never talked to: it gets a peer, so it can be reached once
      // connected.
      absl::StatusOr<net::SocketAddress> address = DialAddressOf(options_, name);
      if (!address.ok()) return 0;
      std::unique_ptr<Peer> peer = NewPeer(std::string(name), *address);
      it = peers_.emplace(peer->name, std::move(peer)).first;
    }
    slot->peer = it->second.get();
  }
  uint32_t index = next_slot_++;
  slots_[index].store(slot.get(), std::memory_order_release);
  slot_storage_.push_back(std::move(slot));
  slot_index_.emplace(std::move(key), index);
  return index;
}

absl::StatusOr<uint32_t> Node::LiveSlotOf(std::string_view name) {
  MutexLock lock(&mutex_);
  auto it = peers_.find(AbslView(name));
  if (it == peers_.end() || it->second->state != Peer::State::kUp) {
    return absl::UnavailableError("not connected");
  }
  return it->second->slot;
}

bool Node::AwaitOtherConnection(Session* session, Pid waiter, uint64_t ref) {
  MutexLock lock(&mutex_);
  Peer* peer = session->peer();
  if (peer == nullptr) return true;
  if (peer->state == Peer::State::kUp && peer->session != session) return true;
  peer->waiters.emplace_back(waiter, ref);
  return false;
}

bool Node::AwaitPeerDown(Session* session, Pid waiter, uint64_t ref) {
  MutexLock lock(&mutex_);
  Peer* peer = session->peer();
  if (peer == nullptr || peer->state != Peer::State::kUp ||
      peer->creation.load(std::memory_order_relaxed) != session->peer_creation()) {
    return false;
  }
  peer->down_waiters.emplace_back(waiter, ref);
  return true;
}

void Node::WritePid(wire::Writer& w, Pid pid) const {
  if (pid.is_local()) {
    w.WritePid(wire::PidView{options_.name, creation_, pid.shard(), pid.serial()});
    return;
  }
  const Slot* s = slot(pid.node());
  if (s == nullptr) {
    w.Fail(absl::InvalidArgumentError(absl::StrCat("a PID of unknown node slot ", pid.node())));
    return;
  }
  w.WritePid(wire::PidView{s->name, s->creation, pid.shard(), pid.serial()});
}

std::vector<std::string> Node::ConnectedNames() {
  std::vector<std::string> names;
  MutexLock lock(&mutex_);
  for (const auto& [name, peer] : peers_) {
    if (peer->state == Peer::State::kUp) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

namespace {

// `e` has no way to the peer now: a signal answers as if its target had ended, a message is
// dropped and counted.
void NoRoute(RemoteEnvelope e, ShardStats& stats) {
  if (!e.is_signal()) ShardStats::Add(stats.dropped_no_connection, 1);
  remote::Undeliverable(std::move(e), NoConnectionReason());
}

// The lane a shard's traffic belongs to (shards past the lane count share lanes).
ShardId LaneOf(ShardId shard, uint32_t lanes) { return shard < lanes ? shard : shard % lanes; }

}  // namespace

void Node::Route(RemoteEnvelope e) {
  const Slot* slot = this->slot(e.to().node());
  if (slot == nullptr) {
    remote::Undeliverable(std::move(e), NoConnectionReason());
    return;
  }
  Peer* peer = slot->peer;
  if (peer == nullptr) {
    remote::Undeliverable(std::move(e), NoProcReason());  // an earlier incarnation of this node
    return;
  }
  const ShardId shard = remote::ThisShard();
  int32_t owner = peer->owner.load(std::memory_order_acquire);
  uint32_t live = peer->creation.load(std::memory_order_acquire);
  if (owner < 0 || live == 0 || peer->shards[shard].holding) [[unlikely]] {
    if (!options_.auto_connect) {
      NoRoute(std::move(e), stats_[shard]);
    } else {
      HoldWhileConnecting(peer, std::move(e));
    }
    return;
  }
  if (live != slot->creation) {
    remote::Undeliverable(std::move(e), NoProcReason());  // an earlier incarnation of that node
    return;
  }
  const uint64_t generation = peer->generation.load(std::memory_order_acquire);
  if (e.is_signal()) [[unlikely]] {
    if (!e.from().is_local()) return;
    if (e.from().shard() == shard) {
      // Accounted for once, on its sender's shard, which answers for it if the peer goes.
      PeerShard* mine = ShardOf(peer, shard, generation);
      if (mine == nullptr) return;
      std::optional<uint64_t> ref = mine->links.Sending(e.signal_kind(), e.from(), e.to(), e.ref());
      if (!ref) return;
      if (*ref != e.ref()) {
        e = RemoteEnvelope::Signal(e.to(), e.signal_kind(), e.from(), *ref, e.reason());
      }
    }
  }
  // The shard that owns this shard's lane decides the path, so that all of the lane's traffic
  // takes one path, in order.
  const ShardId lane = LaneOf(shard, lanes_);
  if (lane != shard) [[unlikely]] {
    remote::Forward(std::move(e), lane);
    return;
  }
  PeerShard* here = ShardOf(peer, shard, generation);
  if (here == nullptr || !here->switched) [[unlikely]] {
    if (here != nullptr && !here->wanted) WantLanes(peer, *here, shard);
    SendOverFirst(peer, generation, std::move(e));
    return;
  }
  Session* session = here->lanes[LaneOf(e.to().shard(), here->lanes.size())];
  if (session == nullptr || !session->up()) {
    NoRoute(std::move(e), stats_[shard]);
    return;
  }
  session->Enqueue(std::move(e));
}

void Node::HoldWhileConnecting(Peer* peer, RemoteEnvelope e) {
  const ShardId shard = remote::ThisShard();
  std::deque<RemoteEnvelope>& held = peer->shards[shard].held;
  if (held.size() >= kMaxHeldWhileConnecting) {
    if (!e.is_signal()) ShardStats::Add(stats_[shard].dropped_queue_full, 1);
    remote::Undeliverable(std::move(e), NoConnectionReason());
    return;
  }
  const bool first = held.empty();
  held.push_back(std::move(e));
  peer->shards[shard].holding = true;
  // The first one held dials (unless a dial is under way); the settling that follows the dial's
  // end, on every shard, takes care of the rest.
  if (first) EnsureConnecting(peer);
}

void Node::SettleHeld(Peer* peer) {
  for (ShardId shard = 0; shard < runtime_.shard_count(); ++shard) {
    runtime_.SubmitTo(shard, [this, peer] {
      const ShardId here = remote::ThisShard();
      std::deque<RemoteEnvelope> held = std::move(peer->shards[here].held);
      peer->shards[here].held.clear();
      peer->shards[here].holding = false;
      if (held.empty()) return;
      // Read without the lock (this may run inside the caller's): a peer with an owner but no
      // live creation is being dialed.
      const bool has_owner = peer->owner.load(std::memory_order_acquire) >= 0;
      const bool up = has_owner && peer->creation.load(std::memory_order_acquire) != 0;
      if (has_owner && !up) {
        peer->shards[here].held = std::move(held);  // a newer dial will settle them
        peer->shards[here].holding = true;
        return;
      }
      // Up: routed in order now (nothing is held any more, so Route sends). Failed: answered
      // for, each exactly once.
      for (RemoteEnvelope& e : held) {
        if (up) {
          Route(std::move(e));
        } else {
          NoRoute(std::move(e), stats_[here]);
        }
      }
    });
  }
}

PeerShard* Node::MoveOn(Peer* peer, PeerShard& part, uint64_t generation) {
  if (part.generation > generation) return nullptr;  // news of a connection since replaced
  // A newer connection. What is left of the older one goes; its links are answered here if
  // its end has not reached this shard yet.
  if (part.generation != 0) part.links.ConnectionLost(NoConnectionReason());
  part.generation = generation;
  part.switched = false;
  part.wanted = false;
  const uint16_t peer_lanes = peer->lanes.load(std::memory_order_acquire);
  part.lanes.assign(peer_lanes, nullptr);
  part.peer_lane_up.assign(peer_lanes, false);
  part.dialed.assign(peer_lanes, false);
  return &part;
}

void Node::SendOverFirst(Peer* peer, uint64_t generation, RemoteEnvelope e) {
  const int32_t owner = peer->owner.load(std::memory_order_acquire);
  if (owner < 0) {
    NoRoute(std::move(e), stats_[remote::ThisShard()]);
    return;
  }
  auto put = [this, peer, generation](RemoteEnvelope e) {
    const ShardId shard = remote::ThisShard();
    PeerShard* part = ShardOf(peer, shard, generation);
    Session* first = part != nullptr ? part->first : nullptr;
    if (first == nullptr || !first->up() || first->generation() != generation) {
      NoRoute(std::move(e), stats_[shard]);
      return;
    }
    first->Enqueue(std::move(e));
  };
  if (static_cast<ShardId>(owner) == remote::ThisShard()) {
    put(std::move(e));
    return;
  }
  // Only until this shard's lanes are up: a submitted item (not a forwarded envelope, which
  // the owner would route as its own lane's traffic).
  runtime_.SubmitTo(static_cast<ShardId>(owner),
                    [put, e = std::move(e)]() mutable { put(std::move(e)); });
}

void Node::NotifyWaiters(Peer* peer, const absl::Status& status) {
  for (const auto& [pid, ref] : peer->waiters) {
    remote::Deliver(RemoteEnvelope::Message(pid, ConnectResult{ref, status}));
  }
  peer->waiters.clear();
}

void Node::NotifyNodes(const std::string& name, bool up, const absl::Status& reason) {
  std::vector<Pid> monitors(node_monitors_.begin(), node_monitors_.end());
  std::sort(monitors.begin(), monitors.end());
  for (Pid pid : monitors) {
    if (up) {
      remote::Deliver(RemoteEnvelope::Message(pid, dist::NodeUp{name}));
    } else {
      remote::Deliver(RemoteEnvelope::Message(pid, dist::NodeDown{name, reason}));
    }
  }
}

void Node::EnsureConnecting(Peer* peer, Pid waiter, uint64_t ref) {
  const ShardId shard = remote::ThisShard();
  std::shared_ptr<Session> session;
  {
    MutexLock lock(&mutex_);
    if (peer->state == Peer::State::kUp) {
      if (waiter) {
        remote::Deliver(RemoteEnvelope::Message(waiter, ConnectResult{ref, absl::OkStatus()}));
      }
      return;
    }
    if (waiter) peer->waiters.emplace_back(waiter, ref);
    if (peer->state == Peer::State::kConnecting) return;
    peer->state = Peer::State::kConnecting;
    peer->disconnecting = false;
    peer->owner.store(static_cast<int32_t>(shard), std::memory_order_release);
    session = std::make_shared<Session>(this, shard, peer);
    peer->session = session.get();
    peer->session_actor = Pid();
  }
  // Spawned without the lock: a same-shard spawn runs the reader at once, and a connect that
  // fails before it suspends (socket() out of fds) ends the session, which releases the peer,
  // inside this call. `session` keeps the object alive, so the comparison below cannot be
  // fooled by a new session at the same address.
  Pid reader = StartOutgoing(this, session);
  MutexLock lock(&mutex_);
  if (peer->session != session.get()) return;  // it already ended
  peer->session_actor = reader;
  if (peer->disconnecting) EndSessionActor(reader, absl::UnavailableError("disconnect"));
}

absl::Status Node::Claim(Session* session) {
  MutexLock lock(&mutex_);
  Peer* peer = session->peer();
  if (peer->session == session) return absl::OkStatus();
  if (peer->state == Peer::State::kUp) {
    if (peer->creation.load(std::memory_order_relaxed) == session->peer_creation()) {
      return absl::AlreadyExistsError(absl::StrCat(peer->name, " is already connected"));
    }
    // A new incarnation of a node whose old connection has not noticed yet: end the old one.
    // That incarnation is down now, whatever becomes of this handshake, and its monitors hear
    // it here: the old session's release comes after it lost the peer, and says nothing.
    absl::Status replaced = absl::UnavailableError("replaced by a new incarnation of the node");
    PeerDownLocked(peer, replaced, Pid());
  } else if (peer->state == Peer::State::kConnecting && options_.name < peer->name) {
    // Both dialled: the connection opened by the node whose name sorts first is kept.
    return absl::AbortedError(
        absl::StrCat("simultaneous connect: kept the connection ", options_.name, " opened"));
  }
  peer->state = Peer::State::kConnecting;
  peer->session = session;
  peer->session_actor = session->reader();
  peer->disconnecting = false;
  return absl::OkStatus();
}

absl::Status Node::Publish(Session* session) {
  MutexLock lock(&mutex_);
  return PublishLocked(session);
}

absl::Status Node::PublishLocked(Session* session) {
  Peer* peer = session->peer();
  if (peer->session != session) {
    return absl::AbortedError(
        absl::StrCat("simultaneous connect: kept another connection with ", peer->name));
  }
  const uint32_t slot = SlotForLocked(peer->name, session->peer_creation(), /*connecting=*/true);
  if (slot == 0) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the node table is full: no slot for a new incarnation of ", peer->name));
  }
  ShardId shard = session->shard_id();
  uint32_t peer_creation = session->peer_creation();
  peer->state = Peer::State::kUp;
  peer->session_actor = session->reader();
  peer->disconnecting = false;
  peer->slot = slot;
  peer->lane_key = session->lane_key();
  peer->first_lane = session->first_lane();
  peer->peer_first_lane = session->peer_first_lane();
  peer->capabilities = session->peer_capabilities();
  peer->joined.assign(size_t{lanes_} * session->peer_lanes(), false);
  peer->lane_actors.clear();
  peer->watch_taken = false;
  const uint64_t generation = next_generation_++;
  session->set_generation(generation);
  // Route reads creation, then the generation and lane count: those are stored first.
  peer->lanes.store(session->peer_lanes(), std::memory_order_release);
  peer->dialed.store(session->dialed(), std::memory_order_release);
  peer->generation.store(generation, std::memory_order_release);
  peer->creation.store(peer_creation, std::memory_order_release);
  peer->owner.store(static_cast<int32_t>(shard), std::memory_order_release);
  ShardStats::Add(stats_[shard].connections_up, 1);
  NotifyWaiters(peer, absl::OkStatus());
  NotifyNodes(peer->name, /*up=*/true, absl::OkStatus());
  return absl::OkStatus();
}

void Node::Release(Session* session, const absl::Status& reason) {
  Peer* peer = session->peer();
  if (peer == nullptr) return;
  wire::ByteBuffer orphans = session->TakeHeldFrames();
  if (ReleaseLocked(session, reason, std::move(orphans))) SettleHeld(peer);
}

bool Node::ReleaseLocked(Session* session, const absl::Status& reason, wire::ByteBuffer orphans) {
  Peer* peer = session->peer();
  MutexLock lock(&mutex_);
  if (session->is_lane()) {
    const bool live = peer->state == Peer::State::kUp &&
                      peer->generation.load(std::memory_order_relaxed) == session->generation();
    if (!live) return false;
  } else if (peer->session != session) {
    // Another connection is (or will be) the live one: hand it what waited here.
    if (!orphans.empty()) SendNamedFrame(peer, std::move(orphans));
    return false;
  }
  const absl::Status why = peer->disconnecting ? absl::UnavailableError("disconnect") : reason;
  if (peer->state != Peer::State::kUp) {  // a first connection that never came up
    ResetLocked(peer);
    NotifyWaiters(peer, why);
    return true;  // what shards held for it is answered for
  }
  PeerDownLocked(peer, why, session->reader());
  return false;
}

void Node::ResetLocked(Peer* peer) {
  peer->state = Peer::State::kIdle;
  peer->session = nullptr;
  peer->session_actor = Pid();
  peer->disconnecting = false;
  peer->lane_actors.clear();
  peer->joined.clear();
  peer->lane_key.clear();
  peer->owner.store(-1, std::memory_order_release);
  peer->creation.store(0, std::memory_order_release);
}

void Node::PeerDownLocked(Peer* peer, const absl::Status& why, Pid ending) {
  // Every connection to the peer ends with it (the one ending already is).
  for (Pid actor : peer->lane_actors) {
    if (actor != ending) EndSessionActor(actor, why);
  }
  if (peer->session_actor && peer->session_actor != ending) {
    EndSessionActor(peer->session_actor, why);
  }
  ResetLocked(peer);
  // The peer hears that this end is on purpose, and waits for the connections to end.
  watch_->Remove(peer->generation.load(std::memory_order_relaxed),
                 std::string_view(&kWatchFarewell, 1));
  for (auto [waiter, ref] : std::exchange(peer->down_waiters, {})) {
    remote::Deliver(RemoteEnvelope::Message(waiter, ConnectResult{ref, absl::OkStatus()}));
  }
  // Every shard answers for the links and monitors its actors had across the connection. (On
  // this shard that runs now: it only delivers signals to local actors.)
  const uint64_t gone = peer->generation.load(std::memory_order_relaxed);
  for (ShardId shard = 0; shard < runtime_.shard_count(); ++shard) {
    runtime_.SubmitTo(shard, [peer, gone] {
      PeerShard& part = peer->shards[remote::ThisShard()];
      if (part.generation != gone) return;  // never used here, or already moved on
      part.links.ConnectionLost(NoConnectionReason());
      part.switched = false;
      std::fill(part.lanes.begin(), part.lanes.end(), nullptr);
    });
  }
  LogNodeDown(peer->name, why);
  NotifyNodes(peer->name, /*up=*/false, why);
}

// --- Lanes ---

void Node::FirstConnectionUp(Session* session) {
  Peer* peer = session->peer();
  const ShardId shard = session->shard_id();
  PeerShard* here = ShardOf(peer, shard, session->generation());
  if (here == nullptr) return;
  here->first = session;
  // The first connection is also a lane when both its ends are on one.
  const uint16_t pair = session->peer_first_lane();
  if (session->first_lane() != kNoLane && pair != kNoLane && pair < here->lanes.size()) {
    here->lanes[pair] = session;
    here->peer_lane_up[pair] = true;
    here->dialed[pair] = true;
  }
  MaybeSwitch(peer, *here, shard);
}

std::optional<LaneTicket> Node::TicketFor(Peer* peer, uint64_t generation) {
  MutexLock lock(&mutex_);
  if (peer->state != Peer::State::kUp ||
      peer->generation.load(std::memory_order_relaxed) != generation) {
    return std::nullopt;
  }
  return LaneTicket{peer,
                    generation,
                    peer->creation.load(std::memory_order_relaxed),
                    peer->slot,
                    peer->lanes.load(std::memory_order_relaxed),
                    peer->first_lane,
                    peer->peer_first_lane,
                    peer->lane_key,
                    peer->capabilities};
}

void Node::WantLanes(Peer* peer, PeerShard& here, ShardId lane) {
  here.wanted = true;
  if (peer->dialed.load(std::memory_order_acquire)) {
    for (uint16_t peer_lane = 0; peer_lane < here.lanes.size(); ++peer_lane) {
      DialLane(peer, here, lane, peer_lane);
    }
    return;
  }
  const int32_t owner = peer->owner.load(std::memory_order_acquire);
  if (owner < 0) return;
  runtime_.SubmitTo(static_cast<ShardId>(owner),
                    [this, peer, generation = here.generation, lane = static_cast<uint16_t>(lane)] {
                      PeerShard* part = ShardOf(peer, remote::ThisShard(), generation);
                      if (part != nullptr && part->first != nullptr) {
                        part->first->AddLanesWanted(lane);
                      }
                    });
}

void Node::PeerWantsLanes(Session* first, uint16_t peer_lane) {
  Peer* peer = first->peer();
  const uint64_t generation = first->generation();
  for (ShardId lane = 0; lane < lanes_; ++lane) {
    runtime_.SubmitTo(lane, [this, peer, generation, peer_lane] {
      const ShardId shard = remote::ThisShard();
      PeerShard* part = ShardOf(peer, shard, generation);
      if (part != nullptr) DialLane(peer, *part, shard, peer_lane);
    });
  }
}

void Node::DialLane(Peer* peer, PeerShard& here, ShardId lane, uint16_t peer_lane) {
  if (peer_lane >= here.dialed.size() || here.dialed[peer_lane]) return;
  std::optional<LaneTicket> ticket = TicketFor(peer, here.generation);
  if (!ticket) return;  // the connection is gone
  if (lane == ticket->first_lane && peer_lane == ticket->peer_first_lane) return;
  here.dialed[peer_lane] = true;
  auto session = std::make_shared<Session>(this, lane, nullptr);
  session->MakeLane(*ticket, static_cast<uint16_t>(lane), peer_lane);
  StartLane(this, std::move(session), peer->address);
}

absl::StatusOr<LaneTicket> Node::LaneTicketFor(std::string_view name, uint32_t creation,
                                               uint32_t our_creation, uint16_t lane,
                                               uint16_t peer_lane) {
  if (our_creation != creation_) {
    return absl::FailedPreconditionError("a lane for an earlier incarnation of this node");
  }
  MutexLock lock(&mutex_);
  auto it = peers_.find(AbslView(name));
  Peer* peer = it != peers_.end() ? it->second.get() : nullptr;
  if (peer == nullptr || peer->state != Peer::State::kUp ||
      peer->creation.load(std::memory_order_relaxed) != creation) {
    return absl::FailedPreconditionError(
        absl::StrCat("a lane for a connection that is not up: ", AbslView(name)));
  }
  const uint16_t peer_lanes = peer->lanes.load(std::memory_order_relaxed);
  const bool watch = lane == kWatchLane && peer_lane == kWatchLane;
  if (!watch && (lane >= lanes_ || peer_lane >= peer_lanes ||
                 (lane == peer->first_lane && peer_lane == peer->peer_first_lane))) {
    return absl::InvalidArgumentError(absl::StrCat("no lane ", peer_lane, "-", lane));
  }
  return LaneTicket{peer,
                    peer->generation.load(std::memory_order_relaxed),
                    peer->creation.load(std::memory_order_relaxed),
                    peer->slot,
                    peer_lanes,
                    peer->first_lane,
                    peer->peer_first_lane,
                    peer->lane_key,
                    peer->capabilities};
}

absl::Status Node::TakeLane(const LaneTicket& ticket, uint16_t lane, uint16_t peer_lane) {
  MutexLock lock(&mutex_);
  Peer* peer = ticket.peer;
  if (peer->state != Peer::State::kUp ||
      peer->generation.load(std::memory_order_relaxed) != ticket.generation) {
    return absl::AbortedError("the connection the lane belongs to is gone");
  }
  if (lane == kWatchLane) {
    if (peer->watch_taken) return absl::AlreadyExistsError("the hangup watch is taken");
    peer->watch_taken = true;
    return absl::OkStatus();
  }
  const size_t index = size_t{lane} * ticket.peer_lanes + peer_lane;
  if (index >= peer->joined.size() || peer->joined[index]) {
    return absl::AlreadyExistsError(absl::StrCat("lane ", peer_lane, "-", lane, " is taken"));
  }
  peer->joined[index] = true;
  return absl::OkStatus();
}

void Node::DialWatch(Peer* peer, uint64_t generation) {
  std::optional<LaneTicket> ticket = TicketFor(peer, generation);
  if (!ticket) return;  // the connection is gone
  auto watch = std::make_shared<Session>(this, remote::ThisShard(), nullptr);
  watch->MakeLane(*ticket, kWatchLane, kWatchLane);
  StartWatch(this, std::move(watch), peer->address);
}

absl::Status Node::Watch(Peer* peer, uint64_t generation, net::TcpStream socket) {
  MutexLock lock(&mutex_);
  absl::Status added = absl::AbortedError("the connection the hangup watch belongs to is gone");
  if (peer->state == Peer::State::kUp &&
      peer->generation.load(std::memory_order_relaxed) == generation) {
    added = watch_->Add(std::move(socket), generation);
  }
  // A socket not watched tells the peer that this end is on purpose before it closes.
  if (!added.ok()) (void)socket.WriteSomeNow(std::span<const char>(&kWatchFarewell, 1));
  return added;
}

void Node::PeerProcessEnded(uint64_t generation) {
  MutexLock lock(&mutex_);
  for (auto& [name, entry] : peers_) {
    Peer* peer = entry.get();
    if (peer->state != Peer::State::kUp ||
        peer->generation.load(std::memory_order_relaxed) != generation) {
      continue;
    }
    // Shut down, not closed: each reader still takes what the peer sent before it died, then
    // reads the end, and the first to end takes the peer down as any lost connection does.
    for (ShardId shard = 0; shard < runtime_.shard_count(); ++shard) {
      runtime_.SubmitTo(shard, [peer, generation] {
        PeerShard& part = peer->shards[remote::ThisShard()];
        if (part.generation != generation) return;
        auto shut_down = [generation](Session* session) {
          if (session != nullptr && !session->closed() && session->generation() == generation) {
            session->ShutDownForDeadPeer();
          }
        };
        shut_down(part.first);
        for (Session* lane : part.lanes) shut_down(lane);
      });
    }
    return;
  }
}

absl::Status Node::AddLaneActor(Session* session, Pid reader) {
  MutexLock lock(&mutex_);
  Peer* peer = session->peer();
  if (peer->state != Peer::State::kUp ||
      peer->generation.load(std::memory_order_relaxed) != session->generation()) {
    return absl::AbortedError("the connection the lane belongs to is gone");
  }
  peer->lane_actors.push_back(reader);
  return absl::OkStatus();
}

void Node::LaneUp(Session* session) {
  Peer* peer = session->peer();
  const ShardId shard = session->shard_id();
  PeerShard* here = ShardOf(peer, shard, session->generation());
  if (here == nullptr || session->peer_lane() >= here->lanes.size()) return;
  here->lanes[session->peer_lane()] = session;
  if (here->peer_lane_up[session->peer_lane()]) session->AllowReading();
  ShardStats::Add(stats_[shard].lanes_up, 1);
  MaybeSwitch(peer, *here, shard);
}

void Node::MaybeSwitch(Peer* peer, PeerShard& here, ShardId shard) {
  if (here.switched || shard >= lanes_) return;
  for (Session* lane : here.lanes) {
    if (lane == nullptr) return;
  }
  here.switched = true;
  // The peer reads this lane's lanes only after LANES_UP, which follows on the first connection
  // everything this lane sent there.
  const int32_t owner = peer->owner.load(std::memory_order_acquire);
  if (owner < 0) return;
  const uint64_t generation = here.generation;
  const auto lane = static_cast<uint16_t>(shard);
  runtime_.SubmitTo(static_cast<ShardId>(owner), [this, peer, generation, lane] {
    PeerShard* part = ShardOf(peer, remote::ThisShard(), generation);
    if (part != nullptr && part->first != nullptr) part->first->AddLanesUp(lane);
  });
}

void Node::PeerLaneUp(Session* first, uint16_t peer_lane) {
  Peer* peer = first->peer();
  const uint64_t generation = first->generation();
  for (ShardId lane = 0; lane < lanes_; ++lane) {
    runtime_.SubmitTo(lane, [this, peer, generation, peer_lane] {
      PeerShard* part = ShardOf(peer, remote::ThisShard(), generation);
      if (part == nullptr || peer_lane >= part->lanes.size()) return;
      part->peer_lane_up[peer_lane] = true;
      if (part->lanes[peer_lane] != nullptr) part->lanes[peer_lane]->AllowReading();
    });
  }
}

void Node::HandOnElsewhere(Session* from, ShardId here, RemoteEnvelope e) {
  const ShardId target = e.to().shard();
  if (target >= runtime_.shard_count()) [[unlikely]] {
    remote::Deliver(std::move(e));  // the runtime answers for a PID that names no shard
    return;
  }
  // What arrives over the first connection for another lane's shard goes through that lane's
  // shard: behind it, the lane's own traffic once released (ARCHITECTURE.md, "Lanes").
  const ShardId lane = LaneOf(target, lanes_);
  if (!e.is_signal()) [[likely]] {
    if (lane == here || lane == target) {
      remote::Deliver(std::move(e));
    } else {
      runtime_.SubmitTo(lane, [e = std::move(e)]() mutable { remote::Deliver(std::move(e)); });
    }
    return;
  }
  // A signal is accounted for on its target's shard, which answers for it if the peer goes.
  if (IsNameService(e.to()) && e.signal_kind() == SignalKind::kDemonitor) [[unlikely]] {
    // A monitor set by name is kept on the shard of the actor the name named: ask every shard.
    for (ShardId shard = 0; shard < runtime_.shard_count(); ++shard) {
      AccountOn(shard, from, here,
                RemoteEnvelope::Signal(e.to(), e.signal_kind(), e.from(), e.ref(), e.reason()));
    }
    return;
  }
  AccountOn(target, from, here, std::move(e));
}

void Node::AccountOn(ShardId target, Session* from, ShardId here, RemoteEnvelope e) {
  auto account = [this, peer = from->peer(), generation = from->generation()](RemoteEnvelope e) {
    PeerShard* part = ShardOf(peer, remote::ThisShard(), generation);
    if (part == nullptr) return;  // from a connection since gone
    Pid to = e.to();
    std::optional<uint64_t> ref = part->links.Received(e.signal_kind(), e.from(), to, e.ref());
    if (!ref) return;
    if (*ref != e.ref() || to != e.to()) {
      e = RemoteEnvelope::Signal(to, e.signal_kind(), e.from(), *ref, e.reason());
    }
    remote::Deliver(std::move(e));
  };
  const ShardId lane = LaneOf(target, lanes_);
  if (target == here) {
    account(std::move(e));
  } else if (lane == here || lane == target) {
    runtime_.SubmitTo(target, [account, e = std::move(e)]() mutable { account(std::move(e)); });
  } else {
    runtime_.SubmitTo(lane, [this, target, account, e = std::move(e)]() mutable {
      runtime_.SubmitTo(target, [account, e = std::move(e)]() mutable { account(std::move(e)); });
    });
  }
}

absl::StatusOr<std::pair<Pid, PeerShard*>> Node::NameServiceOf(Peer* peer) {
  uint32_t slot = 0;
  {
    MutexLock lock(&mutex_);
    if (peer->state != Peer::State::kUp) return NoConnectionReason();
    slot = peer->slot;
  }
  const uint64_t generation = peer->generation.load(std::memory_order_acquire);
  PeerShard* mine = generation != 0 ? ShardOf(peer, remote::ThisShard(), generation) : nullptr;
  if (mine == nullptr) return NoConnectionReason();
  return std::make_pair(Pid::FromParts(slot, 0, kNameServiceSerial), mine);
}

absl::Status Node::StartNamedCall(Pid caller, std::string_view name, Peer* peer,
                                  const RemoteType& type, const void* value, uint64_t ref) {
  SNOW_ASSIGN_OR_RETURN(auto service, NameServiceOf(peer));
  NamedCall call{std::string(name), type.wire_name, caller, ref, {}};
  wire::ByteBuffer request;
  NamedSendPids pids(this);
  SNOW_RETURN_IF_ERROR(EncodeMessage(type, value, pids, request));
  call.request.bytes.assign(request.chars());
  // Accounted for as a monitor of the name service (a lost connection answers for it), and
  // sent to it on the path every signal of this shard takes, so that the call's demonitor
  // follows it.
  service.second->links.Sending(SignalKind::kMonitor, caller, service.first, ref);
  remote::NoteMonitor(caller, service.first, ref);
  Route(RemoteEnvelope::Message(service.first, std::move(call)));
  return absl::OkStatus();
}

absl::Status Node::StartSpawn(Pid caller, std::string_view node, SpawnRequest request) {
  SNOW_ASSIGN_OR_RETURN(Peer * peer, PeerFor(node));
  SNOW_ASSIGN_OR_RETURN(auto service, NameServiceOf(peer));
  // Neither monitor exists on the peer's side: the call's is answered by the reply, the child's
  // is set up with the child. A lost connection still answers for both.
  for (uint64_t ref : {request.ref, request.monitor_ref}) {
    if (ref == 0) continue;
    service.second->links.NoteLocalMonitor(caller, service.first, ref);
    remote::NoteMonitor(caller, service.first, ref);
  }
  Route(RemoteEnvelope::Message(service.first, std::move(request)));
  return absl::OkStatus();
}

void Node::SpawnedChildKnown(Pid caller, Pid child, uint64_t ref) {
  const Slot* s = slot(child.node());
  if (s == nullptr || s->peer == nullptr) return;
  const uint64_t generation = s->peer->generation.load(std::memory_order_acquire);
  if (PeerShard* mine = ShardOf(s->peer, remote::ThisShard(), generation)) {
    mine->links.Retarget(ref, child);
  }
  remote::RetargetMonitor(caller, child, ref);
}

void Node::SpawnForPeer(Session* from, ShardId here, SpawnRequest request,
                        absl::StatusOr<SpawnStart> start) {
  auto reply = [](Pid to, uint64_t ref, absl::StatusOr<Pid> result) {
    RemoteEnvelope e = RemoteEnvelope::Emplace<CallReply<absl::StatusOr<Pid>>>(to);
    e.mutable_value<CallReply<absl::StatusOr<Pid>>>() = {Ref::FromBits(ref), std::move(result)};
    remote::Deliver(std::move(e));
  };
  if (!start.ok()) {
    reply(request.from, request.ref, start.status());
    return;
  }
  const ShardId target =
      next_spawn_shard_.fetch_add(1, std::memory_order_relaxed) % runtime_.shard_count();
  auto run = [this, peer = from->peer(), generation = from->generation(),
              request = std::move(request), start = std::move(*start), reply]() {
    PeerShard* part = ShardOf(peer, remote::ThisShard(), generation);
    if (part == nullptr) return;  // that connection is gone: the caller heard noconnection
    const uint64_t local_ref = request.monitor_ref != 0 ? remote::NewRef() : 0;
    const Pid child = start(request.from, request.link, local_ref);
    if (request.link) {
      // The parent's side of the link, told ahead of the reply and of anything the child
      // sends, all on this shard's path to the parent: a child that ends at once is noticed.
      part->links.Linked(child, request.from);
      remote::Deliver(
          RemoteEnvelope::Signal(request.from, SignalKind::kLink, child, 0, absl::OkStatus()));
    }
    if (local_ref != 0) part->links.MonitoredFromPeer(local_ref, request.monitor_ref, child);
    reply(request.from, request.ref, child);
  };
  if (target == here) {
    run();
  } else {
    runtime_.SubmitTo(target, std::move(run));
  }
}

void Node::Disconnect(std::string_view name) {
  MutexLock lock(&mutex_);
  auto it = peers_.find(AbslView(name));
  if (it == peers_.end() || it->second->session == nullptr) return;
  if (it->second->state == Peer::State::kUp) {
    // Down now, not when the session actor gets round to ending: a Connect right after this
    // dials a new connection instead of finding the old one still up, and what is sent
    // meanwhile is held for that connection rather than lost in the closing one.
    PeerDownLocked(it->second.get(), absl::UnavailableError("disconnect"), Pid());
    return;
  }
  it->second->disconnecting = true;
  // A dial whose reader is still being spawned has no PID yet: EnsureConnecting ends it when it
  // records one.
  if (!it->second->session_actor) return;
  EndSessionActor(it->second->session_actor, absl::UnavailableError("disconnect"));
}

bool Node::RoomFor(Pid waiter, Pid to, uint64_t token) {
  const Slot* slot = this->slot(to.node());
  if (slot == nullptr || slot->peer == nullptr) return true;
  Peer* peer = slot->peer;
  const ShardId shard = remote::ThisShard();
  const int32_t owner = peer->owner.load(std::memory_order_acquire);
  if (owner < 0 || peer->creation.load(std::memory_order_acquire) == 0) return true;
  const uint64_t generation = peer->generation.load(std::memory_order_acquire);
  const ShardId lane = LaneOf(shard, lanes_);
  if (lane == shard) {
    PeerShard* here = ShardOf(peer, shard, generation);
    if (here == nullptr) return true;
    if (here->switched) {  // the common case: this shard's own lane to `to`'s shard
      Session* session = here->lanes[LaneOf(to.shard(), here->lanes.size())];
      return session == nullptr || !session->up() || session->AskForRoom(waiter, token);
    }
  }
  // This shard's traffic goes through another shard's session (its lane's, or the first
  // connection's until the lanes are up): ask there, and hear back either way.
  const ShardId target = lane != shard ? lane : static_cast<ShardId>(owner);
  runtime_.SubmitTo(target, [this, peer, generation, lane, waiter, to, token] {
    const ShardId here = remote::ThisShard();
    PeerShard* part = ShardOf(peer, here, generation);
    Session* session = nullptr;
    if (part != nullptr) {
      session = here == lane && part->switched ? part->lanes[LaneOf(to.shard(), part->lanes.size())]
                                               : part->first;
    }
    if (session != nullptr && session->up() && !session->AskForRoom(waiter, token)) return;
    remote::Deliver(RemoteEnvelope::Message(waiter, dist::RoomAvailable{token}));
  });
  return false;
}

void Node::MonitorNodes(Pid pid, bool on) {
  MutexLock lock(&mutex_);
  if (on) {
    node_monitors_.insert(pid);
  } else {
    node_monitors_.erase(pid);
  }
}

void Node::LearnPeers(const std::vector<std::string>& names, std::string_view from) {
  const double rate = options_.mesh_dials_per_second;
  uint32_t new_names = 0;
  uint64_t skipped = 0;
  for (const std::string& name : names) {
    if (name == options_.name) continue;
    {
      MutexLock lock(&mutex_);
      auto it = peers_.find(name);
      const bool known = it != peers_.end();
      if (known && it->second->state != Peer::State::kIdle) continue;  // up, or on its way
      // A token per dial, refilled at `rate` a second up to a burst of `rate`.
      const absl::Time now = absl::Now();
      mesh_dial_tokens_ =
          std::min(rate, mesh_dial_tokens_ + absl::ToDoubleSeconds(now - mesh_tokens_at_) * rate);
      mesh_tokens_at_ = now;
      if ((!known && new_names >= options_.mesh_new_names) || mesh_dial_tokens_ < 1) {
        ++skipped;
        continue;
      }
      mesh_dial_tokens_ -= 1;
      if (!known) ++new_names;
    }
    absl::StatusOr<Peer*> peer = PeerFor(name);
    if (!peer.ok()) continue;
    bool idle;
    {
      MutexLock lock(&mutex_);
      idle = (*peer)->state == Peer::State::kIdle;
    }
    if (idle) EnsureConnecting(*peer);
  }
  if (skipped > 0) {
    mesh_names_skipped_.fetch_add(skipped, std::memory_order_relaxed);
    LogAbout(from, LogKind::kConnection, [&] {
      return absl::StrCat("the mesh did not dial ", skipped, " of the ", names.size(),
                          " names in a peer list from ", AbslView(from), " (at most ",
                          options_.mesh_new_names, " new names a list, ",
                          options_.mesh_dials_per_second, " dials a second)");
    });
  }
}

bool Node::TryStartHandshake(const std::string& source) {
  MutexLock lock(&pending_mutex_);
  if (pending_handshakes_ >= options_.max_pending_handshakes) return false;
  uint32_t& from_source = pending_by_source_[source];
  if (from_source >= options_.max_pending_handshakes_per_source) return false;
  ++from_source;
  ++pending_handshakes_;
  return true;
}

void Node::EndHandshake(const std::string& source) {
  MutexLock lock(&pending_mutex_);
  --pending_handshakes_;
  auto it = pending_by_source_.find(source);
  if (it != pending_by_source_.end() && --it->second == 0) pending_by_source_.erase(it);
}

dist::DistStats Node::TotalStats() const {
  dist::DistStats t;
  int64_t queued = 0;
  for (const ShardStats& s : stats_) {
    auto get = [](const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); };
    t.messages_sent += get(s.messages_sent);
    t.messages_received += get(s.messages_received);
    t.bytes_sent += get(s.bytes_sent);
    t.bytes_received += get(s.bytes_received);
    t.dropped_not_registered += get(s.dropped_not_registered);
    t.dropped_encode_failed += get(s.dropped_encode_failed);
    t.dropped_decode_failed += get(s.dropped_decode_failed);
    t.dropped_queue_full += get(s.dropped_queue_full);
    t.dropped_no_connection += get(s.dropped_no_connection);
    t.handshakes_failed += get(s.handshakes_failed);
    t.connections_up += get(s.connections_up);
    t.lanes_up += get(s.lanes_up);
    t.bulk_paused += get(s.bulk_paused);
    t.queued_bytes_peak = std::max(t.queued_bytes_peak, get(s.queued_bytes_peak));
    queued += s.queued_bytes.load(std::memory_order_relaxed);
  }
  t.queued_bytes = static_cast<uint64_t>(std::max<int64_t>(queued, 0));
  t.log_lines_held_back = log_lines_held_back();
  t.watched_peers = watch_->size();
  t.mesh_names_skipped = mesh_names_skipped_.load(std::memory_order_relaxed);
  t.pids_of_unknown_nodes = pids_of_unknown_nodes_.load(std::memory_order_relaxed);
  return t;
}

Node* NodeOf(Runtime& runtime) { return static_cast<Node*>(runtime.transport()); }

net::TcpOptions ConnectionSocketOptions(const dist::NodeOptions& node) {
  net::TcpOptions options;
  options.send_buffer_bytes = node.socket_buffer_bytes;
  options.receive_buffer_bytes = node.socket_buffer_bytes;
  return options;
}

void EndSessionActor(Pid actor, absl::Status reason) {
  remote::Deliver(RemoteEnvelope::Signal(actor, SignalKind::kExit, Pid(), 0, std::move(reason)));
}

// --- Actors and control items ---

namespace {

// The node outlives its acceptor: the runtime destroys its transport after every shard stopped.
Task<absl::Status> Acceptor(Self self, std::reference_wrapper<Node> node_ref,
                            std::shared_ptr<net::TcpListener> listener) {
  Node* node = &node_ref.get();
  OwnActor own(node, self.pid());
  for (;;) {
    absl::StatusOr<net::TcpStream> tcp = co_await listener->Accept();
    if (!tcp.ok()) {
      node->LogAbout("the listener", LogKind::kConnection,
                     [&] { return absl::StrCat("accept failed: ", tcp.status().ToString()); });
      co_await Sleep(absl::Milliseconds(10));
      continue;
    }
    absl::StatusOr<net::SocketAddress> from = tcp->peer_address();
    std::string source = from.ok() ? from->WithPort(0).ToString() : "?";
    if (!node->TryStartHandshake(source)) {
      node->LogAbout(source, LogKind::kConnection, [&] {
        return absl::StrCat("too many handshakes in progress (from ", source,
                            ", or in all): reset a new connection");
      });
      tcp->Reset();
      continue;
    }
    auto session = std::make_shared<Session>(node, self.shard(), nullptr);
    session->set_pending_source(std::move(source));
    session->stream() = net::Stream(std::move(*tcp));
    self.Spawn(SessionReader, session, std::optional<net::SocketAddress>());
  }
}

// The node outlives its watcher, as its acceptor.
Task<absl::Status> HangupWatcher(Self self, std::reference_wrapper<Node> node_ref) {
  Node* node = &node_ref.get();
  OwnActor own(node, self.pid());
  for (;;) {
    absl::StatusOr<std::vector<net::Hangup>> news = co_await node->hangup_watch().Wait();
    if (!news.ok()) {
      node->LogAbout("the hangup watch", LogKind::kConnection,
                     [&] { return absl::StrCat("waiting failed: ", news.status().ToString()); });
      co_await Sleep(absl::Milliseconds(10));
      continue;
    }
    for (const net::Hangup& hangup : *news) {
      if (!hangup.received.empty()) {
        node->WatchEnded(hangup.token);
      } else if (hangup.ended) {
        node->PeerProcessEnded(hangup.token);
      }
    }
  }
}

}  // namespace

void Node::SendNamedFrame(Peer* peer, wire::ByteBuffer frame) {
  const ShardId shard = remote::ThisShard();
  int32_t owner = peer->owner.load(std::memory_order_acquire);
  if (owner >= 0 && static_cast<ShardId>(owner) != shard) {
    runtime_.SubmitTo(static_cast<ShardId>(owner),
                      [this, peer, frame = std::move(frame)]() mutable {
                        SendNamedFrame(peer, std::move(frame));
                      });
    return;
  }
  Session* session = owner >= 0 ? peer->shards[shard].first : nullptr;
  if (session != nullptr) {
    session->AppendFrame(frame.view());
  } else {
    ShardStats::Add(stats_[shard].dropped_no_connection, 1);
  }
}

// Keeps `peer` connected (NodeOptions::keep_connected): dials it, waits for it to be lost, and
// dials again, backing off while dials fail.
Task<absl::Status> KeepConnected(Self self, std::string peer) {
  Node* node = NodeOf(self.runtime());
  const absl::Duration initial = node->options().reconnect_initial;
  const absl::Duration most = node->options().reconnect_max;
  node->MonitorNodes(self.pid(), true);
  std::minstd_rand jitter(static_cast<uint32_t>(self.pid().bits() ^ node->creation()));
  absl::Duration delay = initial;
  for (;;) {
    absl::Status connected = co_await dist::Connect(self, peer);
    if (connected.ok()) {
      delay = initial;
      // Node news of other nodes is taken too, so that none piles up here.
      for (;;) {
        auto news = co_await self.Receive<dist::NodeUp, dist::NodeDown>();
        auto* down = std::get_if<dist::NodeDown>(&news);
        if (down != nullptr && down->node == peer) break;
      }
    } else {
      delay = std::min(delay * 2, most);
    }
    // +-25%, so that the nodes of a cluster that lost one another do not redial in step.
    const double factor = 0.75 + 0.5 * static_cast<double>(jitter() % 1024) / 1024.0;
    co_await Sleep(delay * factor);
    while ((co_await self.ReceiveFor<dist::NodeUp, dist::NodeDown>(absl::ZeroDuration())).ok()) {
    }
  }
}

void StartAcceptor(Self self, Node* node, net::TcpListener listener) {
  self.Spawn(Acceptor, std::ref(*node), std::make_shared<net::TcpListener>(std::move(listener)));
}

void StartHangupWatcher(Self self, Node* node) { self.Spawn(HangupWatcher, std::ref(*node)); }

Pid StartOutgoing(Node* node, std::shared_ptr<Session> session) {
  Peer* peer = session->peer();
  const ShardId shard = remote::ThisShard();
  // Named sends wait in the connecting session until it is up.
  peer->shards[shard].first = session.get();
  return node->runtime().Spawn(SpawnOptions{.placement = Placement::kShard, .shard = shard},
                               SessionReader, std::move(session),
                               std::optional<net::SocketAddress>(peer->address));
}

void StartLane(Node* node, std::shared_ptr<Session> lane, std::optional<net::SocketAddress> dial) {
  const ShardId shard = lane->shard_id();
  node->runtime().Spawn(SpawnOptions{.placement = Placement::kShard, .shard = shard}, LaneReader,
                        std::move(lane), std::move(dial));
}

void StartWatch(Node* node, std::shared_ptr<Session> watch, net::SocketAddress address) {
  node->runtime().Spawn(SpawnOptions{.placement = Placement::kShard, .shard = remote::ThisShard()},
                        WatchDialer, std::move(watch), address);
}

}  // namespace snow::dist_internal

namespace snow::dist {

using dist_internal::Node;

namespace {

absl::StatusOr<std::string> ReadCookie(const NodeOptions& options) {
  if (!options.cookie.empty()) return options.cookie;
  if (const char* env = std::getenv("SNOW_COOKIE"); env != nullptr && *env != '\0') {
    return std::string(env);
  }
  if (options.cookie_file.empty()) {
    return absl::InvalidArgumentError(
        "no cookie. Give one with --snow-cookie=C or --snow-cookie-file=F on the command line "
        "(snow-node: --cookie=C or --cookie-file=F), the SNOW_COOKIE environment variable, or "
        "NodeOptions::cookie or NodeOptions::cookie_file in code");
  }
  struct stat st;
  if (stat(options.cookie_file.c_str(), &st) != 0) {
    return ErrnoToStatus(errno, absl::StrCat("cookie file ", options.cookie_file));
  }
  if ((st.st_mode & 077) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cookie file ", options.cookie_file,
                     " is readable or writable by group or others; chmod 600 it"));
  }
  std::ifstream in(options.cookie_file);
  std::stringstream text;
  text << in.rdbuf();
  std::string cookie(absl::StripAsciiWhitespace(text.str()));
  if (cookie.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cookie file ", options.cookie_file, " is empty"));
  }
  return cookie;
}

Node* NodeOrNull(Self self) { return dist_internal::NodeOf(self.runtime()); }

}  // namespace

absl::StatusOr<std::optional<NodeOptions>> NodeOptions::FromArgs(int argc, char** argv) {
  NodeOptions options;
  bool named = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&](std::string_view prefix) { return arg.substr(prefix.size()); };
    if (arg.starts_with("--snow-node=")) {
      options.name = std::string(value("--snow-node="));
      named = true;
    } else if (arg.starts_with("--snow-cookie=")) {
      options.cookie = std::string(value("--snow-cookie="));
    } else if (arg.starts_with("--snow-cookie-file=")) {
      options.cookie_file = std::string(value("--snow-cookie-file="));
    } else if (arg.starts_with("--snow-tick-ms=")) {
      int64_t ms = 0;
      if (!absl::SimpleAtoi(AbslView(value("--snow-tick-ms=")), &ms) || ms < 100) {
        return absl::InvalidArgumentError(absl::StrCat("bad ", AbslView(arg), " (at least 100)"));
      }
      options.tick = absl::Milliseconds(ms);
    } else if (arg.starts_with("--snow-socket-buffer=")) {
      if (!absl::SimpleAtoi(AbslView(value("--snow-socket-buffer=")),
                            &options.socket_buffer_bytes) ||
          options.socket_buffer_bytes < 0) {
        return absl::InvalidArgumentError(absl::StrCat("bad ", AbslView(arg)));
      }
    } else if (arg.starts_with("--snow-keep-connected=")) {
      for (absl::string_view node :
           absl::StrSplit(AbslView(value("--snow-keep-connected=")), ',', absl::SkipEmpty())) {
        options.keep_connected.emplace_back(node.data(), node.size());
      }
    } else if (arg == "--snow-no-tls") {
      options.tls = false;
    } else if (arg == "--snow-no-mesh") {
      options.mesh = false;
    }
  }
  if (!named) return std::optional<NodeOptions>();
  return std::optional<NodeOptions>(std::move(options));
}

absl::Status Start(Self self, NodeOptions options) {
  if (NodeOrNull(self) != nullptr)
    return absl::AlreadyExistsError("this runtime is already a node");
  SNOW_RETURN_IF_ERROR(dist_internal::CheckNodeName(options.name));
  if (options.tick < absl::Milliseconds(100)) {
    return absl::InvalidArgumentError("NodeOptions::tick must be at least 100 ms");
  }
  if (options.socket_buffer_bytes < 0) {
    return absl::InvalidArgumentError("NodeOptions::socket_buffer_bytes must not be negative");
  }
  SNOW_ASSIGN_OR_RETURN(std::string cookie, ReadCookie(options));
  SNOW_ASSIGN_OR_RETURN(net::SocketAddress address, dist_internal::AddressOf(options.name));

  net::ListenOptions listen;
  listen.backlog = 1024;
  listen.stream = dist_internal::ConnectionSocketOptions(options);
  // A killed node refuses dialers at once, so a failover to another node does not wait.
  listen.closes_with_process = true;
  SNOW_ASSIGN_OR_RETURN(net::TcpListener listener, net::TcpListener::Bind(address, listen));
  if (address.port() == 0) {
    std::string_view name = options.name;
    options.name = absl::StrCat(AbslView(name.substr(0, name.rfind(':') + 1)),
                                listener.local_address().port());
  }

  if (options.name_in_certificate) {
    if (!options.tls || options.verify != net::TlsVerify::kCa || !options.certificate) {
      return absl::InvalidArgumentError(
          "name_in_certificate needs TLS, verify = kCa and the node's own certificate");
    }
    SNOW_ASSIGN_OR_RETURN(std::vector<std::string> names, options.certificate->AlternativeNames());
    if (std::find(names.begin(), names.end(), CertificateName(options.name)) == names.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "name_in_certificate: this node's certificate does not name ",
          CertificateName(options.name), " (it names ", absl::StrJoin(names, ", "), ")"));
    }
  }
  net::TlsOptions server{.role = net::TlsRole::kServer};
  net::TlsOptions client{.role = net::TlsRole::kClient};
  if (options.tls) {
    if (!options.certificate.has_value()) {
      net::TlsCertificate::GenerateOptions self_signed;
      self_signed.common_name = options.name.substr(0, 60);
      SNOW_ASSIGN_OR_RETURN(options.certificate,
                            net::TlsCertificate::GenerateSelfSigned(self_signed));
    }
    for (net::TlsOptions* tls : {&server, &client}) {
      tls->certificate = options.certificate;
      tls->verify = options.verify;
      tls->ca_file = options.ca_file;
      tls->pinned = options.pinned;
      tls->handshake_timeout = options.handshake_timeout;
    }
  }
  // Plain TCP never uses the server context, and one without a certificate is refused: a
  // client-role context (which needs none) stands in.
  SNOW_ASSIGN_OR_RETURN(net::TlsContext server_tls,
                        net::TlsContext::Create(options.tls ? server : client));
  SNOW_ASSIGN_OR_RETURN(net::TlsContext client_tls, net::TlsContext::Create(client));

  // What name services handle, on every node.
  RegisterMessage<dist_internal::NamedCall>();
  RegisterMessage<dist_internal::SpawnRequest>();
  uint32_t creation = 0;
  while (creation == 0) {
    SNOW_RETURN_IF_ERROR(
        net::RandomBytes(std::span<uint8_t>(reinterpret_cast<uint8_t*>(&creation), 4)));
  }
  SNOW_ASSIGN_OR_RETURN(std::unique_ptr<net::HangupWatch> hangup_watch, net::HangupWatch::Create());
  auto node =
      std::make_unique<Node>(self.runtime(), std::move(options), std::move(cookie), creation,
                             std::move(server_tls), std::move(client_tls), std::move(hangup_watch));
  Node* raw = node.get();
  SNOW_RETURN_IF_ERROR(self.runtime().SetTransport(std::move(node)));
  dist_internal::StartAcceptor(self, raw, std::move(listener));
  dist_internal::StartHangupWatcher(self, raw);
  for (const std::string& peer : raw->options().keep_connected) {
    if (peer != raw->name()) self.Spawn(dist_internal::KeepConnected, peer);
  }
  return absl::OkStatus();
}

std::string CertificateName(std::string_view node) {
  return absl::StrCat("snow://", AbslView(node));
}

std::string SelfNode(Self self) {
  Node* node = NodeOrNull(self);
  return node != nullptr ? node->name() : std::string();
}

std::vector<std::string> Nodes(Self self) {
  Node* node = NodeOrNull(self);
  return node != nullptr ? node->ConnectedNames() : std::vector<std::string>();
}

std::string NodeOf(Self self, Pid pid) { return self.runtime().NodeNameOf(pid); }

std::string PidToString(Self self, Pid pid) { return self.runtime().PidText(pid); }

absl::StatusOr<Pid> ParsePid(Self self, std::string_view text) {
  if (!text.starts_with('<') || !text.ends_with('>') || text.find('@') == std::string_view::npos) {
    return Pid::Parse(text);
  }
  // <name@host:port.S.N>: the node name ends at the second-to-last dot.
  std::string_view body = text.substr(1, text.size() - 2);
  size_t last = body.rfind('.');
  size_t middle = last == std::string_view::npos ? last : body.rfind('.', last - 1);
  uint32_t shard = 0;
  uint64_t serial = 0;
  if (middle == std::string_view::npos ||
      !absl::SimpleAtoi(AbslView(body.substr(middle + 1, last - middle - 1)), &shard) ||
      !absl::SimpleAtoi(AbslView(body.substr(last + 1)), &serial) || shard >= Pid::kMaxShards ||
      serial > Pid::kMaxSerial) {
    return absl::InvalidArgumentError(absl::StrCat("not a PID: ", AbslView(text)));
  }
  std::string_view name = body.substr(0, middle);
  SNOW_RETURN_IF_ERROR(dist_internal::CheckNodeName(name));
  Node* node = NodeOrNull(self);
  if (node != nullptr && name == node->name()) return Pid::FromParts(0, shard, serial);
  absl::StatusOr<uint32_t> slot =
      node != nullptr ? node->LiveSlotOf(name) : absl::StatusOr<uint32_t>(absl::NotFoundError(""));
  if (!slot.ok()) {
    return absl::UnavailableError(absl::StrCat(AbslView(name), " is not connected"));
  }
  return Pid::FromParts(*slot, shard, serial);
}

Task<absl::Status> Connect(Self self, std::string node_name) {
  Node* node = NodeOrNull(self);
  if (node == nullptr) {
    co_return absl::FailedPreconditionError("this runtime is not a node (call dist::Start)");
  }
  absl::StatusOr<dist_internal::Peer*> peer = node->PeerFor(node_name);
  if (!peer.ok()) co_return peer.status();
  Ref ref = self.MakeRef();
  uint64_t bits = ref.bits();
  node->EnsureConnecting(*peer, self.pid(), bits);
  absl::Duration limit = node->options().handshake_timeout + absl::Seconds(2);
  auto is_ours = [bits](const dist_internal::ConnectResult& r) { return r.ref == bits; };
  absl::StatusOr<dist_internal::ConnectResult> result =
      co_await self.ReceiveReply<dist_internal::ConnectResult>(ref, is_ours, limit);
  if (!result.ok()) {
    co_return absl::DeadlineExceededError(absl::StrCat("connect to ", node_name, " timed out"));
  }
  co_return result->status;
}

void Disconnect(Self self, std::string_view node_name) {
  if (Node* node = NodeOrNull(self)) node->Disconnect(node_name);
}

void MonitorNodes(Self self, bool on) {
  if (Node* node = NodeOrNull(self)) node->MonitorNodes(self.pid(), on);
}

Task<void> WaitForRoom(Self self, Pid to) {
  Node* node = NodeOrNull(self);
  if (node == nullptr || to.is_local()) co_return;
  const uint64_t token = remote::NewRef();
  if (node->RoomFor(self.pid(), to, token)) co_return;
  auto is_ours = [token](const RoomAvailable& room) { return room.token == token; };
  (void)co_await self.Receive<RoomAvailable>(is_ours);
}

DistStats Stats(Self self) {
  Node* node = NodeOrNull(self);
  return node != nullptr ? node->TotalStats() : DistStats{};
}

}  // namespace snow::dist

namespace snow::dist_internal {

bool IsConnected(Self self, std::string_view node_name) {
  Node* node = NodeOf(self.runtime());
  return node != nullptr && node->LiveSlotOf(node_name).ok();
}

namespace {

// What a send or call by name needs: the node, the peer named, after the checks both make.
absl::StatusOr<std::pair<Node*, Peer*>> NamedTarget(Self self, std::string_view name,
                                                    std::string_view node_name,
                                                    const RemoteType* type) {
  Node* node = NodeOf(self.runtime());
  if (node == nullptr) {
    return absl::FailedPreconditionError("this runtime is not a node (call dist::Start)");
  }
  if (type == nullptr) {
    return absl::FailedPreconditionError(
        "the message type is not registered for the wire (dist::RegisterMessage)");
  }
  if (name.empty() || name.size() > 255) {
    return absl::InvalidArgumentError("a registered name is 1-255 bytes");
  }
  SNOW_ASSIGN_OR_RETURN(Peer * peer, node->PeerFor(node_name));
  return std::make_pair(node, peer);
}

}  // namespace

absl::Status SendNamedCall(Self self, std::string_view name, std::string_view node_name,
                           const RemoteType* type, const void* request, Ref ref) {
  SNOW_ASSIGN_OR_RETURN(auto target, NamedTarget(self, name, node_name, type));
  return target.first->StartNamedCall(self.pid(), name, target.second, *type, request, ref.bits());
}

absl::Status SendNamedEncoded(Self self, std::string_view name, std::string_view node_name,
                              const RemoteType* type, const void* value) {
  SNOW_ASSIGN_OR_RETURN(auto target, NamedTarget(self, name, node_name, type));
  auto [node, peer] = target;
  wire::ByteBuffer frame;
  const size_t start = wire::BeginFrame(frame);
  FieldWriter w(frame);
  w.U8(static_cast<uint8_t>(FrameKind::kSendNamed));
  w.Name(name);
  w.Name(type->wire_name);
  // PIDs in a named send are written by the node table alone: the peer's session is not known
  // here (and may not exist yet).
  NamedSendPids pids(node);
  SNOW_RETURN_IF_ERROR(EncodeMessage(*type, value, pids, frame));
  if (!wire::EndFrame(frame, start, kFragmentBytes).ok()) {
    return absl::ResourceExhaustedError(
        "a named send is limited to 256 KiB; send large messages to a PID");
  }
  node->EnsureConnecting(peer);
  node->SendNamedFrame(peer, std::move(frame));
  return absl::OkStatus();
}

}  // namespace snow::dist_internal
