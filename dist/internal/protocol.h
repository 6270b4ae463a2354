// File: dist/internal/protocol.h
//
// Every constant of the distribution protocol (dist/PROTOCOL.md) in one place: versions, message
// and frame kinds, limits, and the explicit mappings of anything whose in-process value must not
// leak onto the wire (signal kinds, status codes). Codes are the protocol's; changing one is a
// new protocol version.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "snow/core/signal_kind.h"
#include "snow/core/status.h"

namespace snow::dist_internal {

// A peer broke a rule of the protocol: the connection ends with this status.
inline absl::Status ProtocolError(std::string_view what) {
  return absl::DataLossError(absl::StrCat("protocol error: ", AbslView(what)));
}

// --- Handshake (PROTOCOL.md §3) ---
inline constexpr uint16_t kProtocolVersion = 2;
inline constexpr std::string_view kMagic = "SNOWDIST";
inline constexpr size_t kNonceBytes = 32;
inline constexpr size_t kMacBytes = 32;
inline constexpr size_t kMaxHandshakeFrame = 1024;
inline constexpr size_t kMaxRejectReason = 512;
inline constexpr std::string_view kExporterLabel = "EXPORTER-snow-dist-2";
// Capability bits: what a node speaks beyond version 2's core (the field lets later versions
// negotiate).
inline constexpr uint64_t kCapFragments = 1;
// The node takes a hangup watch (§7): a JOIN for the pair (kWatchLane, kWatchLane).
inline constexpr uint64_t kCapHangupWatch = 2;
// The node acknowledges the fragments it reads (BULK_READ) and paces its own by the peer's (§5).
inline constexpr uint64_t kCapBulkWindow = 4;
// The node reads DEFINE_SHAPE and SEND_SHAPED (§4): a type's struct header sent once per
// connection instead of in every message.
inline constexpr uint64_t kCapDefinedShapes = 8;
inline constexpr uint64_t kCapabilities =
    kCapFragments | kCapHangupWatch | kCapBulkWindow | kCapDefinedShapes;

enum class HandshakeKind : uint8_t {
  kHello = 1,      // client -> server
  kChallenge = 2,  // server -> client
  kProof = 3,      // client -> server
  kAccept = 4,     // server -> client
  kReject = 5,     // either way, then close
  kJoin = 6,       // client -> server: this connection is a lane of a connected peer
  kJoined = 7,     // server -> client: the lane is accepted
};

enum class RejectCode : uint8_t {
  kVersion = 1,       // no common protocol version
  kCookie = 2,        // a proof did not verify
  kName = 3,          // name clash, already connected, or not the node that was dialed
  kBusy = 4,          // too many handshakes in progress
  kMalformed = 5,     // a message did not parse
  kSimultaneous = 6,  // both nodes connected at once; the other connection is kept
  kNoSession = 7,     // a JOIN for a connection that is not (or no longer) up
};

// --- Lanes (PROTOCOL.md §11) ---
// A node takes part in min(shards, kMaxLanes) lanes; the lanes of a connected pair of nodes are
// every pair of them. kNoLane: the first connection's end is on no lane (a shard past the cap).
inline constexpr uint16_t kMaxLanes = 4;
inline constexpr uint16_t kNoLane = 0xFFFF;

// --- Hangup watch (PROTOCOL.md §7) ---
// The JOIN pair that makes a connection a peer's hangup watch: it carries nothing after JOINED,
// and each side only watches it for the other's end.
inline constexpr uint16_t kWatchLane = 0xFFFE;
// What a node writes on a watch before it closes it on purpose. A watch that ends without it
// means the peer's process ended.
inline constexpr char kWatchFarewell = 'F';

// --- Frames after the handshake (PROTOCOL.md §4) ---
enum class FrameKind : uint8_t {
  kSend = 1,          // type id u16, to u64, term
  kSendNamed = 2,     // name, type name, term
  kDefineType = 3,    // type id u16, type name
  kSignal = 4,        // link / monitor / exit signal
  kPeers = 5,         // names of the nodes the sender is connected to
  kFragment = 6,      // a piece of one large frame
  kLanesUp = 7,       // lane u16: the sender's lane now carries that lane's traffic
  kLanesWanted = 8,   // lane u16, server -> client: dial every lane pair with that server lane
  kBulkRead = 9,      // bytes u32: fragment bytes the sender of this frame has read (§5)
  kDefineShape = 10,  // type id u16, the type's struct header (STF): shape 0 of its SEND_SHAPEDs
  kSendShaped = 11,   // type id u16, to u64, term written with the type's defined shape
};

// FRAGMENT flags.
inline constexpr uint8_t kLastFragment = 1;
inline constexpr uint8_t kFirstFragment = 2;

inline constexpr size_t kBulkThreshold = 64 * 1024;  // larger payloads are fragmented
inline constexpr size_t kFragmentBytes = 256 * 1024;
inline constexpr uint32_t kMaxWireFrame = kFragmentBytes + 64 * 1024;
// A signal's reason text is cut to this many bytes.
inline constexpr size_t kMaxSignalReason = 4096;
// Message types one connection may define (type ids are u16).
inline constexpr size_t kMaxTypesPerConnection = 65535;
// DEFINE_SHAPE (§4): the largest header one defines (a type with a larger one is sent in full
// every time), and the most header bytes one connection may define in all.
inline constexpr size_t kMaxShapeBytes = 16 * 1024;
inline constexpr size_t kMaxShapeBytesPerConnection = size_t{4} << 20;

// Signal kinds on the wire (SIGNAL's first byte).
enum class WireSignal : uint8_t {
  kLink = 0,
  kUnlink = 1,
  kLinkExit = 2,
  kExit = 3,
  kMonitor = 4,
  kDemonitor = 5,
  kDown = 6,
};

constexpr WireSignal ToWire(SignalKind kind) {
  switch (kind) {
    case SignalKind::kLink:
      return WireSignal::kLink;
    case SignalKind::kUnlink:
      return WireSignal::kUnlink;
    case SignalKind::kLinkExit:
      return WireSignal::kLinkExit;
    case SignalKind::kExit:
      return WireSignal::kExit;
    case SignalKind::kMonitor:
      return WireSignal::kMonitor;
    case SignalKind::kDemonitor:
      return WireSignal::kDemonitor;
    case SignalKind::kDown:
      return WireSignal::kDown;
  }
  return WireSignal::kExit;  // unreachable: every kind is listed
}

constexpr std::optional<SignalKind> SignalKindFromWire(uint8_t code) {
  switch (static_cast<WireSignal>(code)) {
    case WireSignal::kLink:
      return SignalKind::kLink;
    case WireSignal::kUnlink:
      return SignalKind::kUnlink;
    case WireSignal::kLinkExit:
      return SignalKind::kLinkExit;
    case WireSignal::kExit:
      return SignalKind::kExit;
    case WireSignal::kMonitor:
      return SignalKind::kMonitor;
    case WireSignal::kDemonitor:
      return SignalKind::kDemonitor;
    case WireSignal::kDown:
      return SignalKind::kDown;
  }
  return std::nullopt;
}

// A signal's reason travels as its canonical status code (the google.rpc.Code numbers 0-16, which
// absl::StatusCode also uses) and its message.
inline constexpr uint8_t kMaxWireStatusCode = 16;

constexpr uint8_t ToWire(absl::StatusCode code) {
  const int value = static_cast<int>(code);
  // A code outside the canonical set (none exists today) travels as UNKNOWN.
  return value >= 0 && value <= kMaxWireStatusCode ? static_cast<uint8_t>(value) : 2;
}

constexpr std::optional<absl::StatusCode> StatusCodeFromWire(uint8_t code) {
  if (code > kMaxWireStatusCode) return std::nullopt;
  return static_cast<absl::StatusCode>(code);
}

}  // namespace snow::dist_internal
