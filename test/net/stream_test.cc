#include "snow/net/stream.h"

#include <array>
#include <string>

#include "snow/core/snow.h"
#include "snow/net/tcp.h"
#include "snow/net/tls.h"
#include "snow/test/testing/co_test.h"

namespace snow::net {
namespace {

using ::snow::testing::IsOk;
using ::snow::testing::StatusIs;

constexpr absl::Duration kTimeout = absl::Seconds(10);

struct ServerSaw {
  std::string exporter;  // empty for plain TCP
};

// Accepts one connection, secures it when `server` is set, reports its exporter value, then
// echoes until the peer closes.
Task<absl::Status> EchoOnce(Self self, TcpListener listener, std::optional<TlsContext> server,
                            Pid report) {
  SNOW_CO_ASSIGN_OR_RETURN(TcpStream tcp, co_await listener.Accept());
  Stream stream(std::move(tcp));
  if (server.has_value()) {
    SNOW_CO_RETURN_IF_ERROR(co_await stream.StartTls(*server));
  }
  absl::StatusOr<std::string> exporter = stream.ExportKeyingMaterial("snow test", "", 32);
  self.Send(report, ServerSaw{exporter.ok() ? *exporter : std::string()});
  std::array<char, 4096> buffer;
  for (;;) {
    absl::StatusOr<size_t> n = co_await stream.ReadSome(buffer, kTimeout);
    if (!n.ok()) co_return n.status();
    if (*n == 0) break;
    absl::Status written = co_await stream.WriteAll(std::span(buffer.data(), *n), kTimeout);
    SNOW_CO_RETURN_IF_ERROR(written);
  }
  co_return co_await stream.Close();
}

Task<absl::Status> EchoesThroughOneInterface(Self self, bool tls) {
  SNOW_CO_ASSIGN_OR_RETURN(TcpListener listener, TcpListener::Bind(SocketAddress::Loopback()));
  SocketAddress address = listener.local_address();
  std::optional<TlsContext> server, client;
  if (tls) {
    SNOW_CO_ASSIGN_OR_RETURN(TlsCertificate cert, TlsCertificate::GenerateSelfSigned());
    SNOW_CO_ASSIGN_OR_RETURN(server,
                             TlsContext::Create({.role = TlsRole::kServer, .certificate = cert}));
    SNOW_CO_ASSIGN_OR_RETURN(client, TlsContext::Create({.role = TlsRole::kClient}));
  }
  self.SpawnLink(EchoOnce, std::move(listener), server, self.pid());

  SNOW_CO_ASSIGN_OR_RETURN(TcpStream tcp, co_await TcpStream::Connect(address, kTimeout));
  Stream stream(std::move(tcp));
  if (tls) {
    SNOW_CO_RETURN_IF_ERROR(co_await stream.StartTls(*client));
  }
  EXPECT_EQ(stream.is_tls(), tls);
  std::string hello = "hello through a stream";
  SNOW_CO_RETURN_IF_ERROR(co_await stream.WriteAll(hello, kTimeout));
  std::string back(hello.size(), '\0');
  SNOW_CO_RETURN_IF_ERROR(
      co_await stream.ReadExactly(std::span(back.data(), back.size()), kTimeout));
  EXPECT_EQ(back, hello);

  ServerSaw saw = co_await self.Receive<ServerSaw>();
  absl::StatusOr<std::string> exporter = stream.ExportKeyingMaterial("snow test", "", 32);
  if (tls) {
    EXPECT_THAT(exporter, IsOk());
    EXPECT_EQ(exporter.value_or(""), saw.exporter);
    EXPECT_EQ(saw.exporter.size(), 32u);
    absl::Status again = co_await stream.StartTls(*client);
    EXPECT_THAT(again, StatusIs(absl::StatusCode::kFailedPrecondition));
  } else {
    EXPECT_THAT(exporter, StatusIs(absl::StatusCode::kFailedPrecondition));
    EXPECT_EQ(saw.exporter, "");
  }
  co_return co_await stream.Close();
}

TEST(StreamTest, PlainTcpEchoesAndHasNoKeyingMaterial) {
  EXPECT_THAT(
      testing::RunOnTestRuntime(testing::RealRuntimeOptions(1), EchoesThroughOneInterface, false),
      IsOk());
}

TEST(StreamTest, TlsEchoesAndBothEndsExportTheSameKeyingMaterial) {
  EXPECT_THAT(
      testing::RunOnTestRuntime(testing::RealRuntimeOptions(1), EchoesThroughOneInterface, true),
      IsOk());
}

}  // namespace
}  // namespace snow::net
