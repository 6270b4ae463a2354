// File: test/testing/counted.h
//
// Counted: counts its live instances, across threads, so that a test can prove that every
// message, argument and frame is destroyed exactly once: after a kill mid-await and at
// shutdown too, under ASan.
//
//   struct Token : snow::testing::Counted<Token> {};
//   ...spawn actors holding Tokens, kill them, stop the runtime...
//   EXPECT_EQ(Token::live.load(), 0);
#pragma once

#include <atomic>

namespace snow::testing {

// `Tag` (usually the deriving type) gives each counting type its own count.
template <typename Tag>
struct Counted {
  static inline std::atomic<int> live{0};
  Counted() { ++live; }
  Counted(const Counted&) { ++live; }
  Counted(Counted&&) noexcept { ++live; }
  Counted& operator=(const Counted&) = default;
  Counted& operator=(Counted&&) noexcept = default;
  ~Counted() { --live; }
};

}  // namespace snow::testing
