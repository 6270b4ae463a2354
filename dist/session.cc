#include "snow/dist/internal/session.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "snow/core/exit_reason.h"
#include "snow/core/status.h"
#include "snow/core/time.h"
#include "snow/dist/internal/handshake.h"
#include "snow/net/crypto.h"
#include "snow/wire/reader.h"
#include "snow/wire/writer.h"

namespace snow::dist_internal {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the frame fields are written little-endian with memcpy");

constexpr size_t kReadBufferBytes = 256 * 1024;
constexpr uint8_t kLastFragment = 1;
constexpr uint8_t kFirstFragment = 2;

// Sent to the writer actor when there is something to write.
struct WriterKick {};

template <typename T>
void Put(wire::ByteBuffer& out, T v) {
  std::memcpy(out.AppendUninitialized(sizeof(T)), &v, sizeof(T));
}

void PutName(wire::ByteBuffer& out, std::string_view name) {
  out.push_back(static_cast<uint8_t>(name.size()));
  out.Append(name);
}

// Frames this file builds are bounded by construction (a small frame is at most kBulkThreshold
// bytes; larger ones go out as fragments), so the length always fits.
void PatchLength(wire::ByteBuffer& out, size_t start) {
  absl::Status s = wire_internal::PatchFrameHeader(out, start, kMaxWireFrame);
  SNOW_CHECK(s.ok(), "a dist frame over kMaxWireFrame");
}

// Reads fixed-width fields off the front of a payload; every read is checked.
class Fields {
 public:
  explicit Fields(wire::ByteSpan s) : s_(s) {}
  template <typename T>
  bool Get(T* v) {
    if (s_.size() < sizeof(T)) return false;
    std::memcpy(v, s_.data(), sizeof(T));
    s_.remove_prefix(sizeof(T));
    return true;
  }
  bool Name(std::string_view* out) {
    uint8_t n = 0;
    if (!Get(&n) || s_.size() < n) return false;
    *out = wire::AsChars(s_.subspan(0, n));
    s_.remove_prefix(n);
    return true;
  }
  bool Bytes(size_t n, std::string_view* out) {
    if (s_.size() < n) return false;
    *out = wire::AsChars(s_.subspan(0, n));
    s_.remove_prefix(n);
    return true;
  }
  wire::ByteSpan rest() const { return s_; }

 private:
  wire::ByteSpan s_;
};

absl::Status ProtocolError(std::string_view what) {
  return absl::DataLossError(absl::StrCat("protocol error: ", AbslView(what)));
}

// A local PID as the peer names it: its node bits cleared (the peer sees slot 0 = itself).
uint64_t LocalBits(Pid pid) { return Pid::FromParts(0, pid.shard(), pid.serial()).bits(); }

// HELLO and CHALLENGE introduce their sender the same way: its creation, its name and a fresh
// nonce, which the proofs later cover.
template <typename Introduction>
absl::Status Introduce(const Node& node, Introduction& introduction) {
  introduction.creation = node.creation();
  introduction.name = node.name();
  return net::RandomBytes(introduction.nonce);
}

}  // namespace

// --- Channel ---

Task<absl::Status> Channel::StartTls(net::TlsContext context) {
  absl::StatusOr<net::TlsStream> tls = co_await net::TlsStream::Handshake(context, std::move(tcp_));
  if (!tls.ok()) co_return tls.status();
  tls_.emplace(std::move(*tls));
  co_return absl::OkStatus();
}

Task<absl::StatusOr<size_t>> Channel::ReadSome(std::span<char> buffer, absl::Duration timeout) {
  if (tls_) co_return co_await tls_->ReadSome(buffer, timeout);
  co_return co_await tcp_.ReadSome(buffer, timeout);
}

Task<absl::Status> Channel::ReadExactly(std::span<char> buffer, absl::Duration timeout) {
  if (tls_) co_return co_await tls_->ReadExactly(buffer, timeout);
  co_return co_await tcp_.ReadExactly(buffer, timeout);
}

Task<absl::Status> Channel::WriteAll(std::span<const char> data, absl::Duration timeout) {
  if (tls_) co_return co_await tls_->WriteAll(data, timeout);
  co_return co_await tcp_.WriteAll(data, timeout);
}

absl::StatusOr<std::string> Channel::Exporter() const {
  if (!tls_) return std::string();
  return tls_->ExportKeyingMaterial(kExporterLabel, "", 32);
}

void Channel::Reset() {
  if (tls_) {
    tls_->tcp().Reset();
  } else {
    tcp_.Reset();
  }
}

// --- Session ---

Session::Session(Node* node, ShardId shard, Peer* peer, bool outgoing)
    : node_(node), shard_(shard), stats_(&node->stats(shard)), peer_(peer), outgoing_(outgoing) {}

Session::~Session() = default;

std::string Session::Describe() const {
  return peer_ != nullptr ? peer_->name : std::string("(unnamed peer)");
}

Task<absl::Status> Session::WriteFrame(std::string_view payload) {
  wire::ByteBuffer frame;
  frame.AppendUninitialized(wire::kFrameHeaderBytes);
  frame.Append(payload);
  PatchLength(frame, 0);
  co_return co_await channel_.WriteAll(frame.chars(), node_->options().handshake_timeout);
}

Task<absl::Status> Session::SecureChannel(bool client) {
  if (node_->options().tls) {
    absl::Status s = co_await channel_.StartTls(client ? node_->client_tls() : node_->server_tls());
    if (!s.ok()) co_return s;
  }
  absl::StatusOr<std::string> exporter = channel_.Exporter();
  if (!exporter.ok()) co_return exporter.status();
  exporter_ = std::move(*exporter);
  co_return absl::OkStatus();
}

Task<absl::StatusOr<std::string>> Session::ReadFrame(int64_t deadline_ns) {
  auto remaining = [&] {
    return absl::Nanoseconds(std::max<int64_t>(deadline_ns - remote::NowNanos(), 1));
  };
  char header[4];
  absl::Status s = co_await channel_.ReadExactly(header, remaining());
  if (!s.ok()) co_return s;
  uint32_t n = (uint32_t{static_cast<uint8_t>(header[0])} << 24) |
               (uint32_t{static_cast<uint8_t>(header[1])} << 16) |
               (uint32_t{static_cast<uint8_t>(header[2])} << 8) |
               uint32_t{static_cast<uint8_t>(header[3])};
  if (n == 0 || n > kMaxHandshakeFrame) {
    co_return absl::InvalidArgumentError(
        absl::StrCat("handshake frame of ", n, " bytes (the limit is ", kMaxHandshakeFrame, ")"));
  }
  std::string payload(n, '\0');
  s = co_await channel_.ReadExactly(std::span<char>(payload.data(), n), remaining());
  if (!s.ok()) co_return s;
  co_return payload;
}

Task<void> Session::SendReject(RejectCode code, std::string reason) {
  Reject reject{code, std::move(reason)};
  std::string payload = EncodeReject(reject);
  // Best effort: the connection closes either way.
  (void)co_await WriteFrame(payload);
}

Task<absl::Status> Session::HandshakeAsClient() {
  int64_t deadline =
      remote::NowNanos() + absl::ToInt64Nanoseconds(node_->options().handshake_timeout);
  SNOW_CO_RETURN_IF_ERROR(co_await SecureChannel(/*client=*/true));

  Hello hello;
  SNOW_CO_RETURN_IF_ERROR(Introduce(*node_, hello));
  std::string hello_payload = EncodeHello(hello);
  SNOW_CO_RETURN_IF_ERROR(co_await WriteFrame(hello_payload));

  absl::StatusOr<std::string> challenge_payload = co_await ReadFrame(deadline);
  if (!challenge_payload.ok()) co_return challenge_payload.status();
  SNOW_CO_ASSIGN_OR_RETURN(HandshakeKind kind, KindOf(*challenge_payload));
  if (kind == HandshakeKind::kReject) {
    SNOW_CO_ASSIGN_OR_RETURN(Reject reject, ParseReject(*challenge_payload));
    co_return RejectStatus(reject);
  }
  if (kind != HandshakeKind::kChallenge) co_return ProtocolError("expected a challenge");
  SNOW_CO_ASSIGN_OR_RETURN(Challenge challenge, ParseChallenge(*challenge_payload));
  if (challenge.version != kProtocolVersion) {
    {
      std::string reason = "unsupported protocol version";

      co_await SendReject(RejectCode::kVersion, reason);
    }
    co_return absl::FailedPreconditionError(
        absl::StrCat("the peer chose protocol version ", challenge.version));
  }
  if (challenge.name != peer_->name) {
    std::string why = absl::StrCat("dialed ", peer_->name, " but reached ", challenge.name);
    co_await SendReject(RejectCode::kName, why);
    co_return absl::FailedPreconditionError(why);
  }
  net::Sha256Digest proof =
      Proof(node_->cookie(), "client", exporter_, hello_payload, *challenge_payload);
  std::string proof_payload = EncodeProof(proof);
  SNOW_CO_RETURN_IF_ERROR(co_await WriteFrame(proof_payload));

  absl::StatusOr<std::string> answer = co_await ReadFrame(deadline);
  if (!answer.ok()) co_return answer.status();
  SNOW_CO_ASSIGN_OR_RETURN(kind, KindOf(*answer));
  if (kind == HandshakeKind::kReject) {
    SNOW_CO_ASSIGN_OR_RETURN(Reject reject, ParseReject(*answer));
    co_return RejectStatus(reject);
  }
  SNOW_CO_ASSIGN_OR_RETURN(net::Sha256Digest server_proof,
                           ParseMac(*answer, HandshakeKind::kAccept));
  net::Sha256Digest expected =
      Proof(node_->cookie(), "server", exporter_, hello_payload, *challenge_payload);
  if (!net::ConstantTimeEqual(expected, server_proof)) {
    {
      std::string reason = "the server did not prove the cookie";

      co_await SendReject(RejectCode::kCookie, reason);
    }
    co_return absl::UnauthenticatedError(
        "the peer did not prove the cookie (a different cookie, or a relay in between)");
  }
  peer_creation_ = challenge.creation;
  SNOW_CO_RETURN_IF_ERROR(node_->Publish(this));
  BecomeUp();
  co_return absl::OkStatus();
}

Task<absl::Status> Session::HandshakeAsServer() {
  int64_t deadline =
      remote::NowNanos() + absl::ToInt64Nanoseconds(node_->options().handshake_timeout);
  SNOW_CO_RETURN_IF_ERROR(co_await SecureChannel(/*client=*/false));

  absl::StatusOr<std::string> hello_payload = co_await ReadFrame(deadline);
  if (!hello_payload.ok()) co_return hello_payload.status();
  absl::StatusOr<HandshakeKind> kind = KindOf(*hello_payload);
  absl::StatusOr<Hello> hello = kind.ok() && *kind == HandshakeKind::kHello
                                    ? ParseHello(*hello_payload)
                                    : absl::StatusOr<Hello>(ProtocolError("expected a hello"));
  if (!hello.ok()) {
    {
      std::string reason = std::string(hello.status().message());

      co_await SendReject(RejectCode::kMalformed, reason);
    }
    co_return hello.status();
  }
  if (hello->min_version > kProtocolVersion || hello->max_version < kProtocolVersion) {
    std::string why =
        absl::StrCat("no common protocol version: the peer speaks ", hello->min_version, "-",
                     hello->max_version, ", this node ", kProtocolVersion);
    co_await SendReject(RejectCode::kVersion, why);
    co_return absl::FailedPreconditionError(why);
  }
  if (absl::Status s = CheckNodeName(hello->name); !s.ok()) {
    {
      std::string reason = std::string(s.message());

      co_await SendReject(RejectCode::kMalformed, reason);
    }
    co_return s;
  }
  if (hello->name == node_->name()) {
    std::string why = absl::StrCat("name clash: ", hello->name, " is this node's own name");
    co_await SendReject(RejectCode::kName, why);
    co_return absl::FailedPreconditionError(why);
  }
  absl::StatusOr<Peer*> peer = node_->PeerFor(hello->name);
  if (!peer.ok()) {
    {
      std::string reason = std::string(peer.status().message());

      co_await SendReject(RejectCode::kMalformed, reason);
    }
    co_return peer.status();
  }
  peer_ = *peer;

  Challenge challenge;
  SNOW_CO_RETURN_IF_ERROR(Introduce(*node_, challenge));
  std::string challenge_payload = EncodeChallenge(challenge);
  SNOW_CO_RETURN_IF_ERROR(co_await WriteFrame(challenge_payload));

  absl::StatusOr<std::string> proof_payload = co_await ReadFrame(deadline);
  if (!proof_payload.ok()) co_return proof_payload.status();
  absl::StatusOr<net::Sha256Digest> proof = ParseMac(*proof_payload, HandshakeKind::kProof);
  if (!proof.ok()) {
    if (KindOf(*proof_payload).value_or(HandshakeKind::kHello) == HandshakeKind::kReject) {
      absl::StatusOr<Reject> reject = ParseReject(*proof_payload);
      co_return reject.ok() ? RejectStatus(*reject) : reject.status();
    }
    {
      std::string reason = std::string(proof.status().message());

      co_await SendReject(RejectCode::kMalformed, reason);
    }
    co_return proof.status();
  }
  net::Sha256Digest expected =
      Proof(node_->cookie(), "client", exporter_, *hello_payload, challenge_payload);
  if (!net::ConstantTimeEqual(expected, *proof)) {
    {
      std::string reason = "wrong cookie";

      co_await SendReject(RejectCode::kCookie, reason);
    }
    co_return absl::UnauthenticatedError(
        "the peer did not prove the cookie (a different cookie, or a relay in between)");
  }
  peer_creation_ = hello->creation;
  absl::Status claimed = node_->Claim(this);
  if (!claimed.ok()) {
    RejectCode code = absl::IsAborted(claimed) ? RejectCode::kSimultaneous : RejectCode::kName;
    std::string reason(claimed.message());
    co_await SendReject(code, reason);
    co_return claimed;
  }
  net::Sha256Digest server_proof =
      Proof(node_->cookie(), "server", exporter_, *hello_payload, challenge_payload);
  std::string accept_payload = EncodeAccept(server_proof);
  SNOW_CO_RETURN_IF_ERROR(co_await WriteFrame(accept_payload));
  // Announced only now, with no suspension before BecomeUp: whoever hears NodeUp (or its
  // Connect result) can send at once.
  SNOW_CO_RETURN_IF_ERROR(node_->Publish(this));
  BecomeUp();
  co_return absl::OkStatus();
}

void Session::BecomeUp() {
  up_ = true;
  peer_slot_ = node_->SlotFor(peer_->name, peer_creation_);
  // Tell the peer whom we know (mesh), then what waited for the handshake.
  std::vector<std::string> names = node_->ConnectedNames();
  size_t start = urgent_.size();
  urgent_.AppendUninitialized(wire::kFrameHeaderBytes);
  urgent_.push_back(static_cast<uint8_t>(FrameKind::kPeers));
  uint16_t count = 0;
  for (const std::string& n : names) count += n != peer_->name ? 1 : 0;
  Put(urgent_, count);
  for (const std::string& n : names) {
    if (n != peer_->name) PutName(urgent_, n);
  }
  PatchLength(urgent_, start);
  urgent_.Append(named_pending_.view());
  named_pending_ = wire::ByteBuffer();
  queued_bytes_ += urgent_.size();
  Kick();
}

// --- Outgoing ---

void Session::Kick() {
  if (writer_waiting_ && !kicked_) {
    kicked_ = true;
    remote::Deliver(RemoteEnvelope::Message(writer_, WriterKick{}));
  }
}

uint16_t Session::OutTypeId(const RemoteType* type) {
  if (type == last_type_) return last_type_id_;
  auto [it, inserted] = out_types_.try_emplace(type, static_cast<uint16_t>(out_types_.size()));
  if (inserted) {
    SNOW_CHECK(out_types_.size() < 65535, "more than 65534 message types on one connection");
    size_t start = urgent_.size();
    urgent_.AppendUninitialized(wire::kFrameHeaderBytes);
    urgent_.push_back(static_cast<uint8_t>(FrameKind::kDefineType));
    Put(urgent_, it->second);
    PutName(urgent_, type->wire_name);
    PatchLength(urgent_, start);
    queued_bytes_ += urgent_.size() - start;
  }
  last_type_ = type;
  last_type_id_ = it->second;
  return it->second;
}

wire::ByteBuffer& Session::BeginFrame(uint64_t to, size_t* start) {
  if (!bulk_.empty() && bulk_destinations_.contains(to)) [[unlikely]] {
    // Behind a large message to the same actor: keep the order by following it.
    bulk_.push_back(BulkItem{wire::ByteBuffer(), wire::kFrameHeaderBytes, to});
    ++bulk_destinations_[to];
    *start = 0;
    bulk_.back().bytes.AppendUninitialized(wire::kFrameHeaderBytes);
    return bulk_.back().bytes;
  }
  *start = urgent_.size();
  urgent_.AppendUninitialized(wire::kFrameHeaderBytes);
  return urgent_;
}

void Session::EndFrame(wire::ByteBuffer& out, size_t start, uint64_t to) {
  size_t payload = out.size() - start - wire::kFrameHeaderBytes;
  queued_bytes_ += payload + wire::kFrameHeaderBytes;
  if (&out != &urgent_) return;  // already in the bulk lane
  if (payload <= kBulkThreshold) [[likely]] {
    PatchLength(out, start);
    return;
  }
  if (start == 0) {
    bulk_.push_back(BulkItem{std::move(urgent_), wire::kFrameHeaderBytes, to});
    urgent_ = wire::ByteBuffer();
  } else {
    wire::ByteBuffer copy;
    copy.Append(urgent_.view().subspan(start + wire::kFrameHeaderBytes));
    bulk_.push_back(BulkItem{std::move(copy), 0, to});
    urgent_.Truncate(start);
  }
  ++bulk_destinations_[to];
}

void Session::Enqueue(RemoteEnvelope e) {
  const uint64_t to = LocalBits(e.to());
  if (queued_bytes_ > node_->options().max_queue_bytes && !e.is_signal()) {
    // Signals still go: a link or monitor that silently failed would be worse than memory.
    ShardStats::Add(stats_->dropped_queue_full, 1);
    return;
  }
  if (e.is_signal()) {
    if (!e.from().is_local()) return;
    uint64_t ref = e.ref();
    if (e.signal_kind() == SignalKind::kDown) {
      // Answering a monitor the peer set: give it back its own ref.
      auto it = monitor_ref_to_peer_.find(ref);
      if (it == monitor_ref_to_peer_.end()) return;
      ref = it->second.peer_ref;
      monitor_ref_from_peer_.erase(ref);
      monitor_ref_to_peer_.erase(it);
    } else {
      TrackOutgoingSignal(e);
    }
    size_t start;
    wire::ByteBuffer& out = BeginFrame(to, &start);
    out.push_back(static_cast<uint8_t>(FrameKind::kSignal));
    out.push_back(static_cast<uint8_t>(e.signal_kind()));
    Put(out, LocalBits(e.from()));
    Put(out, to);
    Put(out, ref);
    out.push_back(static_cast<uint8_t>(e.reason().code()));
    std::string_view message(e.reason().message().data(), e.reason().message().size());
    message = message.substr(0, 4096);
    Put(out, static_cast<uint32_t>(message.size()));
    out.Append(message);
    EndFrame(out, start, to);
    Kick();
    return;
  }
  const auto* type = static_cast<const RemoteType*>(e.codec());
  if (type == nullptr) [[unlikely]] {
    ShardStats::Add(stats_->dropped_not_registered, 1);
    node_->Log(absl::StrCat("dropped a message of type ", e.type_name(), " to ", Describe(),
                            ": the type is not registered (dist::RegisterMessage)"));
    return;
  }
  uint16_t id = OutTypeId(type);
  size_t start;
  wire::ByteBuffer& out = BeginFrame(to, &start);
  out.push_back(static_cast<uint8_t>(FrameKind::kSend));
  Put(out, id);
  Put(out, to);
  absl::Status status = EncodeMessage(*type, type->value_of(e), *this, out);
  if (!status.ok()) [[unlikely]] {
    out.Truncate(start);
    if (&out != &urgent_) {
      bulk_.pop_back();
      if (--bulk_destinations_[to] == 0) bulk_destinations_.erase(to);
    }
    ShardStats::Add(stats_->dropped_encode_failed, 1);
    node_->Log(
        absl::StrCat("dropped a ", type->wire_name, " to ", Describe(), ": ", status.ToString()));
    return;
  }
  EndFrame(out, start, to);
  ShardStats::Add(stats_->messages_sent, 1);
  Kick();
}

void Session::AppendFrame(wire::ByteSpan frame) {
  if (!up_) {
    named_pending_.Append(frame);
    return;
  }
  urgent_.Append(frame);
  queued_bytes_ += frame.size();
  ShardStats::Add(stats_->messages_sent, 1);
  Kick();
}

void Session::TrackOutgoingSignal(const RemoteEnvelope& s) {
  std::pair<uint64_t, uint64_t> link{s.from().bits(), s.to().bits()};
  switch (s.signal_kind()) {
    case SignalKind::kLink:
      links_.insert(link);
      break;
    case SignalKind::kUnlink:
    case SignalKind::kLinkExit:
      links_.erase(link);
      break;
    case SignalKind::kMonitor:
      monitors_out_[s.ref()] = {s.from(), s.to()};
      break;
    case SignalKind::kDemonitor:
      monitors_out_.erase(s.ref());
      break;
    case SignalKind::kExit:
    case SignalKind::kDown:
      break;
  }
}

Task<absl::Status> Session::WriteLoop(Self self) {
  writer_ = self.pid();
  const absl::Duration tick = node_->options().tick;
  wire::ByteBuffer writing;
  for (;;) {
    if (urgent_.empty() && bulk_.empty()) {
      writer_waiting_ = true;
      kicked_ = false;
      absl::StatusOr<WriterKick> kick = co_await self.ReceiveFor<WriterKick>(tick / 4);
      writer_waiting_ = false;
      // Quiet for a quarter of the tick: an empty frame tells the peer we are alive.
      if (!kick.ok()) Put(urgent_, uint32_t{0});
      continue;
    }
    std::swap(writing, urgent_);
    const size_t small_bytes = writing.size();
    BulkItem* item = bulk_.empty() ? nullptr : &bulk_.front();
    size_t chunk = 0;
    if (item != nullptr) {
      size_t left = item->bytes.size() - item->offset;
      chunk = std::min(left, kFragmentBytes);
      size_t start = writing.size();
      writing.AppendUninitialized(wire::kFrameHeaderBytes);
      writing.push_back(static_cast<uint8_t>(FrameKind::kFragment));
      const bool first = !item->started;
      writing.push_back(
          static_cast<uint8_t>((chunk == left ? kLastFragment : 0) | (first ? kFirstFragment : 0)));
      // The first fragment announces the whole size, so the peer allocates once.
      if (first) Put(writing, uint64_t{left});
      item->started = true;
      // The header announces the fragment's bytes, which follow in the second write.
      uint32_t n = static_cast<uint32_t>(writing.size() - start - wire::kFrameHeaderBytes + chunk);
      uint8_t* h = writing.data() + start;
      h[0] = static_cast<uint8_t>(n >> 24);
      h[1] = static_cast<uint8_t>(n >> 16);
      h[2] = static_cast<uint8_t>(n >> 8);
      h[3] = static_cast<uint8_t>(n);
    }
    absl::Status s = co_await channel_.WriteAll(writing.chars(), tick);
    if (s.ok() && chunk > 0) {
      std::span<const char> piece(reinterpret_cast<const char*>(item->bytes.data()) + item->offset,
                                  chunk);
      s = co_await channel_.WriteAll(piece, tick);
    }
    if (!s.ok()) {
      Close(s);
      co_return s;
    }
    if (item != nullptr) {
      item->offset += chunk;
      if (item->offset == item->bytes.size()) {
        auto it = bulk_destinations_.find(item->to);
        if (it != bulk_destinations_.end() && --it->second == 0) bulk_destinations_.erase(it);
        bulk_.pop_front();
      }
    }
    size_t sent = writing.size() + chunk;
    queued_bytes_ -= std::min(queued_bytes_, small_bytes + chunk);
    bytes_written_ += sent;
    ShardStats::Add(stats_->bytes_sent, sent);
    writing.clear();
  }
}

// --- Incoming ---

Task<absl::Status> Session::ReadLoop() {
  std::unique_ptr<char[]> buffer(new char[kReadBufferBytes]);
  wire::FrameDecoder frames(kMaxWireFrame);
  const absl::Duration tick = node_->options().tick;
  for (;;) {
    absl::StatusOr<size_t> n =
        co_await channel_.ReadSome(std::span<char>(buffer.get(), kReadBufferBytes), tick);
    if (!n.ok()) {
      if (absl::IsDeadlineExceeded(n.status())) {
        co_return absl::UnavailableError(
            absl::StrCat("heartbeat: nothing heard for ", absl::FormatDuration(tick)));
      }
      co_return n.status();
    }
    if (*n == 0) co_return absl::UnavailableError("connection closed by the peer");
    ShardStats::Add(stats_->bytes_received, *n);
    wire::ByteSpan chunk(reinterpret_cast<const uint8_t*>(buffer.get()), *n);
    absl::Status s = frames.Feed(chunk, [this](wire::ByteSpan f) { return HandleFrame(f); });
    if (!s.ok()) co_return s;
    if (closed_) co_return absl::CancelledError("session closed");
  }
}

absl::Status Session::HandleFrame(wire::ByteSpan frame) {
  if (frame.empty()) return absl::OkStatus();  // a tick
  if (static_cast<FrameKind>(frame[0]) == FrameKind::kFragment) {
    Fields f(frame.subspan(1));
    uint8_t flags = 0;
    if (!f.Get(&flags) || (flags & ~(kFirstFragment | kLastFragment)) != 0) {
      return ProtocolError("bad fragment flags");
    }
    if ((flags & kFirstFragment) != 0) {
      if (!reassembly_.empty()) return ProtocolError("a new message before the last one ended");
      uint64_t total = 0;
      if (!f.Get(&total)) return ProtocolError("short first fragment");
      if (total > node_->options().max_message_bytes) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "protocol error: a message of ", total, " bytes, over NodeOptions::max_message_bytes (",
            node_->options().max_message_bytes, ")"));
      }
      reassembly_expected_ = total;
      reassembly_.reserve(total);
    } else if (reassembly_.empty()) {
      return ProtocolError("a fragment without a first one");
    }
    if (reassembly_.size() + f.rest().size() > reassembly_expected_) {
      return ProtocolError("fragments longer than announced");
    }
    reassembly_.Append(f.rest());
    if ((flags & kLastFragment) == 0) return absl::OkStatus();
    if (reassembly_.size() != reassembly_expected_) {
      return ProtocolError("fragments shorter than announced");
    }
    if (!reassembly_.empty() &&
        static_cast<FrameKind>(reassembly_.data()[0]) == FrameKind::kFragment) {
      return ProtocolError("a fragment inside a fragment");
    }
    absl::Status s = HandlePayload(reassembly_.view());
    if (reassembly_.capacity() > (size_t{1} << 20)) {
      reassembly_ = wire::ByteBuffer();
    } else {
      reassembly_.clear();
    }
    return s;
  }
  return HandlePayload(frame);
}

absl::Status Session::HandlePayload(wire::ByteSpan payload) {
  Fields f(payload.subspan(1));
  switch (static_cast<FrameKind>(payload[0])) {
    case FrameKind::kSend: {
      uint16_t id = 0;
      uint64_t to_bits = 0;
      if (!f.Get(&id) || !f.Get(&to_bits)) return ProtocolError("short send");
      Pid to = Pid::FromBits(to_bits);
      if (!to.is_local() || to.is_null()) return ProtocolError("send to a PID that is not ours");
      if (id >= in_types_.size()) return ProtocolError("send of an undefined type id");
      const RemoteType* type = in_types_[id];
      if (type == nullptr) {
        ShardStats::Add(stats_->dropped_not_registered, 1);
        return absl::OkStatus();
      }
      return DeliverMessage(*type, f.rest(), to);
    }
    case FrameKind::kSendNamed: {
      std::string_view name, type_name;
      if (!f.Name(&name) || !f.Name(&type_name)) return ProtocolError("short named send");
      const RemoteType* type = FindRemoteType(type_name);
      if (type == nullptr) {
        ShardStats::Add(stats_->dropped_not_registered, 1);
        node_->Log(absl::StrCat("dropped a named send of unregistered type ", AbslView(type_name),
                                " from ", Describe()));
        return absl::OkStatus();
      }
      std::optional<Pid> to = node_->runtime().WhereIs(name);
      if (!to) {
        ShardStats::Add(stats_->dropped_no_connection, 1);
        node_->Log(absl::StrCat("dropped a message from ", Describe(), " to \"", AbslView(name),
                                "\": no actor is registered under that name"));
        return absl::OkStatus();
      }
      return DeliverMessage(*type, f.rest(), *to);
    }
    case FrameKind::kDefineType: {
      uint16_t id = 0;
      std::string_view name;
      if (!f.Get(&id) || !f.Name(&name)) return ProtocolError("short type definition");
      if (id != in_types_.size()) return ProtocolError("type ids out of sequence");
      const RemoteType* type = FindRemoteType(name);
      if (type == nullptr) {
        node_->Log(absl::StrCat(Describe(), " sends messages of type ", AbslView(name),
                                ", which this program has not registered; they are dropped"));
      }
      in_types_.push_back(type);
      return absl::OkStatus();
    }
    case FrameKind::kSignal:
      return DeliverSignal(f.rest());
    case FrameKind::kPeers: {
      uint16_t count = 0;
      if (!f.Get(&count)) return ProtocolError("short peer list");
      std::vector<std::string> names;
      for (uint16_t i = 0; i < count; ++i) {
        std::string_view name;
        if (!f.Name(&name)) return ProtocolError("short peer list");
        if (CheckNodeName(name).ok()) names.emplace_back(name);
      }
      if (node_->options().mesh) node_->LearnPeers(names);
      return absl::OkStatus();
    }
    case FrameKind::kFragment:
      return ProtocolError("a fragment inside a fragment");
  }
  return ProtocolError(absl::StrCat("unknown frame kind ", payload[0]));
}

absl::Status Session::DeliverMessage(const RemoteType& type, wire::ByteSpan term, Pid to) {
  wire::DecodeLimits limits;
  limits.max_input_bytes = node_->options().max_message_bytes;
  limits.max_string_bytes = node_->options().max_message_bytes;
  absl::Status error;
  RemoteEnvelope e = type.decode(term, to, this, limits, &error);
  if (!e) {
    // The framing is intact, so only this message is lost, not the connection.
    ShardStats::Add(stats_->dropped_decode_failed, 1);
    node_->Log(absl::StrCat("dropped a ", type.wire_name, " from ", Describe(),
                            " that did not decode: ", error.ToString()));
    return absl::OkStatus();
  }
  ShardStats::Add(stats_->messages_received, 1);
  remote::Deliver(std::move(e));
  return absl::OkStatus();
}

absl::Status Session::DeliverSignal(wire::ByteSpan body) {
  Fields f(body);
  uint8_t kind_byte = 0, code = 0;
  uint64_t from_bits = 0, to_bits = 0, ref = 0;
  uint32_t length = 0;
  std::string_view message;
  if (!f.Get(&kind_byte) || !f.Get(&from_bits) || !f.Get(&to_bits) || !f.Get(&ref) ||
      !f.Get(&code) || !f.Get(&length) || !f.Bytes(length, &message)) {
    return ProtocolError("short signal");
  }
  if (kind_byte > static_cast<uint8_t>(SignalKind::kDown)) return ProtocolError("unknown signal");
  if (code > static_cast<uint8_t>(absl::StatusCode::kUnauthenticated)) {
    return ProtocolError("unknown status code in a signal");
  }
  Pid from_local = Pid::FromBits(from_bits);
  Pid to = Pid::FromBits(to_bits);
  if (!from_local.is_local() || !to.is_local()) return ProtocolError("signal with a foreign PID");
  Pid from = Pid::FromParts(peer_slot_, from_local.shard(), from_local.serial());
  auto kind = static_cast<SignalKind>(kind_byte);
  absl::Status reason(static_cast<absl::StatusCode>(code), AbslView(message));
  std::pair<uint64_t, uint64_t> link{to.bits(), from.bits()};
  switch (kind) {
    case SignalKind::kLink:
      links_.insert(link);
      break;
    case SignalKind::kUnlink:
    case SignalKind::kLinkExit:
      links_.erase(link);
      break;
    case SignalKind::kMonitor: {
      uint64_t local = remote::NewRef();
      monitor_ref_to_peer_[local] = MonitorIn{ref, to};
      monitor_ref_from_peer_[ref] = local;
      ref = local;
      break;
    }
    case SignalKind::kDemonitor: {
      auto it = monitor_ref_from_peer_.find(ref);
      if (it == monitor_ref_from_peer_.end()) return absl::OkStatus();
      ref = it->second;
      monitor_ref_to_peer_.erase(ref);
      monitor_ref_from_peer_.erase(it);
      break;
    }
    case SignalKind::kDown:
      if (monitors_out_.erase(ref) == 0) return absl::OkStatus();
      break;
    case SignalKind::kExit:
      break;
  }
  remote::Deliver(RemoteEnvelope::Signal(to, kind, from, ref, std::move(reason)));
  return absl::OkStatus();
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
    if (CheckNodeName(v.node).ok() == false) {
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
  bool was_up = up_;
  up_ = false;
  node_->Release(this, reason);
  if (peer_ != nullptr && peer_->local[shard_] == this) peer_->local[shard_] = nullptr;
  if (!was_up) return;
  absl::Status lost = NoConnectionReason();
  for (const auto& [local, remote_pid] : links_) {
    remote::Deliver(RemoteEnvelope::Signal(Pid::FromBits(local), SignalKind::kLinkExit,
                                           Pid::FromBits(remote_pid), 0, lost));
  }
  links_.clear();
  std::vector<std::pair<uint64_t, std::pair<Pid, Pid>>> monitors(monitors_out_.begin(),
                                                                 monitors_out_.end());
  std::sort(monitors.begin(), monitors.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [ref, who] : monitors) {
    remote::Deliver(RemoteEnvelope::Signal(who.first, SignalKind::kDown, who.second, ref, lost));
  }
  monitors_out_.clear();
  // The peer's monitors of local actors die with the connection (its side fired them with
  // noconnection): drop them from their targets now, not when each target ends.
  for (const auto& [local_ref, in] : monitor_ref_to_peer_) {
    remote::Deliver(RemoteEnvelope::Signal(in.target, SignalKind::kDemonitor, Pid(), local_ref,
                                           absl::OkStatus()));
  }
  monitor_ref_to_peer_.clear();
  monitor_ref_from_peer_.clear();
}

// --- The actors ---

namespace {

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
  absl::Status status;
  if (dial.has_value()) {
    absl::StatusOr<net::TcpStream> tcp =
        co_await net::TcpStream::Connect(*dial, node->options().handshake_timeout);
    if (tcp.ok()) {
      session->channel() = Channel(std::move(*tcp));
      status = co_await session->HandshakeAsClient();
    } else {
      status = tcp.status();
    }
  } else {
    status = co_await session->HandshakeAsServer();
    node->EndHandshake();
  }
  if (!status.ok()) {
    guard.reason = status;
    if (absl::IsAborted(status)) {
      // Both nodes dialled at once and the other connection is the one kept: not a failure.
      // Stay until that one is up, so callers of Connect hear its outcome, not this one's.
      for (int i = 0; i < 500 && !node->LiveElsewhere(session.get()); ++i) {
        co_await Sleep(absl::Milliseconds(10));
      }
      co_return absl::OkStatus();
    }
    ShardStats::Add(node->stats(self.shard()).handshakes_failed, 1);
    node->Log(absl::StrCat(dial.has_value() ? "connect to " : "handshake with ",
                           session->peer() != nullptr ? session->peer()->name : "a new peer",
                           " failed: ", status.ToString()));
    co_return absl::OkStatus();
  }
  self.SpawnLink(SessionWriter, session);
  status = co_await session->ReadLoop();
  guard.reason = status;
  // Abnormal: the link takes the writer down with the reader.
  co_return status.ok() ? absl::UnavailableError("session ended") : status;
}

Task<absl::Status> SessionWriter(Self self, std::shared_ptr<Session> session) {
  co_return co_await session->WriteLoop(self);
}

}  // namespace snow::dist_internal
