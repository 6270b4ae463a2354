// Fuzzes net/'s WebSocket frame reader and permessage-deflate's inflater: the first bytes choose
// the reader's options and a chunking; reading the rest in those chunks must give exactly the
// events, payloads and close code of reading it in one piece, every text message delivered must
// be valid UTF-8, and a compressed message never inflates past the limit.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "snow/net/internal/utf8.h"
#include "snow/net/internal/websocket_deflate.h"
#include "snow/net/internal/websocket_frames.h"
#include "snow/test/fuzz/cuts.h"

namespace {

using snow::net_internal::Utf8Validator;
using snow::net_internal::WsReader;

struct Outcome {
  std::vector<std::string> events;  // kind, then payload
  uint16_t error_code = 0;
  bool operator==(const Outcome&) const = default;
};

void Check(bool ok) {
  if (!ok) std::abort();
}

Outcome Run(std::string_view stream, const WsReader::Options& options,
            const std::vector<size_t>& cuts, bool no_context_takeover) {
  Outcome out;
  WsReader reader(options);
  snow::net_internal::WsDeflate inflater({.peer_no_context_takeover = no_context_takeover});
  size_t pos = 0;
  auto feed = [&](size_t end) {
    while (pos < end && out.error_code == 0) {
      size_t used = 0;
      const WsReader::Event e = reader.Read(stream.substr(pos, end - pos), &used);
      Check(used <= end - pos);
      pos += used;
      switch (e) {
        case WsReader::Event::kNeedMore:
          Check(pos == end);
          return;
        case WsReader::Event::kError:
          out.error_code = reader.error_code();
          Check(out.error_code == 1002 || out.error_code == 1007 || out.error_code == 1009);
          return;
        case WsReader::Event::kClose:
          out.events.push_back("close " + std::to_string(reader.close_code()) + " " +
                               reader.close_reason());
          break;
        case WsReader::Event::kMessage: {
          const std::string& payload = reader.payload();
          Check(payload.size() <= options.max_message_bytes);
          if (reader.text() && !reader.compressed()) {
            Utf8Validator v;
            Check(v.Feed(payload) && v.complete());
          }
          std::string message = payload;
          if (reader.compressed()) {
            absl::StatusOr<std::string> inflated =
                inflater.Inflate(payload, options.max_message_bytes);
            Check(!inflated.ok() || inflated->size() <= options.max_message_bytes);
            message = inflated.ok() ? "inflated " + *inflated : inflated.status().ToString();
          }
          out.events.push_back((reader.text() ? "text " : "binary ") + message);
          break;
        }
        case WsReader::Event::kPing:
        case WsReader::Event::kPong:
          Check(reader.payload().size() <= 125);
          out.events.push_back((e == WsReader::Event::kPing ? "ping " : "pong ") +
                               reader.payload());
          break;
      }
    }
  };
  for (size_t cut : cuts) feed(cut);
  feed(stream.size());
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const WsReader::Options options{.expect_masked = (data[0] & 1) != 0,
                                  .max_message_bytes = size_t{1} << (4 + (data[0] >> 1) % 12),
                                  .allow_rsv1 = (data[0] & 0x80) != 0};
  const uint8_t step = data[1];
  const std::string_view stream(reinterpret_cast<const char*>(data + 2), size - 2);
  const std::vector<size_t> cuts = snow::fuzzing::Cuts(step, stream.size());
  const bool no_context_takeover = (data[0] & 0x40) != 0;
  Check(Run(stream, options, {}, no_context_takeover) ==
        Run(stream, options, cuts, no_context_takeover));
  return 0;
}
