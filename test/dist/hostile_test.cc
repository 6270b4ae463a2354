// Hostile clients on a node's listener: garbage, a forged huge frame length, and a client that
// sends nothing. Each is dropped within the handshake timeout while a good node gets served.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

#include "test/dist/dist_testing.h"

namespace snow::dist_testing {
namespace {

using ::snow::testing::IsOk;

// The default NodeOptions::handshake_timeout, which bounds every hostile client.
constexpr absl::Duration kHandshakeTimeout = absl::Seconds(5);
// Slack on top of it for two slow, shared cores.
constexpr absl::Duration kSlack = absl::Seconds(5);

uint16_t PortOf(const std::string& node) {
  return static_cast<uint16_t>(std::stoi(node.substr(node.rfind(':') + 1)));
}

// A blocking TCP connection to 127.0.0.1:port, or -1.
int ConnectRaw(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool SendRaw(int fd, const std::string& bytes) {
  return send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
}

// Reads (and discards, e.g. a TLS alert or a REJECT) until the node closes the connection;
// returns when that happened, or nullopt if it was still open at `deadline`.
std::optional<absl::Time> WaitForClose(int fd, absl::Time deadline) {
  char buffer[4096];
  for (;;) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return std::nullopt;
    timeval tv = absl::ToTimeval(std::min(left, absl::Milliseconds(200)));
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n == 0) return absl::Now();
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return absl::Now();
  }
}

Task<absl::Status> GoodNodeIsServed(Self self, NodeProcess* a, bool tls) {
  dist::NodeOptions options = TestNodeOptions();
  options.tls = tls;
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, options));
  SNOW_CO_RETURN_IF_ERROR(co_await dist::Connect(self, a->name()));
  absl::StatusOr<Pid> echo = co_await EchoNamed(self, a->name(), 1);
  EXPECT_THAT(echo, IsOk());
  co_return absl::OkStatus();
}

class DistHostileTest : public ::testing::TestWithParam<bool> {};

TEST_P(DistHostileTest, HostileClientsAreDroppedAndOthersServed) {
  const bool tls = GetParam();
  NodeProcess a = StartChild({.name = "a@127.0.0.1:0", .tls = tls});
  const uint16_t port = PortOf(a.name());

  absl::Time opened = absl::Now();
  int garbage = ConnectRaw(port);
  int huge = ConnectRaw(port);
  int silent = ConnectRaw(port);
  ASSERT_GE(garbage, 0);
  ASSERT_GE(huge, 0);
  ASSERT_GE(silent, 0);
  std::string noise;
  for (int i = 0; i < 4096; ++i) noise.push_back(static_cast<char>((i * 131 + 7) & 0xff));
  EXPECT_TRUE(SendRaw(garbage, noise));
  // A frame claiming 4 GiB: without TLS it reaches dist's framing; with TLS, the TLS layer.
  std::string forged("\xff\xff\xff\xff", 4);
  forged += "SNOWDIST";
  EXPECT_TRUE(SendRaw(huge, forged));

  // While all three are connected, a good node connects and is answered.
  EXPECT_THAT(RunAsNode(GoodNodeIsServed, &a, tls), IsOk());

  absl::Time deadline = opened + kHandshakeTimeout + kSlack;
  std::optional<absl::Time> garbage_closed = WaitForClose(garbage, deadline);
  std::optional<absl::Time> huge_closed = WaitForClose(huge, deadline);
  std::optional<absl::Time> silent_closed = WaitForClose(silent, deadline);
  EXPECT_TRUE(garbage_closed.has_value()) << "garbage client still connected";
  EXPECT_TRUE(huge_closed.has_value()) << "forged-length client still connected";
  ASSERT_TRUE(silent_closed.has_value()) << "silent client still connected";
  // The silent client is dropped by the timeout, not by something it did.
  EXPECT_GE(*silent_closed - opened, kHandshakeTimeout - absl::Seconds(1));
  close(garbage);
  close(huge);
  close(silent);

  // And afterwards the node still serves.
  EXPECT_TRUE(Alive(a));
  EXPECT_THAT(RunAsNode(GoodNodeIsServed, &a, tls), IsOk());
}

INSTANTIATE_TEST_SUITE_P(Tls, DistHostileTest, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Tls" : "PlainTcp";
                         });

}  // namespace
}  // namespace snow::dist_testing
