// File: dist/internal/incoming.h
//
// Incoming: the reading side of one connection after the handshake (PROTOCOL.md §4): frames in,
// fragments reassembled, messages decoded straight into the envelopes their receivers get,
// signals checked and delivered, peer lists passed on. Touched only on the connection's shard.
//
// A frame that breaks the protocol ends the connection (the status says which rule); a message
// that fails to decode is dropped and counted, since the framing is intact.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "snow/core/pid.h"
#include "snow/core/task.h"
#include "snow/dist/message.h"
#include "snow/net/stream.h"
#include "snow/wire/byte_buffer.h"
#include "snow/wire/frame.h"

namespace snow::dist_internal {

class FieldReader;
class Session;

class Incoming {
 public:
  explicit Incoming(Session* session);
  Incoming(const Incoming&) = delete;
  Incoming& operator=(const Incoming&) = delete;

  // Reads frames from `stream` until it fails, the peer is silent for `tick` (the heartbeat), or
  // the session closes; returns why. While the session is not readable (a lane before the
  // peer's LANES_UP) what arrives is held, unparsed, so that a lost connection is still noticed;
  // past kMaxHeldBytes reading pauses until it is readable.
  Task<absl::Status> ReadLoop(net::Stream& stream, absl::Duration tick);
  // The session became readable: handles what was held. An error ends the connection.
  absl::Status Release();
  // One frame's payload (no header), as the stream delivered it.
  absl::Status HandleFrame(wire::ByteSpan frame);

 private:
  absl::Status HandlePayload(wire::ByteSpan payload);
  absl::Status HandleFragment(wire::ByteSpan body);
  absl::Status DeliverSignal(wire::ByteSpan body);
  // Decodes a message for local actor `to` and delivers it; one that does not decode is dropped
  // and counted.
  // `term_at`: where the term starts in the frame's payload.
  absl::Status DeliverMessage(const RemoteType& type, wire::ByteSpan term, Pid to, size_t term_at,
                              wire::DefinedShape* shape = nullptr);
  // SEND or SEND_SHAPED.
  absl::Status HandleSend(FieldReader& f, size_t payload_size, bool shaped);
  absl::Status DefineShape(FieldReader& f);
  // What a message from the peer is decoded within: NodeOptions::max_message_bytes. Made once:
  // built afresh for every message, its copy into the reader stalled on the stores just made.
  const wire::DecodeLimits& Limits();
  // A call by name arrived (named_call.h): monitors and delivers it.
  absl::Status DeliverNamedCall(RemoteEnvelope e);
  // A remote spawn arrived (name_service.h): starts the child, or replies why not.
  absl::Status DeliverSpawn(RemoteEnvelope e);

  Session* session_;
  wire::FrameDecoder frames_;
  wire::ByteBuffer held_;
  std::vector<const RemoteType*> types_;  // by the peer's type id; nullptr: not registered here
  // By the peer's type id: the shape its SEND_SHAPEDs are written with (DEFINE_SHAPE), if any.
  std::vector<std::unique_ptr<wire::DefinedShape>> shapes_;
  size_t shape_bytes_ = 0;     // their headers' bytes, within kMaxShapeBytesPerConnection
  wire::DecodeLimits limits_;  // Limits()
  bool limits_made_ = false;
  // A message in fragments: its bytes but the announced binary, and that binary.
  wire::ByteBuffer reassembly_;
  std::string binary_;
  bool reassembling_ = false;
  bool supplied_ = false;  // the payload being handled has binary_ supplied
  uint64_t expected_ = 0;  // announced by the first fragment
  uint64_t received_ = 0;
  uint64_t binary_at_ = 0;  // the binary's bytes in the payload: [binary_at_, binary_end_)
  uint64_t binary_end_ = 0;
};

}  // namespace snow::dist_internal
