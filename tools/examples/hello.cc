// The smallest Snow program: a main actor that spawns a greeter and waits for its answer.
#include <cstdio>
#include <string>

#include "snow/core/snow.h"

using snow::Pid;
using snow::Self;
using snow::Task;

struct Greet {
  Pid from;
  std::string name;
};

Task<absl::Status> Greeter(Self self) {
  Greet greet = co_await self.Receive<Greet>();
  self.Send(greet.from, "hello, " + greet.name + "!");
  co_return absl::OkStatus();
}

Task<absl::Status> Main(Self self) {
  Pid greeter = self.Spawn(Greeter);
  self.Send(greeter, Greet{self.pid(), "world"});
  absl::StatusOr<std::string> reply = co_await self.ReceiveFor<std::string>(absl::Seconds(1));
  if (!reply.ok()) co_return reply.status();
  std::printf("%s says: %s\n", greeter.ToString().c_str(), reply->c_str());
  co_return absl::OkStatus();
}

int main(int argc, char** argv) {
  return snow::Run(snow::RuntimeOptions::FromArgs(argc, argv), Main);
}
