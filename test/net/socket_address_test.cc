#include "snow/net/socket_address.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "snow/test/testing/co_test.h"

namespace snow::net {
namespace {

using ::snow::testing::IsOk;
using ::snow::testing::StatusIs;

TEST(SocketAddressTest, ParsesIpv4AndPrintsItBack) {
  absl::StatusOr<SocketAddress> a = SocketAddress::Parse("127.0.0.1:8080");
  ASSERT_THAT(a, IsOk());
  EXPECT_EQ(a->family(), AF_INET);
  EXPECT_EQ(a->port(), 8080);
  EXPECT_EQ(a->ToString(), "127.0.0.1:8080");
  EXPECT_EQ(*a, SocketAddress::Loopback(8080));
}

TEST(SocketAddressTest, ParsesIpv6InBrackets) {
  absl::StatusOr<SocketAddress> a = SocketAddress::Parse("[::1]:0");
  ASSERT_THAT(a, IsOk());
  EXPECT_EQ(a->family(), AF_INET6);
  EXPECT_EQ(a->port(), 0);
  EXPECT_EQ(a->WithPort(443).ToString(), "[::1]:443");
}

TEST(SocketAddressTest, RejectsMalformedText) {
  for (const char* text : {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:8x",
                           "localhost:80", "::1:80", "[::1]80", "[::1:80", "1.2.3:4"}) {
    EXPECT_THAT(SocketAddress::Parse(text), StatusIs(absl::StatusCode::kInvalidArgument)) << text;
  }
}

}  // namespace
}  // namespace snow::net
