// File: test/net/http_testing.h
//
// What the HTTP tests share: a raw-bytes client (Exchange), a count of the answers it got, and a
// server on a fresh 2-shard runtime for the length of one test function.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "snow/core/snow.h"
#include "snow/net/http_server.h"
#include "snow/net/tcp.h"
#include "snow/test/testing/co_test.h"

namespace snow::net {

inline constexpr absl::Duration kHttpTestTimeout = absl::Seconds(10);

// Writes `request` on a new connection and reads until the server closes it: what came back.
// kDeadlineExceeded if the server keeps the connection open past kHttpTestTimeout.
inline Task<absl::StatusOr<std::string>> Exchange(SocketAddress address, std::string request) {
  absl::StatusOr<TcpStream> stream = co_await TcpStream::Connect(address, kHttpTestTimeout);
  SNOW_CO_RETURN_IF_ERROR(stream.status());
  if (!request.empty()) {
    absl::Status written = co_await stream->WriteAll(request, kHttpTestTimeout);
    SNOW_CO_RETURN_IF_ERROR(written);
  }
  std::string received;
  std::vector<char> buffer(64 * 1024);
  for (;;) {
    absl::StatusOr<size_t> n = co_await stream->ReadSome(std::span<char>(buffer), kHttpTestTimeout);
    if (!n.ok()) {
      // A reset after the answer (the server closed with bytes unread) ends the exchange too.
      if (absl::IsUnavailable(n.status()) && !received.empty()) break;
      co_return n.status();
    }
    if (*n == 0) break;
    received.append(buffer.data(), *n);
  }
  co_return received;
}

// Reads until a request's head has arrived (a raw server's side): what was read, the head and
// anything after it. kUnavailable if the peer closed first.
inline Task<absl::StatusOr<std::string>> ReadRequestHead(TcpStream& stream) {
  std::string request;
  std::vector<char> chunk(4096);
  while (request.find("\r\n\r\n") == std::string::npos) {
    absl::StatusOr<size_t> n = co_await stream.ReadSome(std::span<char>(chunk), kHttpTestTimeout);
    SNOW_CO_RETURN_IF_ERROR(n.status());
    if (*n == 0) co_return absl::UnavailableError("the client closed before its request's head");
    request.append(chunk.data(), *n);
  }
  co_return request;
}

// How many answers `received` holds (status lines).
inline int Answers(const std::string& received) {
  int n = 0;
  for (size_t at = received.find("HTTP/1.1 "); at != std::string::npos;
       at = received.find("HTTP/1.1 ", at + 1)) {
    ++n;
  }
  return n;
}

// Runs `test(self, address)` (a function) against a server started with `options` and
// `handler` on a 2-shard runtime.
template <typename Test>
absl::Status WithHttpServer(HttpServerOptions options, HttpHandler handler, Test test) {
  return testing::RunOnTestRuntime(
      testing::RealRuntimeOptions(2),
      [](Self self, HttpServerOptions options, HttpHandler handler,
         Test test) -> Task<absl::Status> {
        absl::StatusOr<HttpServer> server =
            HttpServer::Start(self, SocketAddress::Loopback(), options, handler);
        SNOW_CO_RETURN_IF_ERROR(server.status());
        absl::Status result = co_await test(self, server->address());
        server->Stop();
        co_return result;
      },
      std::move(options), std::move(handler), std::move(test));
}

}  // namespace snow::net
