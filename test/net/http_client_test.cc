// HttpClient against Snow's HTTP server and against raw servers that write exact bytes, on
// loopback: keep-alive, pipelining, HEAD, bodies (Content-Length, chunked, to the close),
// interim answers, HTTPS, timeouts, malformed and oversized answers; and the server's streamed
// (chunked) responses.
#include "snow/net/http_client.h"

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "snow/core/snow.h"
#include "snow/net/http_server.h"
#include "snow/net/tcp.h"
#include "snow/net/tls.h"
#include "snow/test/net/http_testing.h"
#include "snow/test/testing/co_test.h"

namespace snow::net {
namespace {

using ::snow::testing::IsOk;
using ::snow::testing::RealRuntimeOptions;
using ::snow::testing::RunOnTestRuntime;
using ::snow::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

Task<absl::Status> Ticks(Self, HttpBodyWriter& body) {
  for (int i = 0; i < 3; ++i) {
    std::string piece = absl::StrCat("tick ", i, "\n");
    absl::Status written = co_await body.Write(piece);
    SNOW_CO_RETURN_IF_ERROR(written);
  }
  co_return absl::OkStatus();
}

Task<absl::Status> HalfThenFail(Self, HttpBodyWriter& body) {
  absl::Status written = co_await body.Write(std::string_view("half"));
  SNOW_CO_RETURN_IF_ERROR(written);
  co_return absl::InternalError("the producer failed");
}

Task<absl::Status> ThreeOfTen(Self, HttpBodyWriter& body) {
  co_return co_await body.Write(std::string_view("abc"));
}

// "/short": a streamed body that declares 10 bytes and writes 3; "/echo": the body back; "/slow":
// answers after a second; "/ticks": a streamed body;
// "/broken": a streamed body that fails half-way; anything else: method and target.
Task<HttpResponse> Handler(Self, HttpRequest request) {
  if (request.path == "/echo") co_return HttpResponse::Text(200, request.body);
  if (request.path == "/slow") {
    co_await Sleep(absl::Seconds(1));
    co_return HttpResponse::Text(200, "late");
  }
  if (request.path == "/ticks") co_return HttpResponse::Streamed(200, Ticks);
  if (request.path == "/broken") co_return HttpResponse::Streamed(200, HalfThenFail);
  if (request.path == "/bad-length") {
    co_return HttpResponse::Streamed(200, ThreeOfTen).With("Content-Length", "ten");
  }
  if (request.path == "/short") {
    co_return HttpResponse::Streamed(200, ThreeOfTen).With("Content-Length", "10");
  }
  co_return HttpResponse::Text(200, absl::StrCat(request.method, " ", request.target))
      .With("X-Target", request.target);
}

template <typename Test>
absl::Status WithServer(HttpServerOptions options, Test test) {
  return WithHttpServer(std::move(options), Handler, test);
}

Task<absl::Status> KeepAlive(Self, SocketAddress address) {
  absl::StatusOr<HttpClient> client = co_await HttpClient::Connect(address);
  SNOW_CO_RETURN_IF_ERROR(client.status());
  absl::StatusOr<HttpResponse> first = co_await client->Get("/a");
  SNOW_CO_RETURN_IF_ERROR(first.status());
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->body, "GET /a");
  EXPECT_EQ(first->Header("x-target").value_or(""), "/a");
  EXPECT_TRUE(client->open());
  HttpRequest post;
  post.method = "POST";
  post.target = "/echo";
  post.body = "a body";
  absl::StatusOr<HttpResponse> second = co_await client->Fetch(post);
  SNOW_CO_RETURN_IF_ERROR(second.status());
  EXPECT_EQ(second->body, "a body");
  // The server serves two requests per connection here: the second answer closed it.
  EXPECT_FALSE(client->open());
  absl::StatusOr<HttpResponse> got1 = co_await client->Get("/c");
  EXPECT_THAT(got1, StatusIs(absl::StatusCode::kFailedPrecondition));
  co_return absl::OkStatus();
}

TEST(HttpClientTest, KeepsTheConnectionAliveUntilTheServerCloses) {
  EXPECT_THAT(WithServer({.max_requests_per_connection = 2}, KeepAlive), IsOk());
}

Task<absl::Status> Pipelined(Self, SocketAddress address) {
  absl::StatusOr<HttpClient> client = co_await HttpClient::Connect(address);
  SNOW_CO_RETURN_IF_ERROR(client.status());
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 16; ++i) {
      HttpRequest r;
      r.method = i % 4 == 3 ? "HEAD" : "GET";
      r.target = absl::StrCat("/", round, "/", i);
      client->Queue(r);
    }
    EXPECT_EQ(client->pending(), 16u);
    for (int i = 0; i < 16; ++i) {
      absl::StatusOr<HttpResponse> r = co_await client->Receive();
      SNOW_CO_RETURN_IF_ERROR(r.status());
      const std::string target = absl::StrCat("/", round, "/", i);
      EXPECT_EQ(r->Header("X-Target").value_or(""), target) << "answers out of order";
      // A HEAD's answer has the length of the GET's body and no body.
      EXPECT_EQ(r->body, i % 4 == 3 ? "" : absl::StrCat("GET ", target));
    }
  }
  absl::StatusOr<HttpResponse> got2 = co_await client->Receive();
  EXPECT_THAT(got2, StatusIs(absl::StatusCode::kFailedPrecondition));
  co_return co_await client->Close();
}

TEST(HttpClientTest, PipelinesRequestsAndReadsTheAnswersInOrder) {
  EXPECT_THAT(WithServer({}, Pipelined), IsOk());
}

Task<absl::Status> Streamed(Self, SocketAddress address) {
  absl::StatusOr<HttpClient> client = co_await HttpClient::Connect(address);
  SNOW_CO_RETURN_IF_ERROR(client.status());
  absl::StatusOr<HttpResponse> ticks = co_await client->Get("/ticks");
  SNOW_CO_RETURN_IF_ERROR(ticks.status());
  EXPECT_EQ(ticks->body, "tick 0\ntick 1\ntick 2\n");
  EXPECT_EQ(ticks->Header("Transfer-Encoding").value_or(""), "chunked");
  EXPECT_FALSE(ticks->Header("Content-Length").has_value());
  // The connection goes on after a chunked answer.
  absl::StatusOr<HttpResponse> after = co_await client->Get("/after");
  SNOW_CO_RETURN_IF_ERROR(after.status());
  EXPECT_EQ(after->body, "GET /after");

  // On the wire: one chunk per Write, then the last chunk.
  absl::StatusOr<std::string> raw =
      co_await Exchange(address, "GET /ticks HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  SNOW_CO_RETURN_IF_ERROR(raw.status());
  EXPECT_THAT(*raw,
              HasSubstr("\r\n\r\n7\r\ntick 0\n\r\n7\r\ntick 1\n\r\n7\r\ntick 2\n\r\n0\r\n\r\n"));
  // HTTP/1.0 cannot read chunks: the bytes as they come, then the close ends the body.
  absl::StatusOr<std::string> old = co_await Exchange(address, "GET /ticks HTTP/1.0\r\n\r\n");
  SNOW_CO_RETURN_IF_ERROR(old.status());
  EXPECT_THAT(*old, Not(HasSubstr("chunked")));
  EXPECT_TRUE(absl::EndsWith(*old, "\r\n\r\ntick 0\ntick 1\ntick 2\n")) << *old;
  // HEAD: the head of the streamed answer, and the producer does not run.
  absl::StatusOr<std::string> head =
      co_await Exchange(address, "HEAD /ticks HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  SNOW_CO_RETURN_IF_ERROR(head.status());
  EXPECT_TRUE(absl::EndsWith(*head, "\r\n\r\n")) << *head;

  // A producer that fails cuts the body short: the client sees the connection end mid-answer.
  absl::StatusOr<HttpClient> second = co_await HttpClient::Connect(address);
  SNOW_CO_RETURN_IF_ERROR(second.status());
  absl::StatusOr<HttpResponse> got3 = co_await second->Get("/broken");
  EXPECT_THAT(got3, StatusIs(absl::StatusCode::kUnavailable));
  // So does one that writes less than the length it declared.
  absl::StatusOr<HttpClient> third = co_await HttpClient::Connect(address);
  SNOW_CO_RETURN_IF_ERROR(third.status());
  absl::StatusOr<HttpResponse> short_body = co_await third->Get("/short");
  EXPECT_THAT(short_body, StatusIs(absl::StatusCode::kUnavailable));
  // A declared length that is not a number is the handler's mistake: a plain 500.
  absl::StatusOr<HttpClient> fourth = co_await HttpClient::Connect(address);
  SNOW_CO_RETURN_IF_ERROR(fourth.status());
  absl::StatusOr<HttpResponse> refused = co_await fourth->Get("/bad-length");
  SNOW_CO_RETURN_IF_ERROR(refused.status());
  EXPECT_EQ(refused->status, 500);
  EXPECT_THAT(refused->body, HasSubstr("Content-Length is not a number"));
  co_return co_await client->Close();
}

TEST(HttpClientTest, ReadsStreamedChunkedAnswersAndTheServerWritesEachPieceAsAChunk) {
  EXPECT_THAT(WithServer({}, Streamed), IsOk());
}

Task<absl::Status> TimesOut(Self, SocketAddress address) {
  const HttpClientOptions options = {.timeout = absl::Milliseconds(100)};
  absl::StatusOr<HttpClient> client = co_await HttpClient::Connect(address, options);
  SNOW_CO_RETURN_IF_ERROR(client.status());
  absl::StatusOr<HttpResponse> got4 = co_await client->Get("/slow");
  EXPECT_THAT(got4, StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_FALSE(client->open());
  co_return absl::OkStatus();
}

TEST(HttpClientTest, AnAnswerLaterThanTheTimeoutFails) {
  EXPECT_THAT(WithServer({}, TimesOut), IsOk());
}

Task<absl::Status> OverHttps(Self, SocketAddress address) {
  absl::StatusOr<TlsContext> tls = TlsContext::Create({});
  SNOW_CO_RETURN_IF_ERROR(tls.status());
  const HttpClientOptions options = {.tls = *tls};
  absl::StatusOr<HttpClient> client = co_await HttpClient::Connect(address, options);
  SNOW_CO_RETURN_IF_ERROR(client.status());
  for (int i = 0; i < 3; ++i) {
    const std::string target = absl::StrCat("/secure/", i);
    absl::StatusOr<HttpResponse> r = co_await client->Get(target);
    SNOW_CO_RETURN_IF_ERROR(r.status());
    EXPECT_EQ(r->body, absl::StrCat("GET /secure/", i));
  }
  absl::StatusOr<HttpResponse> ticks = co_await client->Get("/ticks");
  SNOW_CO_RETURN_IF_ERROR(ticks.status());
  EXPECT_EQ(ticks->body, "tick 0\ntick 1\ntick 2\n");
  co_return co_await client->Close();
}

TEST(HttpClientTest, SpeaksHttps) {
  absl::StatusOr<TlsCertificate> certificate = TlsCertificate::GenerateSelfSigned();
  ASSERT_THAT(certificate, IsOk());
  absl::StatusOr<TlsContext> context =
      TlsContext::Create({.role = TlsRole::kServer, .certificate = *certificate});
  ASSERT_THAT(context, IsOk());
  HttpServerOptions options;
  options.tls = *context;
  EXPECT_THAT(WithServer(options, OverHttps), IsOk());
}

// A server that reads one request head and answers with exactly `answer`, then closes.
Task<absl::Status> AnswerOnce(Self, TcpListener listener, std::string answer) {
  absl::StatusOr<TcpStream> stream = co_await listener.Accept();
  SNOW_CO_RETURN_IF_ERROR(stream.status());
  absl::StatusOr<std::string> request = co_await ReadRequestHead(*stream);
  if (!request.ok()) co_return absl::OkStatus();  // the client gave up: nothing to answer
  absl::Status written = co_await stream->WriteAll(answer, kHttpTestTimeout);
  SNOW_CO_RETURN_IF_ERROR(written);
  co_return co_await stream->Close();
}

// What a client with `options` gets for `count` pipelined GETs from a server that answers all
// of them with `answer`: the last answer (or the first error).
absl::StatusOr<HttpResponse> AnswerTo(std::string answer, HttpClientOptions options = {},
                                      int count = 1) {
  absl::StatusOr<HttpResponse> got = absl::UnknownError("not run");
  absl::Status ran = RunOnTestRuntime(
      RealRuntimeOptions(1),
      [](Self self, std::string answer, HttpClientOptions options, int count,
         std::reference_wrapper<absl::StatusOr<HttpResponse>> got) -> Task<absl::Status> {
        absl::StatusOr<TcpListener> listener = TcpListener::Bind(SocketAddress::Loopback());
        SNOW_CO_RETURN_IF_ERROR(listener.status());
        const SocketAddress address = listener->local_address();
        self.Spawn(AnswerOnce, std::move(*listener), std::move(answer));
        absl::StatusOr<HttpClient> client = co_await HttpClient::Connect(address, options);
        SNOW_CO_RETURN_IF_ERROR(client.status());
        HttpRequest get;
        for (int i = 0; i < count; ++i) client->Queue(get);
        for (int i = 0; i < count; ++i) {
          got.get() = co_await client->Receive();
          if (!got.get().ok()) break;
        }
        co_return absl::OkStatus();
      },
      std::move(answer), std::move(options), count, std::ref(got));
  if (!ran.ok()) return ran;
  return got;
}

TEST(HttpClientTest, ReadsBodiesByLengthByChunksAndToTheClose) {
  absl::StatusOr<HttpResponse> sized =
      AnswerTo("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
  ASSERT_THAT(sized, IsOk());
  EXPECT_EQ(sized->body, "hello");
  absl::StatusOr<HttpResponse> chunked = AnswerTo(
      "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;name=value\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n");
  ASSERT_THAT(chunked, IsOk());
  EXPECT_EQ(chunked->status, 201);
  EXPECT_EQ(chunked->body, "hello world");
  absl::StatusOr<HttpResponse> to_close = AnswerTo("HTTP/1.1 200 OK\r\n\r\nuntil the end");
  ASSERT_THAT(to_close, IsOk());
  EXPECT_EQ(to_close->body, "until the end");
  absl::StatusOr<HttpResponse> interim =
      AnswerTo("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  ASSERT_THAT(interim, IsOk());
  EXPECT_EQ(interim->status, 200);
  EXPECT_EQ(interim->body, "ok");
}

TEST(HttpClientTest, NoBodyFollowsA304OrA204WhateverItsContentLengthSays) {
  // A 304's Content-Length is the size of what it did not send: the next answer follows at once.
  absl::StatusOr<HttpResponse> after_304 = AnswerTo(
      "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
      {}, 2);
  ASSERT_THAT(after_304, IsOk());
  EXPECT_EQ(after_304->status, 200);
  EXPECT_EQ(after_304->body, "ok");
  absl::StatusOr<HttpResponse> after_204 = AnswerTo(
      "HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nyes",
      {}, 2);
  ASSERT_THAT(after_204, IsOk());
  EXPECT_EQ(after_204->body, "yes");
}

TEST(HttpClientTest, MalformedOversizedAndCutAnswersAreErrors) {
  EXPECT_THAT(AnswerTo("garbage\r\n\r\n"), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(AnswerTo("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(AnswerTo("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", {.max_body_bytes = 99}),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(AnswerTo(absl::StrCat("HTTP/1.1 200 OK\r\nX: ", std::string(2000, 'x'), "\r\n\r\n"),
                       {.max_header_bytes = 1000}),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(AnswerTo("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(AnswerTo(""), StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace snow::net
