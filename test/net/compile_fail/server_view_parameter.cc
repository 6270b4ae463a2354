// Must not compile: a TcpServer connection handler with a string_view parameter, which would
// point into the caller's string long after Start returned.
#include <string>
#include <string_view>

#include "snow/core/snow.h"
#include "snow/net/server.h"

namespace {

#ifdef SNOW_COMPILE_FAIL_CONTROL
using Parameter = std::string;
#else
using Parameter = std::string_view;
#endif

snow::Task<absl::Status> Greet(snow::Self, snow::net::TcpStream stream, Parameter greeting) {
  absl::Status written = co_await stream.WriteAll(std::string(greeting));
  co_return written;
}

snow::Task<absl::Status> Main(snow::Self self) {
  std::string greeting = "hello";
  absl::StatusOr<snow::net::TcpServer> server =
      snow::net::TcpServer::Start(self, snow::net::SocketAddress::Loopback(), {}, Greet, greeting);
  co_return server.status();
}

}  // namespace

int main() { return snow::Run(snow::RuntimeOptions{}, Main); }
