// The handshake conversation of a Session (PROTOCOL.md §3): TLS, then HELLO, CHALLENGE, PROOF
// and ACCEPT (or REJECT), each side checking what it must before it says more. The messages
// themselves are dist/internal/handshake.h.
#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "snow/core/status.h"
#include "snow/dist/internal/handshake.h"
#include "snow/dist/internal/session.h"
#include "snow/net/crypto.h"
#include "snow/wire/frame.h"

namespace snow::dist_internal {
namespace {

// HELLO and CHALLENGE introduce their sender the same way: its creation, its name and a fresh
// nonce, which the proofs later cover.
template <typename Introduction>
absl::Status Introduce(const Node& node, ShardId shard, Introduction& introduction) {
  introduction.creation = node.creation();
  introduction.name = node.name();
  introduction.lanes = node.lanes();
  introduction.lane = shard < node.lanes() ? static_cast<uint16_t>(shard) : kNoLane;
  return net::RandomBytes(introduction.nonce);
}

}  // namespace

Task<absl::Status> Session::WriteHandshakeFrame(std::string payload) {
  wire::ByteBuffer frame;
  const size_t start = wire::BeginFrame(frame);
  frame.Append(payload);
  SNOW_CO_RETURN_IF_ERROR(wire::EndFrame(frame, start, kMaxHandshakeFrame));
  co_return co_await stream_.WriteAll(frame.chars(), node_->options().handshake_timeout);
}

Task<absl::StatusOr<std::string>> Session::ReadHandshakeFrame(int64_t deadline_ns) {
  auto remaining = [&] {
    return absl::Nanoseconds(std::max<int64_t>(deadline_ns - remote::NowNanos(), 1));
  };
  char header[wire::kFrameHeaderBytes];
  absl::Status s = co_await stream_.ReadExactly(header, remaining());
  if (!s.ok()) co_return s;
  const uint32_t n = wire::FrameLength(header);
  if (n == 0 || n > kMaxHandshakeFrame) {
    co_return absl::InvalidArgumentError(
        absl::StrCat("handshake frame of ", n, " bytes (the limit is ", kMaxHandshakeFrame, ")"));
  }
  std::string payload(n, '\0');
  s = co_await stream_.ReadExactly(std::span<char>(payload.data(), n), remaining());
  if (!s.ok()) co_return s;
  co_return payload;
}

Task<absl::Status> Session::Refuse(RejectCode code, absl::Status why, std::string told) {
  Reject reject{code, told.empty() ? std::string(why.message()) : std::move(told)};
  // Best effort: the connection closes either way.
  (void)co_await WriteHandshakeFrame(EncodeReject(reject));
  co_return why;
}

Task<absl::Status> Session::SecureStream(bool client) {
  if (!node_->options().tls) co_return absl::OkStatus();  // no channel to bind to: E is empty
  net::TlsContext context = client ? node_->client_tls() : node_->server_tls();
  SNOW_CO_RETURN_IF_ERROR(co_await stream_.StartTls(std::move(context)));
  SNOW_CO_ASSIGN_OR_RETURN(exporter_, stream_.ExportKeyingMaterial(kExporterLabel, "", 32));
  co_return absl::OkStatus();
}

absl::Status Session::CheckCertificateNames(const std::string& name) const {
  if (!node_->options().name_in_certificate) return absl::OkStatus();
  const std::string wanted = dist::CertificateName(name);
  const std::vector<std::string>& names = stream_.peer_alternative_names();
  if (std::find(names.begin(), names.end(), wanted) != names.end()) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat("the peer's certificate does not name ", wanted,
                   names.empty() ? " (it names nothing)"
                                 : absl::StrCat(" (it names ", absl::StrJoin(names, ", "), ")")));
}

Task<absl::Status> Session::HandshakeAsClient() {
  const int64_t deadline =
      remote::NowNanos() + absl::ToInt64Nanoseconds(node_->options().handshake_timeout);
  SNOW_CO_RETURN_IF_ERROR(co_await SecureStream(/*client=*/true));

  dialed_ = true;
  Hello hello;
  SNOW_CO_RETURN_IF_ERROR(Introduce(*node_, shard_, hello));
  first_lane_ = hello.lane;
  const std::string hello_payload = EncodeHello(hello);
  SNOW_CO_RETURN_IF_ERROR(co_await WriteHandshakeFrame(hello_payload));

  absl::StatusOr<std::string> challenge_payload = co_await ReadHandshakeFrame(deadline);
  if (!challenge_payload.ok()) co_return challenge_payload.status();
  SNOW_CO_ASSIGN_OR_RETURN(HandshakeKind kind, KindOf(*challenge_payload));
  if (kind == HandshakeKind::kReject) {
    SNOW_CO_ASSIGN_OR_RETURN(Reject reject, ParseReject(*challenge_payload));
    co_return RejectStatus(reject);
  }
  if (kind != HandshakeKind::kChallenge) co_return ProtocolError("expected a challenge");
  SNOW_CO_ASSIGN_OR_RETURN(Challenge challenge, ParseChallenge(*challenge_payload));
  if (challenge.version != kProtocolVersion) {
    co_return co_await Refuse(RejectCode::kVersion,
                              absl::FailedPreconditionError(absl::StrCat(
                                  "the peer chose protocol version ", challenge.version)),
                              "unsupported protocol version");
  }
  if (challenge.name != peer_->name) {
    co_return co_await Refuse(RejectCode::kName,
                              absl::FailedPreconditionError(absl::StrCat(
                                  "dialed ", peer_->name, " but reached ", challenge.name)));
  }
  if (absl::Status s = CheckCertificateNames(peer_->name); !s.ok()) {
    co_return co_await Refuse(RejectCode::kName, s, "the certificate does not name you");
  }
  const net::Sha256Digest proof =
      Proof(node_->cookie(), "client", exporter_, hello_payload, *challenge_payload);
  std::string proof_payload = EncodeMac(HandshakeKind::kProof, proof);
  SNOW_CO_RETURN_IF_ERROR(co_await WriteHandshakeFrame(std::move(proof_payload)));

  absl::StatusOr<std::string> answer = co_await ReadHandshakeFrame(deadline);
  if (!answer.ok()) co_return answer.status();
  SNOW_CO_ASSIGN_OR_RETURN(kind, KindOf(*answer));
  if (kind == HandshakeKind::kReject) {
    SNOW_CO_ASSIGN_OR_RETURN(Reject reject, ParseReject(*answer));
    co_return RejectStatus(reject);
  }
  SNOW_CO_ASSIGN_OR_RETURN(net::Sha256Digest server_proof,
                           ParseMac(*answer, HandshakeKind::kAccept));
  const net::Sha256Digest expected =
      Proof(node_->cookie(), "server", exporter_, hello_payload, *challenge_payload);
  if (!net::ConstantTimeEqual(expected, server_proof)) {
    co_return co_await Refuse(
        RejectCode::kCookie,
        absl::UnauthenticatedError(
            "the peer did not prove the cookie (a different cookie, or a relay in between)"),
        "the server did not prove the cookie");
  }
  SNOW_CO_RETURN_IF_ERROR(LearnLanes(challenge.lanes, challenge.lane));
  lane_key_ = LaneKey(node_->cookie(), exporter_, hello_payload, *challenge_payload);
  peer_creation_ = challenge.creation;
  LearnCapabilities(challenge.capabilities);
  SNOW_CO_RETURN_IF_ERROR(node_->Publish(this));
  BecomeUp();
  node_->SettleHeld(peer());
  if ((challenge.capabilities & kCapHangupWatch) != 0) node_->DialWatch(peer_, generation_);
  co_return absl::OkStatus();
}

Task<absl::Status> Session::HandshakeAsServer(Self self) {
  const int64_t deadline =
      remote::NowNanos() + absl::ToInt64Nanoseconds(node_->options().handshake_timeout);
  // A connection that sends nothing gives its slot back soon (a TLS client hello or a HELLO
  // frame comes one round trip after the connect).
  SNOW_CO_RETURN_IF_ERROR(co_await stream_.WaitReadable(node_->options().first_bytes_timeout));
  SNOW_CO_RETURN_IF_ERROR(co_await SecureStream(/*client=*/false));

  absl::StatusOr<std::string> hello_payload = co_await ReadHandshakeFrame(deadline);
  if (!hello_payload.ok()) co_return hello_payload.status();
  absl::StatusOr<HandshakeKind> kind = KindOf(*hello_payload);
  if (kind.ok() && *kind == HandshakeKind::kJoin) {
    co_return co_await JoinAsServer(std::move(*hello_payload));
  }
  absl::StatusOr<Hello> hello = kind.ok() && *kind == HandshakeKind::kHello
                                    ? ParseHello(*hello_payload)
                                    : absl::StatusOr<Hello>(ProtocolError("expected a hello"));
  if (!hello.ok()) co_return co_await Refuse(RejectCode::kMalformed, hello.status());
  if (hello->min_version > kProtocolVersion || hello->max_version < kProtocolVersion) {
    co_return co_await Refuse(
        RejectCode::kVersion,
        absl::FailedPreconditionError(absl::StrCat("no common protocol version: the peer speaks ",
                                                   hello->min_version, "-", hello->max_version,
                                                   ", this node ", kProtocolVersion)));
  }
  if (absl::Status s = CheckNodeName(hello->name); !s.ok()) {
    co_return co_await Refuse(RejectCode::kMalformed, s);
  }
  if (hello->name == node_->name()) {
    co_return co_await Refuse(
        RejectCode::kName, absl::FailedPreconditionError(absl::StrCat("name clash: ", hello->name,
                                                                      " is this node's own name")));
  }
  if (absl::Status s = CheckCertificateNames(hello->name); !s.ok()) {
    co_return co_await Refuse(RejectCode::kName, s, "the certificate does not name you");
  }
  absl::StatusOr<Peer*> peer = node_->PeerFor(hello->name);
  if (!peer.ok()) co_return co_await Refuse(RejectCode::kMalformed, peer.status());
  if (absl::Status s = LearnLanes(hello->lanes, hello->lane); !s.ok()) {
    co_return co_await Refuse(RejectCode::kMalformed, s);
  }
  peer_ = *peer;

  Challenge challenge;
  SNOW_CO_RETURN_IF_ERROR(Introduce(*node_, shard_, challenge));
  first_lane_ = challenge.lane;
  const std::string challenge_payload = EncodeChallenge(challenge);
  SNOW_CO_RETURN_IF_ERROR(co_await WriteHandshakeFrame(challenge_payload));

  absl::StatusOr<std::string> proof_payload = co_await ReadHandshakeFrame(deadline);
  if (!proof_payload.ok()) co_return proof_payload.status();
  absl::StatusOr<net::Sha256Digest> proof = ParseMac(*proof_payload, HandshakeKind::kProof);
  if (!proof.ok()) {
    if (KindOf(*proof_payload).value_or(HandshakeKind::kHello) == HandshakeKind::kReject) {
      absl::StatusOr<Reject> reject = ParseReject(*proof_payload);
      co_return reject.ok() ? RejectStatus(*reject) : reject.status();
    }
    co_return co_await Refuse(RejectCode::kMalformed, proof.status());
  }
  const net::Sha256Digest expected =
      Proof(node_->cookie(), "client", exporter_, *hello_payload, challenge_payload);
  if (!net::ConstantTimeEqual(expected, *proof)) {
    co_return co_await Refuse(
        RejectCode::kCookie,
        absl::UnauthenticatedError(
            "the peer did not prove the cookie (a different cookie, or a relay in between)"),
        "wrong cookie");
  }
  peer_creation_ = hello->creation;
  LearnCapabilities(hello->capabilities);
  absl::Status claimed = node_->Claim(this);
  if (absl::IsAlreadyExists(claimed)) {
    // The incarnation that dials us is connected here already: it dials because it has dropped
    // that connection (a Disconnect, say), which this side has not read yet. Wait for the old
    // connection to go, within this handshake's time, and claim again (Erlang's "alive").
    Ref ref = self.MakeRef();
    const uint64_t bits = ref.bits();
    if (node_->AwaitPeerDown(this, self.pid(), bits)) {
      auto is_ours = [bits](const ConnectResult& r) { return r.ref == bits; };
      const absl::Duration left = absl::Nanoseconds(deadline - remote::NowNanos());
      (void)co_await self.ReceiveReply<ConnectResult>(ref, is_ours, left);
    }
    claimed = node_->Claim(this);
  }
  if (!claimed.ok()) {
    co_return co_await Refuse(
        absl::IsAborted(claimed) ? RejectCode::kSimultaneous : RejectCode::kName, claimed);
  }
  lane_key_ = LaneKey(node_->cookie(), exporter_, *hello_payload, challenge_payload);
  // Up before ACCEPT leaves, with no suspension between Publish and BecomeUp: whoever hears
  // NodeUp can send at once (it queues behind ACCEPT), and the peer's JOINs, which may come as
  // soon as it reads ACCEPT, find the connection up.
  SNOW_CO_RETURN_IF_ERROR(node_->Publish(this));
  BecomeUp();
  node_->SettleHeld(peer_);
  const net::Sha256Digest server_proof =
      Proof(node_->cookie(), "server", exporter_, *hello_payload, challenge_payload);
  std::string accept_payload = EncodeMac(HandshakeKind::kAccept, server_proof);
  co_return co_await WriteHandshakeFrame(std::move(accept_payload));
}

Task<absl::Status> Session::JoinAsClient() {
  const int64_t deadline =
      remote::NowNanos() + absl::ToInt64Nanoseconds(node_->options().handshake_timeout);
  SNOW_CO_RETURN_IF_ERROR(co_await SecureStream(/*client=*/true));
  Join join;
  join.creation = node_->creation();
  join.peer_creation = peer_creation_;
  join.from_lane = lane_;
  join.to_lane = peer_lane_;
  join.name = node_->name();
  SNOW_CO_RETURN_IF_ERROR(net::RandomBytes(join.nonce));
  std::string fields = EncodeJoin(join, {});
  fields.resize(fields.size() - kMacBytes);
  const net::Sha256Digest proof = JoinProof(lane_key_, "client", exporter_, fields);
  SNOW_CO_RETURN_IF_ERROR(co_await WriteHandshakeFrame(EncodeJoin(join, proof)));

  absl::StatusOr<std::string> answer = co_await ReadHandshakeFrame(deadline);
  if (!answer.ok()) co_return answer.status();
  SNOW_CO_ASSIGN_OR_RETURN(HandshakeKind kind, KindOf(*answer));
  if (kind == HandshakeKind::kReject) {
    SNOW_CO_ASSIGN_OR_RETURN(Reject reject, ParseReject(*answer));
    co_return RejectStatus(reject);
  }
  SNOW_CO_ASSIGN_OR_RETURN(net::Sha256Digest server_proof,
                           ParseMac(*answer, HandshakeKind::kJoined));
  if (!net::ConstantTimeEqual(JoinProof(lane_key_, "server", exporter_, fields), server_proof)) {
    co_return absl::UnauthenticatedError("the peer did not prove the lane key");
  }
  up_ = true;
  co_return absl::OkStatus();
}

Task<absl::Status> Session::JoinAsServer(std::string payload) {
  net::Sha256Digest proof;
  std::string_view fields;
  absl::StatusOr<Join> join = ParseJoin(payload, &proof, &fields);
  if (!join.ok()) co_return co_await Refuse(RejectCode::kMalformed, join.status());
  // The JOIN names this node's lane as its `to_lane`, the sender's as `from_lane`.
  absl::StatusOr<LaneTicket> ticket = node_->LaneTicketFor(
      join->name, join->creation, join->peer_creation, join->to_lane, join->from_lane);
  if (!ticket.ok()) co_return co_await Refuse(RejectCode::kNoSession, ticket.status());
  if (!net::ConstantTimeEqual(JoinProof(ticket->lane_key, "client", exporter_, fields), proof)) {
    co_return co_await Refuse(RejectCode::kCookie,
                              absl::UnauthenticatedError("a JOIN did not prove the lane key"),
                              "wrong lane key");
  }
  if (absl::Status taken = node_->TakeLane(*ticket, join->to_lane, join->from_lane); !taken.ok()) {
    co_return co_await Refuse(RejectCode::kNoSession, taken);
  }
  SNOW_CO_RETURN_IF_ERROR(co_await WriteHandshakeFrame(
      EncodeMac(HandshakeKind::kJoined, JoinProof(ticket->lane_key, "server", exporter_, fields))));
  handed_over_ = true;
  if (join->to_lane == kWatchLane) {
    (void)node_->Watch(ticket->peer, ticket->generation, stream_.TakeSocket());
    co_return absl::OkStatus();
  }
  auto lane = std::make_shared<Session>(node_, static_cast<ShardId>(join->to_lane), nullptr);
  lane->MakeLane(*ticket, join->to_lane, join->from_lane);
  lane->up_ = true;
  lane->stream_ = std::move(stream_);
  StartLane(node_, std::move(lane), std::nullopt);
  co_return absl::OkStatus();
}

}  // namespace snow::dist_internal
