// Must not compile: WriteAll of a string literal, whose array would send its terminating NUL.
#include <string_view>

#include "snow/core/snow.h"
#include "snow/net/tcp.h"

namespace {

snow::Task<absl::Status> Greet(snow::net::TcpStream stream) {
#ifdef SNOW_COMPILE_FAIL_CONTROL
  absl::Status sent = co_await stream.WriteAll(std::string_view("hello\n"));
#else
  absl::Status sent = co_await stream.WriteAll("hello\n");
#endif
  co_return sent;
}

}  // namespace

int main() {
  snow::Task<absl::Status> task = Greet(snow::net::TcpStream());
  (void)task;
  return 0;
}
