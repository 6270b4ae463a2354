// Fuzzes what a peer's bytes reach after the handshake: dist/'s session frames (every kind:
// sends, named sends, type definitions, signals, peer lists, fragments, lanes) as a real node
// reads them. A node runs in this process (one shard, plain TCP); each input is sent to it by a
// peer that completed the handshake by hand, over a real loopback connection, and is then
// followed by a call by name that the node's name service always answers (a noproc Down), so
// that the next input starts only once the node has read this one. The node must neither crash
// nor stop answering; a connection it closes (a protocol error) is opened again.
//
// Input: a sequence of payloads, each a little-endian u16 length and that many bytes; the
// harness frames each one (the framing itself has its own target, frame_decode).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <string_view>

#include "snow/core/snow.h"
#include "snow/dist/internal/fields.h"
#include "snow/dist/internal/handshake.h"
#include "snow/dist/internal/name_service.h"
#include "snow/dist/internal/protocol.h"
#include "snow/dist/node.h"
#include "snow/wire/codec.h"

namespace {

using namespace snow;  // NOLINT

constexpr std::string_view kCookie = "fuzz";
constexpr std::string_view kPeer = "peer@127.0.0.1:1";
constexpr uint32_t kPeerCreation = 7;

void Require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "fuzz_dist_session: %s\n", what);
    std::abort();
  }
}

// The node under test: started once, on a runtime of its own that nothing stops.
Task<absl::Status> StartNode(Self self, std::reference_wrapper<std::promise<std::string>> ready) {
  dist::NodeOptions options;
  options.name = "fuzz@127.0.0.1:0";
  options.cookie = std::string(kCookie);
  options.tls = false;
  options.mesh = false;
  options.auto_connect = false;  // a PID of the peer must not make the node dial 127.0.0.1:1
  absl::Status started = dist::Start(self, options);
  ready.get().set_value(started.ok() ? dist::SelfNode(self) : "");
  co_return absl::OkStatus();
}

uint16_t StartedNodePort() {
  static std::unique_ptr<Runtime> runtime;
  static uint16_t port = 0;
  if (runtime != nullptr) return port;
  RuntimeOptions options;
  options.shards = 1;
  options.pin_threads = false;
  absl::StatusOr<std::unique_ptr<Runtime>> created = Runtime::Create(options);
  Require(created.ok(), "no runtime");
  runtime = std::move(*created);
  std::promise<std::string> ready;
  std::future<std::string> name = ready.get_future();
  runtime->Spawn(SpawnOptions{}, StartNode, std::ref(ready));
  const std::string node = name.get();
  Require(!node.empty(), "the node did not start");
  port = static_cast<uint16_t>(std::stoi(node.substr(node.rfind(':') + 1)));
  return port;
}

std::string Frame(std::string_view payload) {
  uint32_t n = htonl(static_cast<uint32_t>(payload.size()));
  std::string frame(reinterpret_cast<const char*>(&n), 4);
  frame.append(payload);
  return frame;
}

bool SendAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;  // libFuzzer's timeout alarm
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

enum class Read { kFrame, kClosed, kSilent };

// One frame's payload; kClosed at the end of the stream or an error, kSilent after 10 s of
// nothing (the receive timeout set at connect).
Read ReadFrame(int fd, std::string* payload) {
  Read outcome = Read::kFrame;
  auto read_exactly = [fd, &outcome](char* data, size_t size) {
    while (size > 0) {
      ssize_t n = recv(fd, data, size, 0);
      if (n < 0 && errno == EINTR) continue;  // libFuzzer's timeout alarm
      if (n <= 0) {
        outcome =
            n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? Read::kSilent : Read::kClosed;
        return false;
      }
      data += n;
      size -= static_cast<size_t>(n);
    }
    return true;
  };
  uint32_t n = 0;
  if (!read_exactly(reinterpret_cast<char*>(&n), 4)) return outcome;
  n = ntohl(n);
  if (n > (1u << 24)) return Read::kClosed;
  payload->assign(n, '\0');
  if (n > 0 && !read_exactly(payload->data(), n)) return outcome;
  return Read::kFrame;
}

// A peer of the node that knows the cookie: the handshake by hand (no TLS: the exporter is
// empty). The socket, or -1.
int Connect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval wait{.tv_sec = 10, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  dist_internal::Hello hello;
  hello.creation = kPeerCreation;
  hello.nonce.fill(3);
  hello.name = std::string(kPeer);
  const std::string hello_payload = dist_internal::EncodeHello(hello);
  std::string challenge, accept;
  int connected = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  if (connected != 0 && errno == EINTR) {  // libFuzzer's timeout alarm: wait for the connect
    pollfd p{.fd = fd, .events = POLLOUT, .revents = 0};
    int error = 0;
    socklen_t length = sizeof(error);
    while (poll(&p, 1, -1) < 0 && errno == EINTR) {
    }
    connected = getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0 ? 0 : -1;
  }
  bool ok = connected == 0 && SendAll(fd, Frame(hello_payload)) &&
            ReadFrame(fd, &challenge) == Read::kFrame &&
            dist_internal::ParseChallenge(challenge).ok();
  if (ok) {
    const net::Sha256Digest proof =
        dist_internal::Proof(kCookie, "client", "", hello_payload, challenge);
    ok =
        SendAll(fd, Frame(dist_internal::EncodeMac(dist_internal::HandshakeKind::kProof, proof))) &&
        ReadFrame(fd, &accept) == Read::kFrame &&
        dist_internal::ParseMac(accept, dist_internal::HandshakeKind::kAccept).ok();
  }
  if (!ok) {
    absl::StatusOr<dist_internal::Reject> reject =
        dist_internal::ParseReject(accept.empty() ? challenge : accept);
    std::fprintf(stderr, "fuzz_dist_session: connect failed: %s\n",
                 reject.ok() ? reject->reason.c_str() : "(no reject)");
    close(fd);
    return -1;
  }
  return fd;
}

// NamedCall as the name service reads it, with the caller's PID written out.
struct SyncCall {
  std::string name;
  std::string type;
  wire::Pid from;
  uint64_t ref = 0;
  wire::Binary request = {};
  static constexpr wire::Struct kWire{"snow.NamedCall", "name", "type", "from", "ref", "request"};
};

// DEFINE_TYPE of snow.NamedCall as type `id`, then a call by name for a name nobody holds, to the
// name service: it answers with a noproc Down to the peer.
std::string SyncFrames(uint16_t id) {
  wire::ByteBuffer define;
  dist_internal::FieldWriter d(define);
  d.U8(static_cast<uint8_t>(dist_internal::FrameKind::kDefineType));
  d.Int(id);
  d.Name("snow.NamedCall");
  wire::ByteBuffer send;
  dist_internal::FieldWriter s(send);
  s.U8(static_cast<uint8_t>(dist_internal::FrameKind::kSend));
  s.Int(id);
  s.Int(Pid::FromParts(0, 0, dist_internal::kNameServiceSerial).bits());
  SyncCall call{
      .name = "(fuzz sync)",
      .type = "i64",
      .from = {.node = std::string(kPeer), .creation = kPeerCreation, .shard = 0, .serial = 1},
      .ref = 42};
  Require(wire::Encode(call, send).ok(), "encode");
  return Frame(define.chars()) + Frame(send.chars());
}

int connection = -1;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const uint16_t port = StartedNodePort();
  if (connection < 0) {
    // The node may not have read the end of the last connection yet: it waits for it.
    connection = Connect(port);
    Require(connection >= 0, "the node does not accept a connection");
  }
  // The input's payloads, framed; and the type ids they define in order, which the sync goes on.
  std::string stream;
  uint16_t next_type = 0;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  while (in.size() >= 2) {
    const size_t n =
        std::min<size_t>(in.size() - 2, uint16_t(uint8_t(in[0]) | uint8_t(in[1]) << 8));
    std::string_view payload = in.substr(2, n);
    in.remove_prefix(2 + n);
    if (payload.size() >= 3 &&
        payload[0] == static_cast<char>(dist_internal::FrameKind::kDefineType) &&
        static_cast<uint16_t>(uint8_t(payload[1]) | uint8_t(payload[2]) << 8) == next_type) {
      ++next_type;
    }
    stream += Frame(payload);
  }
  stream += SyncFrames(next_type);
  bool open = SendAll(connection, stream);
  // Until the name service's Down (a SIGNAL frame) comes back, or the node closes the
  // connection (bad input); never silence.
  std::string payload;
  while (open) {
    const Read read = ReadFrame(connection, &payload);
    Require(read != Read::kSilent, "the node stopped answering");
    if (read == Read::kClosed) {
      open = false;
    } else if (!payload.empty() &&
               payload[0] == static_cast<char>(dist_internal::FrameKind::kSignal)) {
      break;
    }
  }
  if (!open) {
    close(connection);
    connection = -1;
  }
  return 0;
}
