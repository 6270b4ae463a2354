// WebSocket framing (RFC 6455 §5) and the UTF-8 check under it: every length encoding both
// ways, fragments with control frames between them, and each violation with its close code.
#include "snow/net/internal/websocket_frames.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "snow/net/internal/utf8.h"
#include "snow/net/internal/websocket_deflate.h"

namespace snow::net_internal {
namespace {

using Event = WsReader::Event;

constexpr uint32_t kMask = 0x37FA213D;

struct Read {
  std::vector<Event> events;
  std::vector<std::string> payloads;  // for messages, pings and pongs
  uint16_t error_code = 0;
  uint16_t close_code = 0;
  std::string close_reason;
};

// Reads `bytes` with `reader`, `step` bytes at a time (0: all at once), until an error.
Read ReadAll(WsReader& reader, const std::string& bytes, size_t step = 0) {
  Read out;
  size_t pos = 0;
  while (pos < bytes.size()) {
    const size_t n = step == 0 ? bytes.size() - pos : std::min(step, bytes.size() - pos);
    std::string_view piece(bytes.data() + pos, n);
    while (!piece.empty()) {
      size_t used = 0;
      const Event e = reader.Read(piece, &used);
      piece.remove_prefix(used);
      if (e == Event::kNeedMore) break;
      out.events.push_back(e);
      if (e == Event::kError) {
        out.error_code = reader.error_code();
        return out;
      }
      if (e == Event::kClose) {
        out.close_code = reader.close_code();
        out.close_reason = reader.close_reason();
      } else {
        out.payloads.push_back(reader.payload());
      }
    }
    pos += n;
  }
  return out;
}

std::string Frame(WsOpcode op, std::string_view payload, bool fin = true, bool masked = true,
                  bool rsv1 = false) {
  std::string out;
  AppendWsFrame(out, op, payload, fin, masked ? std::optional<uint32_t>(kMask) : std::nullopt,
                rsv1);
  return out;
}

WsReader Server(size_t max = 1 << 20) {
  return WsReader({.expect_masked = true, .max_message_bytes = max});
}

TEST(WebSocketFramesTest, EveryLengthEncodingRoundTripsWholeAndByteByByte) {
  for (size_t size : {0, 1, 125, 126, 127, 65535, 65536, 100000}) {
    std::string payload(size, '\0');
    for (size_t i = 0; i < size; ++i) payload[i] = static_cast<char>(i * 7 + 1);
    for (bool masked : {true, false}) {
      const std::string bytes = Frame(WsOpcode::kBinary, payload, true, masked);
      const size_t header = 2 + (size < 126 ? 0 : size <= 0xFFFF ? 2 : 8) + (masked ? 4 : 0);
      EXPECT_EQ(bytes.size(), header + size);
      for (size_t step : {size_t{0}, size_t{1}, size_t{1000}}) {
        if (step == 1 && size > 70000) continue;  // slow, and no different from 65536
        WsReader reader({.expect_masked = masked, .max_message_bytes = 1 << 20});
        Read r = ReadAll(reader, bytes, step);
        ASSERT_EQ(r.events, std::vector<Event>{Event::kMessage}) << size << " " << step;
        EXPECT_EQ(r.payloads[0], payload);
      }
    }
  }
}

TEST(WebSocketFramesTest, FragmentsAreJoinedAroundInterleavedControlFrames) {
  const std::string bytes =
      Frame(WsOpcode::kText, "Hel", false) + Frame(WsOpcode::kPing, "p1") +
      Frame(WsOpcode::kContinuation, "lo, ", false) + Frame(WsOpcode::kPong, "") +
      Frame(WsOpcode::kContinuation, "w\xE2\x82", false) +
      Frame(WsOpcode::kContinuation, "\xAC!", true) + Frame(WsOpcode::kBinary, "next");
  for (size_t step : {0, 1, 3}) {
    WsReader reader = Server();
    Read r = ReadAll(reader, bytes, step);
    EXPECT_EQ(r.events,
              (std::vector<Event>{Event::kPing, Event::kPong, Event::kMessage, Event::kMessage}));
    EXPECT_THAT(r.payloads, ::testing::ElementsAre("p1", "", "Hello, w\xE2\x82\xAC!", "next"));
  }
}

TEST(WebSocketFramesTest, InvalidUtf8SplitAcrossFragmentsIs1007) {
  // E2 82 is a valid start; 28 cannot continue it.
  const std::string bytes =
      Frame(WsOpcode::kText, "ok \xE2\x82", false) + Frame(WsOpcode::kContinuation, "\x28 x");
  WsReader reader = Server();
  Read r = ReadAll(reader, bytes);
  EXPECT_EQ(r.error_code, kWsInvalidData);
  // A text that ends inside a character.
  WsReader cut = Server();
  EXPECT_EQ(ReadAll(cut, Frame(WsOpcode::kText, "\xF0\x9F\x98")).error_code, kWsInvalidData);
  // Binary is not checked.
  WsReader binary = Server();
  EXPECT_EQ(ReadAll(binary, Frame(WsOpcode::kBinary, "\xFF\xFE")).events,
            std::vector<Event>{Event::kMessage});
}

TEST(WebSocketFramesTest, ProtocolViolationsAre1002) {
  auto error_of = [](const std::string& bytes, bool server = true) {
    WsReader reader({.expect_masked = server, .max_message_bytes = 1 << 20});
    return ReadAll(reader, bytes).error_code;
  };
  EXPECT_EQ(error_of(Frame(WsOpcode::kText, "x", true, /*masked=*/false)), kWsProtocolError);
  EXPECT_EQ(error_of(Frame(WsOpcode::kText, "x", true, /*masked=*/true), /*server=*/false),
            kWsProtocolError);
  std::string rsv2 = Frame(WsOpcode::kText, "x");
  rsv2[0] = static_cast<char>(rsv2[0] | 0x20);
  EXPECT_EQ(error_of(rsv2), kWsProtocolError);
  EXPECT_EQ(error_of(Frame(WsOpcode::kText, "x", true, true, /*rsv1=*/true)), kWsProtocolError);
  for (uint8_t op : {0x3, 0x7, 0xB, 0xF}) {
    std::string reserved = Frame(WsOpcode::kBinary, "x");
    reserved[0] = static_cast<char>(0x80 | op);
    EXPECT_EQ(error_of(reserved), kWsProtocolError) << int{op};
  }
  EXPECT_EQ(error_of(Frame(WsOpcode::kPing, "x", /*fin=*/false)), kWsProtocolError);
  EXPECT_EQ(error_of(Frame(WsOpcode::kPing, std::string(126, 'p'))), kWsProtocolError);
  EXPECT_EQ(error_of(Frame(WsOpcode::kContinuation, "x")), kWsProtocolError);
  EXPECT_EQ(error_of(Frame(WsOpcode::kText, "a", false) + Frame(WsOpcode::kText, "b")),
            kWsProtocolError);
  // Length 5 written in the 16-bit form; a 64-bit length with its top bit set.
  EXPECT_EQ(error_of(std::string("\x82\xFE\x00\x05", 4) + "mask" + "hello"), kWsProtocolError);
  EXPECT_EQ(error_of(std::string("\x82\xFF\x80\x00\x00\x00\x00\x00\x00\x00", 10) + "mask"),
            kWsProtocolError);
  // After an error the reader stays failed.
  WsReader reader = Server();
  EXPECT_EQ(ReadAll(reader, Frame(WsOpcode::kContinuation, "x")).error_code, kWsProtocolError);
  size_t used = 0;
  EXPECT_EQ(reader.Read(Frame(WsOpcode::kText, "fine"), &used), Event::kError);
}

TEST(WebSocketFramesTest, RsvOneIsAcceptedOnlyWhenDeflateWasNegotiated) {
  WsReader reader({.expect_masked = true, .max_message_bytes = 1 << 20, .allow_rsv1 = true});
  Read r = ReadAll(reader, Frame(WsOpcode::kText, "\xFF\x00", true, true, /*rsv1=*/true));
  ASSERT_EQ(r.events, std::vector<Event>{Event::kMessage});
  EXPECT_TRUE(reader.compressed());  // checked for UTF-8 once inflated, not here
}

TEST(WebSocketFramesTest, AMessageOverTheLimitIs1009FromItsHeader) {
  WsReader reader = Server(1000);
  const std::string big = Frame(WsOpcode::kBinary, std::string(1001, 'b'));
  size_t used = 0;
  EXPECT_EQ(reader.Read(big, &used), Event::kError);
  EXPECT_EQ(reader.error_code(), kWsMessageTooBig);
  EXPECT_EQ(used, 8u);  // the header only: the payload was never read
  WsReader fragments = Server(1000);
  EXPECT_EQ(ReadAll(fragments, Frame(WsOpcode::kBinary, std::string(600, 'a'), false) +
                                   Frame(WsOpcode::kContinuation, std::string(600, 'b')))
                .error_code,
            kWsMessageTooBig);
  WsReader exact = Server(1000);
  EXPECT_EQ(ReadAll(exact, Frame(WsOpcode::kBinary, std::string(1000, 'e'))).events,
            std::vector<Event>{Event::kMessage});
}

TEST(WebSocketFramesTest, CloseFramesCarryAValidCodeAndAUtf8Reason) {
  WsReader reader = Server();
  Read r = ReadAll(reader, Frame(WsOpcode::kClose, WsClosePayload(1000, "bye")));
  EXPECT_EQ(r.events, std::vector<Event>{Event::kClose});
  EXPECT_EQ(r.close_code, 1000);
  EXPECT_EQ(r.close_reason, "bye");
  WsReader empty = Server();
  EXPECT_EQ(ReadAll(empty, Frame(WsOpcode::kClose, "")).close_code, kWsNoStatus);
  auto error_of = [](const std::string& payload) {
    WsReader reader = Server();
    return ReadAll(reader, Frame(WsOpcode::kClose, payload)).error_code;
  };
  EXPECT_EQ(error_of("x"), kWsProtocolError);
  for (uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000}) {
    EXPECT_EQ(error_of(WsClosePayload(code, "")), kWsProtocolError) << code;
  }
  for (uint16_t code : {1000, 1001, 1002, 1003, 1007, 1011, 3000, 4999}) {
    EXPECT_EQ(error_of(WsClosePayload(code, "")), 0) << code;
  }
  EXPECT_EQ(error_of(WsClosePayload(1000, "\xC3\x28")), kWsInvalidData);
  // A long reason is cut to fit 125 bytes, not inside a character.
  const std::string cut = WsClosePayload(1000, std::string(122, 'a') + "\xE2\x82\xAC");
  EXPECT_EQ(cut.size(), 124u);
  EXPECT_EQ(error_of(cut), 0);
}

TEST(WebSocketDeflateTest, NegotiationTakesTheFirstOfferItCanServe) {
  auto agreed = [](std::string_view offers, bool ask = false) {
    std::optional<WsDeflateAgreement> a = NegotiateWsDeflate(offers, ask);
    return a ? a->response : std::string("none");
  };
  EXPECT_EQ(agreed("permessage-deflate"), "permessage-deflate; server_no_context_takeover");
  EXPECT_EQ(agreed("permessage-deflate; client_max_window_bits"),
            "permessage-deflate; server_no_context_takeover");
  EXPECT_EQ(agreed("permessage-deflate; client_max_window_bits=10; client_no_context_takeover"),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
            "client_max_window_bits=10");
  EXPECT_EQ(agreed("permessage-deflate", /*ask=*/true),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
  // A smaller server window is not served; the next offer is.
  EXPECT_EQ(agreed("permessage-deflate; server_max_window_bits=10, permessage-deflate"),
            "permessage-deflate; server_no_context_takeover");
  EXPECT_EQ(agreed("permessage-deflate; server_max_window_bits=10"), "none");
  EXPECT_EQ(agreed("permessage-deflate; x-unknown"), "none");
  EXPECT_EQ(agreed("x-webkit-deflate-frame"), "none");
}

TEST(WebSocketDeflateTest, ARoundTripAndABoundOnWhatInflates) {
  WsDeflate sender({});
  WsDeflate receiver({});
  const std::string text(10000, 'a');
  for (int i = 0; i < 3; ++i) {  // each message on its own (no context kept by the sender)
    const std::string compressed = sender.Deflate(text);
    EXPECT_LT(compressed.size(), 100u);
    absl::StatusOr<std::string> back = receiver.Inflate(compressed, 1 << 20);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, text);
  }
  EXPECT_EQ(receiver.Inflate(sender.Deflate(text), 9999).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(receiver.Inflate("\xff\xff\xff garbage", 1 << 20).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(Utf8ValidatorTest, AcceptsUtf8AndRejectsWhatRfc3629Forbids) {
  auto valid = [](std::string_view s) {
    Utf8Validator v;
    return v.Feed(s) && v.complete();
  };
  EXPECT_TRUE(valid(""));
  EXPECT_TRUE(valid("plain ascii"));
  EXPECT_TRUE(valid("\xC2\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF \xED\x9F\xBF"));
  for (std::string_view bad :
       {"\x80", "\xBF", "\xC0\x80", "\xC1\xBF", "\xE0\x80\x80", "\xE0\x9F\xBF", "\xED\xA0\x80",
        "\xED\xBF\xBF", "\xF0\x80\x80\x80", "\xF0\x8F\xBF\xBF", "\xF4\x90\x80\x80",
        "\xF5\x80\x80\x80", "\xFF", "\xC2\x41", "\xE2\x82"}) {
    EXPECT_FALSE(valid(bad)) << ::testing::PrintToString(std::string(bad));
  }
  // In pieces, a character cut anywhere.
  Utf8Validator v;
  EXPECT_TRUE(v.Feed("\xF0"));
  EXPECT_TRUE(v.Feed("\x9F\x98"));
  EXPECT_FALSE(v.complete());
  EXPECT_TRUE(v.Feed("\x80"));
  EXPECT_TRUE(v.complete());
}

}  // namespace
}  // namespace snow::net_internal
