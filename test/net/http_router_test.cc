// HttpRouter and ServeFiles behind a real HttpServer: routes with parameters, 404 and 405,
// HEAD through GET, and static files with their headers, 304s and every way out of the folder
// refused.
#include "snow/net/http_router.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "snow/net/http_client.h"
#include "snow/net/http_files.h"
#include "snow/test/net/http_testing.h"
#include "snow/test/testing/co_test.h"

namespace snow::net {
namespace {

using ::snow::testing::IsOk;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

Task<HttpResponse> ShowRoom(Self, HttpRequest request) {
  co_return HttpResponse::Text(200, absl::StrCat("room ", AbslView(*request.Param("id")), " of ",
                                                 AbslView(*request.Param("house"))));
}
Task<HttpResponse> PostRoom(Self, HttpRequest request) {
  co_return HttpResponse::Text(201, absl::StrCat("posted ", request.body));
}
Task<HttpResponse> Rest(Self, HttpRequest request) {
  co_return HttpResponse::Text(200, absl::StrCat("rest=", AbslView(*request.Param("rest"))));
}

HttpHandler Routes() {
  HttpRouter router;
  router.Get("/houses/:house/rooms/:id", ShowRoom)
      .Post("/houses/:house/rooms/:id", PostRoom)
      .Get("/any/*rest", Rest);
  return router.handler();
}

// The body of the one answer to `request` (sent with Connection: close).
Task<absl::StatusOr<std::string>> Ask(SocketAddress address, std::string request_line,
                                      std::string extra = "") {
  co_return co_await Exchange(
      address, absl::StrCat(request_line, " HTTP/1.1\r\n", extra, "Connection: close\r\n\r\n"));
}

Task<absl::Status> Routing(Self, SocketAddress address) {
  absl::StatusOr<std::string> room = co_await Ask(address, "GET /houses/h%201/rooms/7");
  SNOW_CO_RETURN_IF_ERROR(room.status());
  EXPECT_THAT(*room, StartsWith("HTTP/1.1 200 OK"));
  EXPECT_THAT(*room, HasSubstr("\r\n\r\nroom 7 of h 1"));
  absl::StatusOr<std::string> posted = co_await Exchange(
      address,
      "POST /houses/a/rooms/1 HTTP/1.1\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi");
  SNOW_CO_RETURN_IF_ERROR(posted.status());
  EXPECT_THAT(*posted, StartsWith("HTTP/1.1 201 Created"));
  EXPECT_THAT(*posted, HasSubstr("posted hi"));
  absl::StatusOr<std::string> wrong = co_await Ask(address, "DELETE /houses/a/rooms/1");
  SNOW_CO_RETURN_IF_ERROR(wrong.status());
  EXPECT_THAT(*wrong, StartsWith("HTTP/1.1 405 "));
  EXPECT_THAT(*wrong, HasSubstr("Allow: GET, POST\r\n"));
  absl::StatusOr<std::string> missing = co_await Ask(address, "GET /houses/a/rooms");
  SNOW_CO_RETURN_IF_ERROR(missing.status());
  EXPECT_THAT(*missing, StartsWith("HTTP/1.1 404 "));
  // A parameter never names another path.
  absl::StatusOr<std::string> slash = co_await Ask(address, "GET /houses/a%2fb/rooms/1");
  SNOW_CO_RETURN_IF_ERROR(slash.status());
  EXPECT_THAT(*slash, StartsWith("HTTP/1.1 404 "));
  absl::StatusOr<std::string> head = co_await Ask(address, "HEAD /houses/x/rooms/2");
  SNOW_CO_RETURN_IF_ERROR(head.status());
  EXPECT_THAT(*head, StartsWith("HTTP/1.1 200 OK"));
  EXPECT_THAT(*head, HasSubstr("Content-Length: 11\r\n"));
  EXPECT_THAT(*head, Not(HasSubstr("room 2")));
  absl::StatusOr<std::string> rest = co_await Ask(address, "GET /any/a/b%20c/d");
  SNOW_CO_RETURN_IF_ERROR(rest.status());
  EXPECT_THAT(*rest, HasSubstr("rest=a/b c/d"));
  absl::StatusOr<std::string> empty = co_await Ask(address, "GET /any");
  SNOW_CO_RETURN_IF_ERROR(empty.status());
  EXPECT_THAT(*empty, HasSubstr("\r\n\r\nrest="));
  co_return absl::OkStatus();
}

TEST(HttpRouterTest, RoutesByMethodAndPathWithParameters) {
  EXPECT_THAT(WithHttpServer({}, Routes(), Routing), IsOk());
}

TEST(HttpRouterTest, PercentDecodeRejectsBrokenEscapes) {
  EXPECT_EQ(PercentDecode("a%20b%2F"), "a b/");
  EXPECT_EQ(PercentDecode("%"), std::nullopt);
  EXPECT_EQ(PercentDecode("%2"), std::nullopt);
  EXPECT_EQ(PercentDecode("%zz"), std::nullopt);
}

void WriteFile(const std::string& path, const std::string& contents) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  SNOW_CHECK(f != nullptr, path);
  std::fwrite(contents.data(), 1, contents.size(), f);
  std::fclose(f);
}

// <dir>/www is served; <dir>/secret.txt sits beside it.
struct Site {
  std::string dir;
  Site() {
    char pattern[] = "/tmp/snow-www-XXXXXX";
    dir = mkdtemp(pattern);
    const std::string www = dir + "/www";
    SNOW_CHECK(mkdir(www.c_str(), 0755) == 0 && mkdir((www + "/sub").c_str(), 0755) == 0, www);
    WriteFile(dir + "/secret.txt", "secret");
    WriteFile(www + "/index.html", "<h1>home</h1>");
    WriteFile(www + "/a.txt", "alpha");
    WriteFile(www + "/sub/b.css", "b{}");
    SNOW_CHECK(symlink((dir + "/secret.txt").c_str(), (www + "/out").c_str()) == 0, "symlink");
    SNOW_CHECK(symlink("../secret.txt", (www + "/up").c_str()) == 0, "symlink");
    SNOW_CHECK(symlink("a.txt", (www + "/in").c_str()) == 0, "symlink");
  }
  ~Site() { (void)std::system(absl::StrCat("rm -rf '", dir, "'").c_str()); }
};

std::string Body(const std::string& answer) { return answer.substr(answer.find("\r\n\r\n") + 4); }

std::string HeaderValue(const std::string& answer, const std::string& name) {
  const size_t at = answer.find(name + ": ");
  if (at == std::string::npos) return "";
  const size_t start = at + name.size() + 2;
  return answer.substr(start, answer.find("\r\n", start) - start);
}

Task<absl::Status> Files(Self, SocketAddress address) {
  absl::StatusOr<std::string> a = co_await Ask(address, "GET /files/a.txt");
  SNOW_CO_RETURN_IF_ERROR(a.status());
  EXPECT_THAT(*a, StartsWith("HTTP/1.1 200 OK"));
  EXPECT_EQ(Body(*a), "alpha");
  EXPECT_EQ(HeaderValue(*a, "Content-Type"), "text/plain; charset=utf-8");
  const std::string etag = HeaderValue(*a, "ETag");
  const std::string modified = HeaderValue(*a, "Last-Modified");
  EXPECT_THAT(etag, StartsWith("\""));
  EXPECT_THAT(modified, HasSubstr(" GMT"));

  absl::StatusOr<std::string> same =
      co_await Ask(address, "GET /files/a.txt", absl::StrCat("If-None-Match: ", etag, "\r\n"));
  SNOW_CO_RETURN_IF_ERROR(same.status());
  EXPECT_THAT(*same, StartsWith("HTTP/1.1 304 "));
  EXPECT_EQ(Body(*same), "");
  absl::StatusOr<std::string> since = co_await Ask(
      address, "GET /files/a.txt", absl::StrCat("If-Modified-Since: ", modified, "\r\n"));
  SNOW_CO_RETURN_IF_ERROR(since.status());
  EXPECT_THAT(*since, StartsWith("HTTP/1.1 304 "));
  absl::StatusOr<std::string> other =
      co_await Ask(address, "GET /files/a.txt", "If-None-Match: \"other\"\r\n");
  SNOW_CO_RETURN_IF_ERROR(other.status());
  EXPECT_THAT(*other, StartsWith("HTTP/1.1 200 "));

  absl::StatusOr<std::string> index = co_await Ask(address, "GET /files/");
  SNOW_CO_RETURN_IF_ERROR(index.status());
  EXPECT_EQ(Body(*index), "<h1>home</h1>");
  EXPECT_EQ(HeaderValue(*index, "Content-Type"), "text/html; charset=utf-8");
  absl::StatusOr<std::string> css = co_await Ask(address, "GET /files/sub/b.css");
  SNOW_CO_RETURN_IF_ERROR(css.status());
  EXPECT_EQ(HeaderValue(*css, "Content-Type"), "text/css; charset=utf-8");
  absl::StatusOr<std::string> head = co_await Ask(address, "HEAD /files/a.txt");
  SNOW_CO_RETURN_IF_ERROR(head.status());
  EXPECT_EQ(HeaderValue(*head, "Content-Length"), "5");
  EXPECT_EQ(Body(*head), "");
  absl::StatusOr<std::string> in = co_await Ask(address, "GET /files/in");
  SNOW_CO_RETURN_IF_ERROR(in.status());
  EXPECT_EQ(Body(*in), "alpha");  // a link that stays inside is followed
  absl::StatusOr<std::string> missing = co_await Ask(address, "GET /files/nothing.txt");
  SNOW_CO_RETURN_IF_ERROR(missing.status());
  EXPECT_THAT(*missing, StartsWith("HTTP/1.1 404 "));

  // Every way out of the folder is refused by the kernel's RESOLVE_BENEATH: 403.
  for (const char* escape :
       {"/files/../secret.txt", "/files/%2e%2e/secret.txt", "/files/%2E%2E%2Fsecret.txt",
        "/files/sub/../../secret.txt", "/files/%2f%2e%2e/secret.txt", "/files/out", "/files/up"}) {
    absl::StatusOr<std::string> refused = co_await Ask(address, absl::StrCat("GET ", escape));
    SNOW_CO_RETURN_IF_ERROR(refused.status());
    EXPECT_THAT(*refused, StartsWith("HTTP/1.1 403 ")) << escape;
    EXPECT_NE(Body(*refused), "secret") << escape;
  }
  // An absolute path is taken as relative to the folder.
  absl::StatusOr<std::string> absolute = co_await Ask(address, "GET /files//etc/passwd");
  SNOW_CO_RETURN_IF_ERROR(absolute.status());
  EXPECT_THAT(*absolute, StartsWith("HTTP/1.1 404 "));
  co_return absl::OkStatus();
}

TEST(HttpFilesTest, ServesAFolderWithItsHeadersAndNothingOutsideIt) {
  Site site;
  absl::StatusOr<HttpHandler> files = ServeFiles(site.dir + "/www");
  ASSERT_THAT(files, IsOk());
  HttpRouter router;
  router.Get("/files/*path", *files);
  EXPECT_THAT(WithHttpServer({}, router.handler(), Files), IsOk());
  EXPECT_THAT(ServeFiles(site.dir + "/none").status(),
              ::snow::testing::StatusIs(absl::StatusCode::kNotFound));
}

std::string LargeContent() {
  std::string content(1024 * 1024 + 3, '\0');
  for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>('a' + i * 31 % 26);
  return content;
}

Task<absl::Status> LargeFiles(Self, SocketAddress address) {
  absl::StatusOr<HttpClient> client = co_await HttpClient::Connect(address);
  SNOW_CO_RETURN_IF_ERROR(client.status());
  HttpRequest head;
  head.method = "HEAD";
  head.target = "/files/large.bin";
  HttpRequest get;
  get.target = "/files/large.bin";
  client->Queue(head);
  client->Queue(get);
  client->Queue(get);
  absl::StatusOr<HttpResponse> headed = co_await client->Receive();
  SNOW_CO_RETURN_IF_ERROR(headed.status());
  EXPECT_EQ(headed->Header("Content-Length").value_or(""), "1048579");
  EXPECT_EQ(headed->body, "");
  const std::string content = LargeContent();
  for (int i = 0; i < 2; ++i) {  // streamed under its length, the connection kept alive
    absl::StatusOr<HttpResponse> got = co_await client->Receive();
    SNOW_CO_RETURN_IF_ERROR(got.status());
    EXPECT_EQ(got->status, 200);
    EXPECT_EQ(got->Header("Content-Length").value_or(""), "1048579");
    EXPECT_FALSE(got->Header("Transfer-Encoding").has_value());
    EXPECT_TRUE(got->body == content) << "body of " << got->body.size() << " bytes differs";
  }
  EXPECT_TRUE(client->open());
  co_return co_await client->Close();
}

TEST(HttpFilesTest, StreamsLargeFilesUnderTheirLengthAndHeadReadsNothing) {
  Site site;
  const std::string content = LargeContent();
  FILE* f = std::fopen((site.dir + "/www/large.bin").c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(std::fwrite(content.data(), 1, content.size(), f), content.size());
  std::fclose(f);
  absl::StatusOr<HttpHandler> files =
      ServeFiles(site.dir + "/www", {.stream_above_bytes = 64 * 1024});
  ASSERT_THAT(files, IsOk());
  HttpRouter router;
  router.Get("/files/*path", *files);
  EXPECT_THAT(WithHttpServer({}, router.handler(), LargeFiles), IsOk());
}

TEST(HttpFilesTest, ContentTypesComeFromTheExtension) {
  EXPECT_EQ(ContentTypeOf("a/b.JSON"), "application/json");
  EXPECT_EQ(ContentTypeOf("x.png"), "image/png");
  EXPECT_EQ(ContentTypeOf("README"), "application/octet-stream");
}

}  // namespace
}  // namespace snow::net
