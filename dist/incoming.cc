#include "snow/dist/internal/incoming.h"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "snow/core/remote.h"
#include "snow/core/status.h"
#include "snow/dist/internal/fields.h"
#include "snow/dist/internal/handshake.h"
#include "snow/dist/internal/name_service.h"
#include "snow/dist/internal/node_impl.h"
#include "snow/dist/internal/protocol.h"
#include "snow/dist/internal/session.h"
#include "snow/wire/frame.h"

namespace snow::dist_internal {
namespace {

constexpr size_t kReadBufferBytes = 256 * 1024;
// A reassembly buffer that held a huge message gives the memory back.
constexpr size_t kKeepReassemblyBytes = size_t{1} << 20;
// A lane holds at most this much before its peer's LANES_UP, then stops reading.
constexpr size_t kMaxHeldBytes = size_t{4} << 20;

}  // namespace

Incoming::Incoming(Session* session) : session_(session), frames_(kMaxWireFrame) {}

const wire::DecodeLimits& Incoming::Limits() {
  if (!limits_made_) {
    const size_t max = session_->node()->options().max_message_bytes;
    limits_.max_input_bytes = max;
    limits_.max_string_bytes = max;
    limits_made_ = true;
  }
  return limits_;
}

absl::Status Incoming::Release() {
  if (held_.empty()) return absl::OkStatus();
  wire::ByteBuffer held = std::move(held_);
  held_ = wire::ByteBuffer();
  return frames_.Feed(held.view(), [this](wire::ByteSpan f) { return HandleFrame(f); });
}

Task<absl::Status> Incoming::ReadLoop(net::Stream& stream, absl::Duration tick) {
  std::unique_ptr<char[]> buffer(new char[kReadBufferBytes]);
  ShardStats* stats = session_->stats();
  for (;;) {
    if (!session_->readable() && held_.size() >= kMaxHeldBytes) {
      co_await session_->WaitUntilReadable();
      if (session_->closed()) co_return absl::CancelledError("session closed");
    }
    absl::StatusOr<size_t> n =
        co_await stream.ReadSome(std::span<char>(buffer.get(), kReadBufferBytes), tick);
    if (!n.ok()) {
      if (absl::IsDeadlineExceeded(n.status())) {
        co_return absl::UnavailableError(
            absl::StrCat("heartbeat: nothing heard for ", absl::FormatDuration(tick)));
      }
      co_return n.status();
    }
    if (*n == 0) co_return absl::UnavailableError("connection closed by the peer");
    ShardStats::Add(stats->bytes_received, *n);
    wire::ByteSpan chunk(reinterpret_cast<const uint8_t*>(buffer.get()), *n);
    if (!session_->readable()) [[unlikely]] {
      held_.Append(chunk);
      continue;
    }
    absl::Status s = frames_.Feed(chunk, [this](wire::ByteSpan f) { return HandleFrame(f); });
    if (!s.ok()) co_return s;
    if (session_->closed()) co_return absl::CancelledError("session closed");
  }
}

absl::Status Incoming::HandleFrame(wire::ByteSpan frame) {
  if (frame.empty()) return absl::OkStatus();  // a tick
  if (static_cast<FrameKind>(frame[0]) == FrameKind::kFragment) {
    return HandleFragment(frame.subspan(1));
  }
  return HandlePayload(frame);
}

absl::Status Incoming::HandleFragment(wire::ByteSpan body) {
  FieldReader f(body);
  uint8_t flags = 0;
  if (!f.U8(&flags) || (flags & ~(kFirstFragment | kLastFragment)) != 0) {
    return ProtocolError("bad fragment flags");
  }
  if ((flags & kFirstFragment) != 0) {
    if (reassembling_) return ProtocolError("a new message before the last one ended");
    uint64_t total = 0, binary_at = 0, binary_length = 0;
    if (!f.Int(&total) || !f.Int(&binary_at) || !f.Int(&binary_length)) {
      return ProtocolError("short first fragment");
    }
    const uint64_t limit = session_->node()->options().max_message_bytes;
    if (total > limit) {
      return absl::ResourceExhaustedError(
          absl::StrCat("protocol error: a message of ", total,
                       " bytes, over NodeOptions::max_message_bytes (", limit, ")"));
    }
    if (total == 0 || binary_length > total || binary_at > total - binary_length ||
        (binary_length == 0 && binary_at != 0)) {
      return ProtocolError("a first fragment announcing bytes outside its message");
    }
    reassembling_ = true;
    expected_ = total;
    received_ = 0;
    binary_at_ = binary_at;
    binary_end_ = binary_at + binary_length;
    // Reserved, not filled: the pages are touched as the fragments arrive.
    reassembly_.reserve(total - binary_length);
    binary_.reserve(binary_length);
  } else if (!reassembling_) {
    return ProtocolError("a fragment without a first one");
  }
  wire::ByteSpan bytes = f.rest();
  if (bytes.size() > expected_ - received_) return ProtocolError("fragments longer than announced");
  session_->ReadBulk(static_cast<uint32_t>(bytes.size()));
  // The announced binary goes to its own string; the rest, around it, to the reassembly buffer.
  while (!bytes.empty()) {
    size_t n = bytes.size();
    if (received_ < binary_at_) {
      n = std::min<uint64_t>(n, binary_at_ - received_);
      reassembly_.Append(bytes.first(n));
    } else if (received_ < binary_end_) {
      n = std::min<uint64_t>(n, binary_end_ - received_);
      binary_.append(reinterpret_cast<const char*>(bytes.data()), n);
    } else {
      reassembly_.Append(bytes);
    }
    received_ += n;
    bytes = bytes.subspan(n);
  }
  if ((flags & kLastFragment) == 0) return absl::OkStatus();
  if (received_ != expected_) return ProtocolError("fragments shorter than announced");
  reassembling_ = false;
  if (!reassembly_.empty() &&
      static_cast<FrameKind>(reassembly_.data()[0]) == FrameKind::kFragment) {
    return ProtocolError("a fragment inside a fragment");
  }
  supplied_ = binary_end_ > binary_at_;
  absl::Status s = HandlePayload(reassembly_.view());
  supplied_ = false;
  if (reassembly_.capacity() > kKeepReassemblyBytes) {
    reassembly_ = wire::ByteBuffer();
  } else {
    reassembly_.clear();
  }
  binary_ = std::string();
  return s;
}

absl::Status Incoming::HandlePayload(wire::ByteSpan payload) {
  if (payload.empty()) return ProtocolError("an empty payload");
  FieldReader f(payload.subspan(1));
  Node* node = session_->node();
  ShardStats* stats = session_->stats();
  switch (static_cast<FrameKind>(payload[0])) {
    case FrameKind::kSend:
      return HandleSend(f, payload.size(), false);
    case FrameKind::kSendShaped:
      return HandleSend(f, payload.size(), true);
    case FrameKind::kDefineShape:
      return DefineShape(f);
    case FrameKind::kSendNamed: {
      std::string_view name, type_name;
      if (!f.Name(&name) || !f.Name(&type_name)) return ProtocolError("short named send");
      const RemoteType* type = FindRemoteType(type_name);
      if (type == nullptr) {
        ShardStats::Add(stats->dropped_not_registered, 1);
        node->LogAbout(session_->Describe(), LogKind::kUnregisteredType, [&] {
          return absl::StrCat("dropped a named send of unregistered type ", AbslView(type_name),
                              " from ", session_->Describe());
        });
        return absl::OkStatus();
      }
      std::optional<Pid> to = node->runtime().WhereIs(name);
      if (!to) {
        ShardStats::Add(stats->dropped_no_connection, 1);
        node->LogAbout(session_->Describe(), LogKind::kUndeliverable, [&] {
          return absl::StrCat("dropped a message from ", session_->Describe(), " to \"",
                              AbslView(name), "\": no actor is registered under that name");
        });
        return absl::OkStatus();
      }
      return DeliverMessage(*type, f.rest(), *to, payload.size() - f.rest().size());
    }
    case FrameKind::kDefineType: {
      uint16_t id = 0;
      std::string_view name;
      if (!f.Int(&id) || !f.Name(&name)) return ProtocolError("short type definition");
      if (id != types_.size()) return ProtocolError("type ids out of sequence");
      const RemoteType* type = FindRemoteType(name);
      if (type == nullptr) {
        node->LogAbout(session_->Describe(), LogKind::kUnregisteredType, [&] {
          return absl::StrCat(session_->Describe(), " sends messages of type ", AbslView(name),
                              ", which this program has not registered; they are dropped");
        });
      }
      types_.push_back(type);
      shapes_.emplace_back();
      return absl::OkStatus();
    }
    case FrameKind::kSignal:
      return DeliverSignal(f.rest());
    case FrameKind::kPeers: {
      uint16_t count = 0;
      if (!f.Int(&count)) return ProtocolError("short peer list");
      std::vector<std::string> names;
      for (uint16_t i = 0; i < count; ++i) {
        std::string_view name;
        if (!f.Name(&name)) return ProtocolError("short peer list");
        if (CheckNodeName(name).ok()) names.emplace_back(name);
      }
      if (node->options().mesh) node->LearnPeers(names, session_->Describe());
      return absl::OkStatus();
    }
    case FrameKind::kLanesUp: {
      uint16_t lane = 0;
      if (!f.Int(&lane) || !f.done()) return ProtocolError("short LANES_UP");
      if (session_->is_lane()) return ProtocolError("LANES_UP on a lane");
      if (lane >= session_->peer_lanes()) return ProtocolError("LANES_UP for no lane");
      node->PeerLaneUp(session_, lane);
      return absl::OkStatus();
    }
    case FrameKind::kLanesWanted: {
      uint16_t lane = 0;
      if (!f.Int(&lane) || !f.done()) return ProtocolError("short LANES_WANTED");
      if (session_->is_lane() || !session_->dialed()) {
        return ProtocolError("LANES_WANTED to the node that did not dial");
      }
      if (lane >= session_->peer_lanes()) return ProtocolError("LANES_WANTED for no lane");
      node->PeerWantsLanes(session_, lane);
      return absl::OkStatus();
    }
    case FrameKind::kBulkRead: {
      uint32_t bytes = 0;
      if (!f.Int(&bytes) || !f.done()) return ProtocolError("short BULK_READ");
      session_->PeerReadBulk(bytes);
      return absl::OkStatus();
    }
    case FrameKind::kFragment:
      return ProtocolError("a fragment inside a fragment");
  }
  return ProtocolError(absl::StrCat("unknown frame kind ", payload[0]));
}

absl::Status Incoming::HandleSend(FieldReader& f, size_t payload_size, bool shaped) {
  uint16_t id = 0;
  uint64_t to_bits = 0;
  if (!f.Int(&id) || !f.Int(&to_bits)) return ProtocolError("short send");
  Pid to = Pid::FromBits(to_bits);
  if (!to.is_local() || to.is_null()) return ProtocolError("send to a PID that is not ours");
  if (id >= types_.size()) return ProtocolError("send of an undefined type id");
  wire::DefinedShape* shape = nullptr;
  if (shaped) {
    shape = shapes_[id].get();
    if (shape == nullptr) return ProtocolError("SEND_SHAPED of a type with no shape defined");
  }
  const RemoteType* type = types_[id];
  if (type == nullptr) {
    ShardStats::Add(session_->stats()->dropped_not_registered, 1);
    return absl::OkStatus();
  }
  return DeliverMessage(*type, f.rest(), to, payload_size - f.rest().size(), shape);
}

absl::Status Incoming::DefineShape(FieldReader& f) {
  uint16_t id = 0;
  if (!f.Int(&id)) return ProtocolError("short DEFINE_SHAPE");
  if (id >= types_.size()) return ProtocolError("DEFINE_SHAPE of an undefined type id");
  if (shapes_[id] != nullptr) return ProtocolError("DEFINE_SHAPE twice for one type");
  const size_t size = f.rest().size();
  if (size > kMaxShapeBytes || shape_bytes_ + size > kMaxShapeBytesPerConnection) {
    return ProtocolError(absl::StrCat(
        "DEFINE_SHAPE of ", size, " bytes, over the ",
        size > kMaxShapeBytes ? kMaxShapeBytes : kMaxShapeBytesPerConnection,
        size > kMaxShapeBytes ? " one may have" : " one connection's shapes may have"));
  }
  absl::StatusOr<std::unique_ptr<wire::DefinedShape>> shape = wire::DefinedShape::Parse(f.rest());
  if (!shape.ok()) {
    return ProtocolError(absl::StrCat("DEFINE_SHAPE that is not one struct header (",
                                      shape.status().message(), ")"));
  }
  shapes_[id] = std::move(*shape);
  shape_bytes_ += size;
  return absl::OkStatus();
}

absl::Status Incoming::DeliverMessage(const RemoteType& type, wire::ByteSpan term, Pid to,
                                      size_t term_at, wire::DefinedShape* shape) {
  const wire::DecodeLimits& limits = Limits();
  absl::Status error;
  // A binary reassembled on its own is supplied where its bytes belong in the term (the frames
  // before it, a named send or another kind, have none).
  std::string* supplied = nullptr;
  size_t supplied_at = 0;
  if (supplied_ && binary_at_ >= term_at) {
    supplied = &binary_;
    supplied_at = binary_at_ - term_at;
  }
  RemoteEnvelope e = type.decode(term, to, session_, limits, supplied_at, supplied, shape, &error);
  if (!e) {
    // The framing is intact, so only this message is lost, not the connection.
    ShardStats::Add(session_->stats()->dropped_decode_failed, 1);
    session_->node()->LogAbout(session_->Describe(), LogKind::kUndeliverable, [&] {
      return absl::StrCat("dropped a ", type.wire_name, " from ", session_->Describe(),
                          " that did not decode: ", error.ToString());
    });
    return absl::OkStatus();
  }
  ShardStats::Add(session_->stats()->messages_received, 1);
  if (IsNameService(to)) [[unlikely]] {
    if (&type == dist::RemoteTypeOf<NamedCall>()) return DeliverNamedCall(std::move(e));
    if (&type == dist::RemoteTypeOf<SpawnRequest>()) return DeliverSpawn(std::move(e));
  }
  session_->node()->HandOn(session_, session_->shard_id(), std::move(e));
  return absl::OkStatus();
}

absl::Status Incoming::DeliverSpawn(RemoteEnvelope e) {
  SpawnRequest& request = e.mutable_value<SpawnRequest>();
  if (request.from.node() != session_->peer_slot()) {
    return ProtocolError("a spawn for an actor of another node");
  }
  Node* node = session_->node();
  const wire::DecodeLimits& limits = Limits();
  const std::string& args = request.args.bytes;
  absl::StatusOr<SpawnStart> start = PrepareSpawn(
      request.function, wire::ByteSpan(reinterpret_cast<const uint8_t*>(args.data()), args.size()),
      session_, limits);
  node->SpawnForPeer(session_, session_->shard_id(), std::move(request), std::move(start));
  return absl::OkStatus();
}

absl::Status Incoming::DeliverNamedCall(RemoteEnvelope e) {
  Node* node = session_->node();
  const ShardId here = session_->shard_id();
  NamedCall& call = e.mutable_value<NamedCall>();
  if (call.from.node() != session_->peer_slot()) {
    return ProtocolError("a call by name for an actor of another node");
  }
  // The monitor first, on what the name names now; on the name service itself when it names
  // nothing, which answers with Down(noproc).
  std::optional<Pid> server = node->runtime().WhereIs(call.name);
  const Pid watched = server ? *server : Pid::FromParts(0, 0, kNameServiceSerial);
  node->HandOn(
      session_, here,
      RemoteEnvelope::Signal(watched, SignalKind::kMonitor, call.from, call.ref, absl::OkStatus()));
  if (!server) {
    ShardStats::Add(session_->stats()->dropped_no_connection, 1);
    return absl::OkStatus();
  }
  const RemoteType* type = FindRemoteType(call.type);
  if (type == nullptr) {
    ShardStats::Add(session_->stats()->dropped_not_registered, 1);
    node->LogAbout(session_->Describe(), LogKind::kUnregisteredType, [&] {
      return absl::StrCat("dropped a call to \"", call.name, "\" from ", session_->Describe(),
                          ": its request type ", call.type, " is not registered in this program");
    });
    return absl::OkStatus();
  }
  const wire::DecodeLimits& limits = Limits();
  absl::Status error;
  const std::string& bytes = call.request.bytes;
  RemoteEnvelope request =
      type->decode(wire::ByteSpan(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()),
                   *server, session_, limits, 0, nullptr, nullptr, &error);
  if (!request) {
    ShardStats::Add(session_->stats()->dropped_decode_failed, 1);
    node->LogAbout(session_->Describe(), LogKind::kUndeliverable, [&] {
      return absl::StrCat("dropped a call to \"", call.name, "\" from ", session_->Describe(),
                          " that did not decode: ", error.ToString());
    });
    return absl::OkStatus();
  }
  node->HandOn(session_, here, std::move(request));
  return absl::OkStatus();
}

absl::Status Incoming::DeliverSignal(wire::ByteSpan body) {
  FieldReader f(body);
  uint8_t kind_code = 0, status_code = 0;
  uint64_t from_bits = 0, to_bits = 0, ref = 0;
  uint32_t length = 0;
  std::string_view message;
  if (!f.U8(&kind_code) || !f.Int(&from_bits) || !f.Int(&to_bits) || !f.Int(&ref) ||
      !f.U8(&status_code) || !f.Int(&length) || !f.Bytes(length, &message)) {
    return ProtocolError("short signal");
  }
  std::optional<SignalKind> kind = SignalKindFromWire(kind_code);
  if (!kind) return ProtocolError("unknown signal");
  std::optional<absl::StatusCode> code = StatusCodeFromWire(status_code);
  if (!code) return ProtocolError("unknown status code in a signal");
  Pid from_local = Pid::FromBits(from_bits);
  Pid to = Pid::FromBits(to_bits);
  if (!from_local.is_local() || !to.is_local()) return ProtocolError("signal with a foreign PID");
  Pid from = Pid::FromParts(session_->peer_slot(), from_local.shard(), from_local.serial());
  const bool ends_or_links =
      *kind == SignalKind::kExit || *kind == SignalKind::kLinkExit || *kind == SignalKind::kLink;
  if (ends_or_links && session_->node()->IsOwnActor(to)) [[unlikely]] {
    session_->node()->LogAbout(session_->Describe(), LogKind::kUndeliverable, [&] {
      return absl::StrCat("refused a link or exit signal from ", session_->Describe(),
                          " to one of the node's own actors");
    });
    return absl::OkStatus();
  }
  session_->node()->HandOn(
      session_, session_->shard_id(),
      RemoteEnvelope::Signal(to, *kind, from, ref, absl::Status(*code, AbslView(message))));
  return absl::OkStatus();
}

}  // namespace snow::dist_internal
