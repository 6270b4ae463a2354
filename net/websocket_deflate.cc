#include "snow/net/internal/websocket_deflate.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "snow/core/status.h"

namespace snow::net_internal {

namespace {
constexpr char kTail[] = {0x00, 0x00, static_cast<char>(0xFF), static_cast<char>(0xFF)};
}  // namespace

std::optional<WsDeflateAgreement> NegotiateWsDeflate(std::string_view offers,
                                                     bool ask_client_no_context_takeover) {
  for (absl::string_view offer : absl::StrSplit(AbslView(offers), ',')) {
    std::vector<absl::string_view> parts = absl::StrSplit(offer, ';');
    if (absl::StripAsciiWhitespace(parts[0]) != "permessage-deflate") continue;
    WsDeflateAgreement agreement;
    agreement.parameters.peer_no_context_takeover = ask_client_no_context_takeover;
    bool acceptable = true;
    bool client_bits_offered = false;
    for (size_t i = 1; i < parts.size() && acceptable; ++i) {
      absl::string_view p = absl::StripAsciiWhitespace(parts[i]);
      absl::string_view name = p.substr(0, p.find('='));
      absl::string_view value =
          p.find('=') == absl::string_view::npos ? "" : p.substr(p.find('=') + 1);
      value = absl::StripAsciiWhitespace(value);
      if (absl::ConsumePrefix(&value, "\"")) absl::ConsumeSuffix(&value, "\"");
      name = absl::StripAsciiWhitespace(name);
      int bits = 0;
      if (name == "server_no_context_takeover") {
        // Asked for; always given.
      } else if (name == "client_no_context_takeover") {
        agreement.parameters.peer_no_context_takeover = true;
      } else if (name == "server_max_window_bits") {
        // Snow's compressor always uses 15 bits; a client asking for fewer is not served.
        acceptable = absl::SimpleAtoi(value, &bits) && bits == 15;
      } else if (name == "client_max_window_bits") {
        client_bits_offered = true;
        if (!value.empty()) {
          acceptable = absl::SimpleAtoi(value, &bits) && bits >= 8 && bits <= 15;
          if (acceptable) agreement.parameters.peer_max_window_bits = bits;
        }
      } else {
        acceptable = false;  // a parameter this side does not know
      }
    }
    if (!acceptable) continue;
    agreement.response = "permessage-deflate; server_no_context_takeover";
    if (agreement.parameters.peer_no_context_takeover) {
      agreement.response += "; client_no_context_takeover";
    }
    if (client_bits_offered && agreement.parameters.peer_max_window_bits != 15) {
      agreement.response +=
          "; client_max_window_bits=" + std::to_string(agreement.parameters.peer_max_window_bits);
    }
    return agreement;
  }
  return std::nullopt;
}

absl::StatusOr<WsDeflateParameters> ReadWsDeflateAnswer(std::string_view answer) {
  std::vector<absl::string_view> parts = absl::StrSplit(AbslView(answer), ';');
  if (parts.size() < 1 || absl::StripAsciiWhitespace(parts[0]) != "permessage-deflate") {
    return absl::FailedPreconditionError("the server agreed to an extension not offered");
  }
  WsDeflateParameters parameters;
  for (size_t i = 1; i < parts.size(); ++i) {
    absl::string_view p = absl::StripAsciiWhitespace(parts[i]);
    absl::string_view name = absl::StripAsciiWhitespace(p.substr(0, p.find('=')));
    absl::string_view value =
        p.find('=') == absl::string_view::npos ? "" : p.substr(p.find('=') + 1);
    value = absl::StripAsciiWhitespace(value);
    if (absl::ConsumePrefix(&value, "\"")) absl::ConsumeSuffix(&value, "\"");
    int bits = 0;
    if (name == "server_no_context_takeover") {
      parameters.peer_no_context_takeover = true;
    } else if (name == "client_no_context_takeover") {
      // Offered: this side compresses each message on its own anyway.
    } else if (name == "server_max_window_bits" && absl::SimpleAtoi(value, &bits) && bits >= 8 &&
               bits <= 15) {
      parameters.peer_max_window_bits = bits;
    } else {
      // client_max_window_bits was not offered, so a server may not answer with it.
      return absl::FailedPreconditionError(
          absl::StrCat("permessage-deflate: the server answered with \"", p, "\""));
    }
  }
  return parameters;
}

struct WsDeflate::Streams {
  z_stream inflate{};
  bool inflate_ready = false;
  z_stream deflate{};
  bool deflate_ready = false;
  ~Streams() {
    if (inflate_ready) inflateEnd(&inflate);
    if (deflate_ready) deflateEnd(&deflate);
  }
};

WsDeflate::WsDeflate(WsDeflateParameters parameters)
    : parameters_(parameters), streams_(std::make_unique<Streams>()) {}

WsDeflate::~WsDeflate() = default;

absl::StatusOr<std::string> WsDeflate::Inflate(std::string_view compressed, size_t max_bytes) {
  Streams& s = *streams_;
  if (!s.inflate_ready) {
    // zlib wants 9-15; a peer's 8-bit window is inflated with 9 (a larger window reads it).
    const int bits = std::max(parameters_.peer_max_window_bits, 9);
    if (inflateInit2(&s.inflate, -bits) != Z_OK) return absl::InternalError("inflateInit2 failed");
    s.inflate_ready = true;
  }
  std::string out;
  char chunk[16384];
  bool ended = false;  // the peer ended its DEFLATE stream (a final block): start afresh
  auto run = [&](std::string_view input) -> absl::Status {
    s.inflate.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
    s.inflate.avail_in = static_cast<uInt>(input.size());
    for (;;) {
      s.inflate.next_out = reinterpret_cast<Bytef*>(chunk);
      s.inflate.avail_out = sizeof chunk;
      const int rc = inflate(&s.inflate, Z_SYNC_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
        return absl::DataLossError("the message is not valid DEFLATE");
      }
      const size_t produced = sizeof chunk - s.inflate.avail_out;
      if (out.size() + produced > max_bytes) {
        return absl::ResourceExhaustedError("the message inflates past max_message_bytes");
      }
      out.append(chunk, produced);
      if (rc == Z_STREAM_END) {
        ended = true;
        return absl::OkStatus();
      }
      // Done when the input is used up and the output buffer was not filled (nothing pending).
      if (s.inflate.avail_in == 0 && s.inflate.avail_out != 0) return absl::OkStatus();
      if (rc == Z_BUF_ERROR && produced == 0) return absl::OkStatus();  // no progress possible
    }
  };
  absl::Status status = run(compressed);
  if (status.ok() && !ended) status = run(std::string_view(kTail, sizeof kTail));
  if (!status.ok() || ended || parameters_.peer_no_context_takeover) inflateReset(&s.inflate);
  if (!status.ok()) return status;
  return out;
}

std::string WsDeflate::Deflate(std::string_view message) {
  Streams& s = *streams_;
  if (!s.deflate_ready) {
    // Window 15, memory level 8 (zlib's defaults), raw DEFLATE.
    deflateInit2(&s.deflate, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
    s.deflate_ready = true;
  }
  std::vector<char> out(deflateBound(&s.deflate, static_cast<uLong>(message.size())) + 64);
  s.deflate.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(message.data()));
  s.deflate.avail_in = static_cast<uInt>(message.size());
  size_t used = 0;
  for (;;) {
    s.deflate.next_out = reinterpret_cast<Bytef*>(out.data() + used);
    s.deflate.avail_out = static_cast<uInt>(out.size() - used);
    deflate(&s.deflate, Z_SYNC_FLUSH);
    used = out.size() - s.deflate.avail_out;
    if (s.deflate.avail_out != 0) break;  // everything flushed
    out.resize(out.size() * 2);
  }
  // The sync flush ends with 00 00 FF FF, which the wire leaves off.
  if (used >= 4 && std::memcmp(out.data() + used - 4, kTail, 4) == 0) used -= 4;
  deflateReset(&s.deflate);  // server_no_context_takeover: each message on its own
  return std::string(out.data(), used);
}

}  // namespace snow::net_internal
