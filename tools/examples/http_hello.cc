// The hello-world HTTP server (the H1 workload): "hello" to every GET /, on every shard.
//
//   example_http_hello --listen=127.0.0.1:8080     # serves until Ctrl-C
//   example_http_hello --self-test                 # a free port, one request, exits
#include <cstdio>
#include <string>
#include <string_view>

#include "snow/core/snow.h"
#include "snow/net/http_router.h"
#include "snow/net/http_server.h"
#include "snow/net/tcp.h"

using snow::Self;
using snow::Task;
namespace net = snow::net;

Task<net::HttpResponse> Hello(Self, net::HttpRequest) {
  co_return net::HttpResponse::Text(200, "hello");
}

// One request over a plain socket, checked, as a test would.
Task<absl::Status> AskOnce(net::SocketAddress address) {
  SNOW_CO_ASSIGN_OR_RETURN(net::TcpStream client,
                           co_await net::TcpStream::Connect(address, absl::Seconds(5)));
  const std::string_view request = "GET / HTTP/1.1\r\nHost: me\r\nConnection: close\r\n\r\n";
  SNOW_CO_RETURN_IF_ERROR(co_await client.WriteAll(request, absl::Seconds(5)));
  std::string answer(4096, '\0');
  SNOW_CO_ASSIGN_OR_RETURN(size_t n, co_await client.ReadSome(answer, absl::Seconds(5)));
  answer.resize(n);
  std::printf("%s\n", answer.c_str());
  if (!answer.starts_with("HTTP/1.1 200 OK") || !answer.ends_with("\r\n\r\nhello")) {
    co_return absl::InternalError("unexpected answer");
  }
  co_return absl::OkStatus();
}

Task<absl::Status> Main(Self self, std::string listen, bool self_test) {
  net::HttpRouter router;
  router.Get("/", Hello);
  SNOW_CO_ASSIGN_OR_RETURN(net::SocketAddress address, net::SocketAddress::Parse(listen));
  SNOW_CO_ASSIGN_OR_RETURN(net::HttpServer server,
                           net::HttpServer::Start(self, address, {}, router.handler()));
  std::printf("http://%s/\n", server.address().ToString().c_str());
  std::fflush(stdout);
  if (self_test) co_return co_await AskOnce(server.address());
  co_await snow::Sleep(absl::InfiniteDuration());  // serves until SIGINT or SIGTERM
  co_return absl::OkStatus();
}

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:8080";
  bool self_test = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a.starts_with("--listen=")) listen = std::string(a.substr(9));
    if (a == "--self-test") {
      self_test = true;
      listen = "127.0.0.1:0";
    }
  }
  return snow::Run(snow::RuntimeOptions::FromArgs(argc, argv), Main, listen, self_test);
}
