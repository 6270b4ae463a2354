// An echo server on every shard, and a client that talks to it once: the net/ pattern of one
// actor per connection. Binds 127.0.0.1 on a free port; exits when the client is done.
#include <array>
#include <cstdio>
#include <string>

#include "snow/core/snow.h"
#include "snow/net/server.h"
#include "snow/net/tcp.h"

using snow::Self;
using snow::Task;
namespace net = snow::net;

// [snippet connection]
// One connection: echo until the peer closes its side.
Task<absl::Status> EchoConnection(Self, net::TcpStream stream) {
  std::array<char, 16384> buffer;
  for (;;) {
    absl::StatusOr<size_t> n = co_await stream.ReadSome(buffer);  // an io_uring recv
    if (!n.ok() || *n == 0) break;                                // error, or end of stream
    absl::Status sent = co_await stream.WriteAll(std::span<const char>(buffer.data(), *n));
    if (!sent.ok()) break;
  }
  absl::Status closed = co_await stream.Close();
  co_return closed;
}
// [end connection]

Task<absl::Status> Main(Self self) {
  // [snippet start]
  // A listener per shard on one port (SO_REUSEPORT); each connection gets its own actor.
  SNOW_CO_ASSIGN_OR_RETURN(
      net::TcpServer server,
      net::TcpServer::Start(self, net::SocketAddress::Loopback(0), {}, EchoConnection));
  // [end start]
  std::printf("echo server on %s\n", server.address().ToString().c_str());

  absl::StatusOr<net::TcpStream> client =
      co_await net::TcpStream::Connect(server.address(), absl::Seconds(5));
  if (!client.ok()) co_return client.status();
  std::string hello = "hello, echo";
  absl::Status sent = co_await client->WriteAll(hello);
  if (!sent.ok()) co_return sent;
  std::string reply(hello.size(), '\0');
  absl::Status read = co_await client->ReadExactly(reply, absl::Seconds(5));
  if (!read.ok()) co_return read;
  std::printf("sent \"%s\", got \"%s\" back\n", hello.c_str(), reply.c_str());
  absl::Status closed = co_await client->Close();
  server.Stop();
  co_return closed;
}

int main(int argc, char** argv) {
  return snow::Run(snow::RuntimeOptions::FromArgs(argc, argv), Main);
}
