// test/wire/test_util.h — helpers for the wire tests: hex dumps and parsing, and status
// assertions by code and message (errors are asserted by their code, not their text).
//
//   EXPECT_EQ(Hex(buf), "01 9f");
//   ExpectError(DecodeTerm(FromHex("01 1a")).status(), absl::StatusCode::kDataLoss, "offset 1");
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "snow/wire/byte_buffer.h"

namespace snow::wire::testing {

inline std::string Hex(ByteSpan bytes) {
  std::string out;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i > 0) out += ' ';
    out += absl::StrFormat("%02x", bytes[i]);
  }
  return out;
}
inline std::string Hex(std::string_view s) { return Hex(AsBytes(s)); }

// "01 a0 ff" (spaces optional) -> bytes.
inline std::string FromHex(std::string_view hex) {
  std::string out;
  int nibble = -1;
  for (char c : hex) {
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      v = c - 'A' + 10;
    } else {
      continue;
    }
    if (nibble < 0) {
      nibble = v;
    } else {
      out.push_back(static_cast<char>(nibble * 16 + v));
      nibble = -1;
    }
  }
  return out;
}

// Asserts the code and that the message contains each of `parts` (e.g. "offset 3").
template <class... Parts>
void ExpectError(const absl::Status& s, absl::StatusCode code, const Parts&... parts) {
  EXPECT_EQ(s.code(), code) << s;
  const std::string message(s.message());
  [[maybe_unused]] auto check = [&message](std::string_view part) {
    EXPECT_NE(message.find(part), std::string::npos)
        << "message \"" << message << "\" lacks \"" << part << "\"";
  };
  (check(parts), ...);
}

}  // namespace snow::wire::testing
