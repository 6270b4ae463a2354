// File: net/internal/websocket_deflate.h
//
// permessage-deflate (RFC 7692) for one WebSocket connection, with zlib: the negotiation of its
// parameters, and the compression of each message (raw DEFLATE, ended by a sync flush whose
// last four bytes, 00 00 FF FF, are left off the wire).
//
// Snow's server always asks for server_no_context_takeover: each message it sends is compressed
// on its own, so its compressor holds no history between messages. It honours what the client
// asks for its own direction (client_no_context_takeover, client_max_window_bits) and, with
// WebSocketOptions::deflate_client_no_context_takeover, asks the client to compress each message
// on its own too, so that the server keeps no history for reading either. Inflation is bounded:
// a message that would inflate past the limit is refused as it grows (a decompression bomb is
// refused after max bytes, not after it exploded). Snow's client offers the same: it compresses
// each message on its own, and inflates with or without the server's history as it answers.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace snow::net_internal {

// What this side's inflater must allow for: how the peer compresses (on a server, the client's
// parameters; on a client, the server's).
struct WsDeflateParameters {
  bool peer_no_context_takeover = false;  // each message compressed on its own
  int peer_max_window_bits = 15;
};

// Reads a Sec-WebSocket-Extensions header: the first permessage-deflate offer the server can
// accept, and the header value to answer with; nullopt when there is none.
struct WsDeflateAgreement {
  WsDeflateParameters parameters;
  std::string response;
};
std::optional<WsDeflateAgreement> NegotiateWsDeflate(std::string_view offers,
                                                     bool ask_client_no_context_takeover);

// What a Snow client offers: permessage-deflate, compressing each of its messages on its own.
inline constexpr std::string_view kWsDeflateClientOffer =
    "permessage-deflate; client_no_context_takeover";
// Reads the server's Sec-WebSocket-Extensions answer to that offer: the parameters to inflate
// with, or kFailedPrecondition for an answer the offer did not allow (RFC 7692 §5: the client
// then fails the connection).
absl::StatusOr<WsDeflateParameters> ReadWsDeflateAnswer(std::string_view answer);

class WsDeflate {
 public:
  explicit WsDeflate(WsDeflateParameters parameters);
  ~WsDeflate();
  WsDeflate(const WsDeflate&) = delete;
  WsDeflate& operator=(const WsDeflate&) = delete;

  // A compressed message's payload; kResourceExhausted past `max_bytes` inflated,
  // kDataLoss when it is not valid DEFLATE.
  absl::StatusOr<std::string> Inflate(std::string_view compressed, size_t max_bytes);
  // The payload of a compressed message (RSV1 set) carrying `message`.
  std::string Deflate(std::string_view message);

 private:
  struct Streams;
  WsDeflateParameters parameters_;
  std::unique_ptr<Streams> streams_;
};

}  // namespace snow::net_internal
