// Tutorial, step 4: a line-based TCP server. Every shard accepts; each connection is an actor
// that answers each line with its number of words. The main actor connects as a client.
#include <cstdio>
#include <sstream>
#include <string>

#include "snow/core/snow.h"
#include "snow/net/line_reader.h"
#include "snow/net/server.h"
#include "snow/net/tcp.h"

using snow::Self;
using snow::Task;
namespace net = snow::net;

namespace {

// [snippet connection]
// One connection: a LineReader takes the stream and hands out whole lines, however the bytes
// arrive; each line is answered with its number of words.
Task<absl::Status> WordCountConnection(Self, net::TcpStream stream) {
  net::LineReader reader(std::move(stream));
  for (;;) {
    absl::StatusOr<std::string> line = co_await reader.ReadLine(absl::Minutes(5));
    if (absl::IsOutOfRange(line.status())) break;  // the client closed its side
    if (!line.ok()) co_return line.status();       // too long, timed out, reset...
    std::istringstream words(*line);
    int count = 0;
    for (std::string word; words >> word;) ++count;
    std::string answer = std::to_string(count) + "\n";
    absl::Status sent = co_await reader.stream().WriteAll(answer);
    if (!sent.ok()) co_return sent;
  }
  absl::Status closed = co_await reader.stream().Close();
  co_return closed;
}
// [end connection]

// [snippet main]
Task<absl::Status> Main(Self self) {
  // Port 0: the kernel picks a free port; server.address() tells which.
  SNOW_CO_ASSIGN_OR_RETURN(
      net::TcpServer server,
      net::TcpServer::Start(self, net::SocketAddress::Loopback(0), {}, WordCountConnection));
  std::printf("listening on %s\n", server.address().ToString().c_str());

  absl::StatusOr<net::TcpStream> client =
      co_await net::TcpStream::Connect(server.address(), absl::Seconds(5));
  if (!client.ok()) co_return client.status();
  std::string lines = "hello world\nthree little words\n";
  absl::Status sent = co_await client->WriteAll(lines);
  if (!sent.ok()) co_return sent;
  std::string answers(4, '\0');  // "2\n3\n"
  absl::Status read = co_await client->ReadExactly(answers, absl::Seconds(5));
  if (!read.ok()) co_return read;
  std::printf("answers: %s", answers.c_str());
  absl::Status closed = co_await client->Close();
  server.Stop();
  co_return closed;
}
// [end main]

}  // namespace

int main(int argc, char** argv) {
  return snow::Run(snow::RuntimeOptions::FromArgs(argc, argv), Main);
}
