// HttpServer over real sockets on loopback: keep-alive, pipelining, bodies, HEAD, 100-continue,
// HTTP/1.0, every limit, malformed requests, HTTPS. The clients write raw bytes, so that what is
// tested is what goes over the wire.
#include "snow/net/http_server.h"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "snow/core/snow.h"
#include "snow/net/tcp.h"
#include "snow/net/tls.h"
#include "snow/test/net/http_testing.h"
#include "snow/test/testing/co_test.h"
#include "snow/test/testing/held_connections.h"

namespace snow::net {
namespace {

using ::snow::testing::IsOk;
using ::snow::testing::RealRuntimeOptions;
using ::snow::testing::RunOnTestRuntime;
using ::snow::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// "/echo": the body back; "/headers": how many headers came; anything else: the path.
Task<HttpResponse> TestHandler(Self, HttpRequest request) {
  if (request.path == "/echo") co_return HttpResponse::Text(200, request.body);
  if (request.path == "/headers") {
    co_return HttpResponse::Text(200, absl::StrCat(request.headers.size()));
  }
  if (request.path == "/missing") co_return HttpResponse::Text(404, "no such thing\n");
  co_return HttpResponse::Text(200, request.path).With("X-Method", request.method);
}

// Runs `test(self, address)` against a server with TestHandler.
template <typename Test>
absl::Status WithServer(HttpServerOptions options, Test test) {
  return WithHttpServer(std::move(options), TestHandler, test);
}

Task<absl::Status> KeepAliveThenClose(Self, SocketAddress address) {
  absl::StatusOr<std::string> got =
      co_await Exchange(address,
                        "GET /first HTTP/1.1\r\nHost: x\r\n\r\n"
                        "GET /second HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  SNOW_CO_RETURN_IF_ERROR(got.status());
  EXPECT_THAT(*got, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_EQ(Answers(*got), 2);
  EXPECT_THAT(*got, HasSubstr("Content-Length: 6\r\n"));
  EXPECT_THAT(*got, HasSubstr("Date: "));
  EXPECT_THAT(*got, HasSubstr("X-Method: GET\r\n"));
  // Only the second answer says close; the server then closed (Exchange returned).
  EXPECT_EQ(got->find("Connection: close"), got->rfind("Connection: close"));
  EXPECT_LT(got->find("/first"), got->find("Connection: close"));
  co_return absl::OkStatus();
}

TEST(HttpServerTest, KeepsTheConnectionAliveUntilConnectionClose) {
  EXPECT_THAT(WithServer({}, KeepAliveThenClose), IsOk());
}

Task<absl::Status> Pipelined(Self, SocketAddress address) {
  std::string requests;
  for (int i = 0; i < 50; ++i)
    absl::StrAppend(&requests, "GET /", i, " HTTP/1.1\r\nHost: x\r\n\r\n");
  absl::StrAppend(&requests, "GET /last HTTP/1.1\r\nConnection: close\r\n\r\n");
  absl::StatusOr<std::string> got = co_await Exchange(address, requests);
  SNOW_CO_RETURN_IF_ERROR(got.status());
  EXPECT_EQ(Answers(*got), 51);
  size_t at = 0;
  for (int i = 0; i < 50; ++i) {
    const size_t next = got->find(absl::StrCat("\r\n\r\n/", i), at);
    EXPECT_NE(next, std::string::npos) << "answer " << i << " missing or out of order";
    at = next;
  }
  EXPECT_NE(got->find("\r\n\r\n/last", at), std::string::npos);
  co_return absl::OkStatus();
}

TEST(HttpServerTest, AnswersPipelinedRequestsInOrder) {
  EXPECT_THAT(WithServer({}, Pipelined), IsOk());
}

Task<absl::Status> Bodies(Self, SocketAddress address) {
  absl::StatusOr<std::string> sized = co_await Exchange(
      address, "POST /echo HTTP/1.1\r\nContent-Length: 11\r\nConnection: close\r\n\r\nhello world");
  SNOW_CO_RETURN_IF_ERROR(sized.status());
  EXPECT_THAT(*sized, HasSubstr("Content-Length: 11\r\n"));
  EXPECT_THAT(*sized, HasSubstr("\r\n\r\nhello world"));
  absl::StatusOr<std::string> chunked = co_await Exchange(
      address,
      "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
      "5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\nTrailer: x\r\n\r\n");
  SNOW_CO_RETURN_IF_ERROR(chunked.status());
  EXPECT_THAT(*chunked, HasSubstr("\r\n\r\nhello world"));
  co_return absl::OkStatus();
}

TEST(HttpServerTest, ReadsContentLengthAndChunkedBodies) {
  EXPECT_THAT(WithServer({}, Bodies), IsOk());
}

Task<absl::Status> Head(Self, SocketAddress address) {
  absl::StatusOr<std::string> got =
      co_await Exchange(address, "HEAD /abc HTTP/1.1\r\nConnection: close\r\n\r\n");
  SNOW_CO_RETURN_IF_ERROR(got.status());
  EXPECT_THAT(*got, HasSubstr("Content-Length: 4\r\n"));  // what a GET would have had
  EXPECT_TRUE(absl::EndsWith(*got, "\r\n\r\n")) << *got;  // and no body
  co_return absl::OkStatus();
}

TEST(HttpServerTest, HeadAnswersTheHeadersOfAGetWithoutTheBody) {
  EXPECT_THAT(WithServer({}, Head), IsOk());
}

// The client sends the head, waits for "100 Continue", then sends the body.
Task<absl::Status> Continue(Self, SocketAddress address) {
  absl::StatusOr<TcpStream> stream = co_await TcpStream::Connect(address, kHttpTestTimeout);
  SNOW_CO_RETURN_IF_ERROR(stream.status());
  const std::string_view request_head =
      "POST /echo HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n"
      "Connection: close\r\n\r\n";
  absl::Status head = co_await stream->WriteAll(request_head, kHttpTestTimeout);
  SNOW_CO_RETURN_IF_ERROR(head);
  std::string interim(25, '\0');
  absl::Status read = co_await stream->ReadExactly(interim, kHttpTestTimeout);
  SNOW_CO_RETURN_IF_ERROR(read);
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  absl::Status body = co_await stream->WriteAll(std::string_view("ping"), kHttpTestTimeout);
  SNOW_CO_RETURN_IF_ERROR(body);
  std::string rest(4096, '\0');
  absl::StatusOr<size_t> n = co_await stream->ReadSome(std::span<char>(rest), kHttpTestTimeout);
  SNOW_CO_RETURN_IF_ERROR(n.status());
  rest.resize(*n);
  EXPECT_THAT(rest, StartsWith("HTTP/1.1 200 OK"));
  EXPECT_TRUE(absl::EndsWith(rest, "\r\n\r\nping")) << rest;
  co_return absl::OkStatus();
}

TEST(HttpServerTest, AnswersExpectContinueBeforeTheBodyIsSent) {
  EXPECT_THAT(WithServer({}, Continue), IsOk());
}

Task<absl::Status> Http10(Self, SocketAddress address) {
  absl::StatusOr<std::string> plain = co_await Exchange(address, "GET /old HTTP/1.0\r\n\r\n");
  SNOW_CO_RETURN_IF_ERROR(plain.status());
  EXPECT_EQ(Answers(*plain), 1);
  EXPECT_THAT(*plain, HasSubstr("Connection: close\r\n"));
  absl::StatusOr<std::string> kept = co_await Exchange(
      address, "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\n\r\n");
  SNOW_CO_RETURN_IF_ERROR(kept.status());
  EXPECT_EQ(Answers(*kept), 2);
  EXPECT_THAT(*kept, HasSubstr("Connection: keep-alive\r\n"));
  co_return absl::OkStatus();
}

TEST(HttpServerTest, ServesHttp10ClientsWithAndWithoutKeepAlive) {
  EXPECT_THAT(WithServer({}, Http10), IsOk());
}

// `request` gets the answer `status`, then the connection is closed, and the server goes on
// serving another connection.
Task<absl::Status> RefusedThenServing(SocketAddress address, std::string request, int status) {
  absl::StatusOr<std::string> got = co_await Exchange(address, request);
  SNOW_CO_RETURN_IF_ERROR(got.status());
  EXPECT_THAT(*got, StartsWith(absl::StrCat("HTTP/1.1 ", status, " ")));
  EXPECT_EQ(Answers(*got), 1) << *got;
  EXPECT_THAT(*got, HasSubstr("Connection: close\r\n"));
  absl::StatusOr<std::string> next =
      co_await Exchange(address, "GET /after HTTP/1.1\r\nConnection: close\r\n\r\n");
  SNOW_CO_RETURN_IF_ERROR(next.status());
  EXPECT_THAT(*next, StartsWith("HTTP/1.1 200 OK"));
  co_return absl::OkStatus();
}

HttpServerOptions SmallLimits() {
  HttpServerOptions o;
  o.max_header_bytes = 1024;
  o.max_headers = 8;
  o.max_body_bytes = 100;
  return o;
}

Task<absl::Status> Limits(Self, SocketAddress address) {
  const std::string long_header(2000, 'h');
  SNOW_CO_RETURN_IF_ERROR(co_await RefusedThenServing(
      address, absl::StrCat("GET / HTTP/1.1\r\nX-Long: ", long_header, "\r\n\r\n"), 431));
  const std::string long_target(2000, 'p');
  SNOW_CO_RETURN_IF_ERROR(co_await RefusedThenServing(
      address, absl::StrCat("GET /", long_target, " HTTP/1.1\r\n\r\n"), 431));
  std::string many = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 9; ++i) absl::StrAppend(&many, "X-", i, ": v\r\n");
  many += "\r\n";
  SNOW_CO_RETURN_IF_ERROR(co_await RefusedThenServing(address, many, 431));
  // Refused from Content-Length alone: the body is never sent.
  SNOW_CO_RETURN_IF_ERROR(co_await RefusedThenServing(
      address, "POST /echo HTTP/1.1\r\nContent-Length: 101\r\n\r\n", 413));
  SNOW_CO_RETURN_IF_ERROR(co_await RefusedThenServing(
      address,
      absl::StrCat("POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n",
                   std::string(64, 'a'), "\r\n40\r\n", std::string(64, 'b'), "\r\n0\r\n\r\n"),
      413));
  SNOW_CO_RETURN_IF_ERROR(co_await RefusedThenServing(
      address, "POST /echo HTTP/1.1\r\nContent-Length: 3\r\nExpect: coffee\r\n\r\n", 417));
  // Exactly at the limits: served.
  absl::StatusOr<std::string> fits = co_await Exchange(
      address,
      absl::StrCat("POST /echo HTTP/1.1\r\nContent-Length: 100\r\nConnection: close\r\n\r\n",
                   std::string(100, 'x')));
  SNOW_CO_RETURN_IF_ERROR(fits.status());
  EXPECT_THAT(*fits, StartsWith("HTTP/1.1 200 OK"));
  co_return absl::OkStatus();
}

TEST(HttpServerTest, EveryLimitIsAnsweredAndOnlyThatConnectionClosed) {
  EXPECT_THAT(WithServer(SmallLimits(), Limits), IsOk());
}

Task<absl::Status> Malformed(Self, SocketAddress address) {
  SNOW_CO_RETURN_IF_ERROR(co_await RefusedThenServing(address, "GET\r\n\r\n", 400));
  SNOW_CO_RETURN_IF_ERROR(co_await RefusedThenServing(address, "GET / HTTP/9.1\r\n\r\n", 505));
  SNOW_CO_RETURN_IF_ERROR(
      co_await RefusedThenServing(address, "GET / HTTP/1.1\r\nNo colon here\r\n\r\n", 400));
  SNOW_CO_RETURN_IF_ERROR(co_await RefusedThenServing(
      address, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
      400));
  SNOW_CO_RETURN_IF_ERROR(co_await RefusedThenServing(
      address, "POST /echo HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400));
  std::string binary = "GET / HTTP/1.1\r\nX: ";
  binary += std::string("\x01\x02\x7f", 3);
  binary += "\r\n\r\n";
  SNOW_CO_RETURN_IF_ERROR(co_await RefusedThenServing(address, binary, 400));
  co_return absl::OkStatus();
}

TEST(HttpServerTest, MalformedRequestsGet400AndTheServerGoesOn) {
  EXPECT_THAT(WithServer({}, Malformed), IsOk());
}

// Slowloris: a head that never ends gets 408 after header_timeout, and the connection closes.
Task<absl::Status> SlowHead(Self, SocketAddress address) {
  absl::StatusOr<std::string> got = co_await Exchange(address, "GET / HTTP/1.1\r\nHost: x\r\n");
  SNOW_CO_RETURN_IF_ERROR(got.status());
  EXPECT_THAT(*got, StartsWith("HTTP/1.1 408 "));
  // Idle: a connection that never starts a request is closed without an answer.
  absl::StatusOr<std::string> idle = co_await Exchange(address, "");
  SNOW_CO_RETURN_IF_ERROR(idle.status());
  EXPECT_EQ(*idle, "");
  co_return absl::OkStatus();
}

TEST(HttpServerTest, AHeadThatNeverEndsGets408AndAnIdleConnectionIsClosed) {
  HttpServerOptions options;
  options.header_timeout = absl::Milliseconds(300);
  options.idle_timeout = absl::Milliseconds(300);
  EXPECT_THAT(WithServer(options, SlowHead), IsOk());
}

Task<absl::Status> RequestsPerConnection(Self, SocketAddress address) {
  std::string requests;
  for (int i = 0; i < 5; ++i) absl::StrAppend(&requests, "GET /", i, " HTTP/1.1\r\n\r\n");
  absl::StatusOr<std::string> got = co_await Exchange(address, requests);
  SNOW_CO_RETURN_IF_ERROR(got.status());
  EXPECT_EQ(Answers(*got), 3);
  EXPECT_THAT(*got, HasSubstr("Connection: close\r\n"));
  EXPECT_THAT(*got, Not(HasSubstr("/3")));
  co_return absl::OkStatus();
}

TEST(HttpServerTest, TheLastRequestAConnectionMayMakeIsAnsweredWithClose) {
  HttpServerOptions options;
  options.max_requests_per_connection = 3;
  EXPECT_THAT(WithServer(options, RequestsPerConnection), IsOk());
}

// Slowloris: 2,000 connections from one address send half a head and nothing more, and are
// re-opened as soon as the server answers 408 and closes them; meanwhile requests from another
// address are answered.
Task<absl::Status> ServedDuringSlowloris(Self, SocketAddress address) {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, 8192);
  setrlimit(RLIMIT_NOFILE, &limit);
  const int count = static_cast<int>(std::min<rlim_t>(2000, (limit.rlim_cur - 256) / 2));
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> reopened{0};
  std::latch holding{1};
  std::thread attacker(testing::HoldConnections, address.port(), count,
                       std::string("GET / HTTP/1.1\r\nHost: x\r\n"), &stop, &holding, &reopened);
  while (!holding.try_wait()) co_await Sleep(absl::Milliseconds(10));  // not the shard's thread
  absl::Status served = absl::OkStatus();
  for (int i = 0; i < 5 && served.ok(); ++i) {
    absl::StatusOr<std::string> got =
        co_await Exchange(address, "GET /legit HTTP/1.1\r\nConnection: close\r\n\r\n");
    served = got.status();
    if (got.ok()) {
      EXPECT_THAT(*got, StartsWith("HTTP/1.1 200 OK")) << "request " << i;
    }
  }
  // Until the attacker has seen its connections answered 408 and closed at least once.
  while (reopened.load() < static_cast<uint64_t>(count)) co_await Sleep(absl::Milliseconds(10));
  stop.store(true);
  attacker.join();
  std::printf("%d slow connections held from 127.0.0.2; the server closed %llu of them\n", count,
              static_cast<unsigned long long>(reopened.load()));
  co_return served;
}

TEST(HttpServerTest, SlowConnectionsFromOneAddressDoNotLockOthersOut) {
  HttpServerOptions options;
  options.header_timeout = absl::Seconds(1);
  EXPECT_THAT(WithServer(options, ServedDuringSlowloris), IsOk());
}

Task<absl::Status> Https(Self, SocketAddress address) {
  absl::StatusOr<TlsContext> context = TlsContext::Create({});
  SNOW_CO_RETURN_IF_ERROR(context.status());
  absl::StatusOr<TcpStream> tcp = co_await TcpStream::Connect(address, kHttpTestTimeout);
  SNOW_CO_RETURN_IF_ERROR(tcp.status());
  absl::StatusOr<TlsStream> tls = co_await TlsStream::Handshake(*context, std::move(*tcp));
  SNOW_CO_RETURN_IF_ERROR(tls.status());
  const std::string_view request = "GET /secure HTTP/1.1\r\nConnection: close\r\n\r\n";
  absl::Status sent = co_await tls->WriteAll(request, kHttpTestTimeout);
  SNOW_CO_RETURN_IF_ERROR(sent);
  std::string got;
  std::vector<char> buffer(4096);
  for (;;) {
    absl::StatusOr<size_t> n = co_await tls->ReadSome(std::span<char>(buffer), kHttpTestTimeout);
    SNOW_CO_RETURN_IF_ERROR(n.status());
    if (*n == 0) break;  // close_notify
    got.append(buffer.data(), *n);
  }
  EXPECT_THAT(got, StartsWith("HTTP/1.1 200 OK"));
  EXPECT_TRUE(absl::EndsWith(got, "\r\n\r\n/secure")) << got;
  co_return absl::OkStatus();
}

TEST(HttpServerTest, ServesHttpsThroughTheSameConnectionLoop) {
  absl::StatusOr<TlsCertificate> certificate = TlsCertificate::GenerateSelfSigned();
  ASSERT_THAT(certificate, IsOk());
  absl::StatusOr<TlsContext> context =
      TlsContext::Create({.role = TlsRole::kServer, .certificate = *certificate});
  ASSERT_THAT(context, IsOk());
  HttpServerOptions options;
  options.tls = *context;
  EXPECT_THAT(WithServer(options, Https), IsOk());
}

}  // namespace
}  // namespace snow::net
