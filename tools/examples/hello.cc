// The smallest Snow program: a main actor that spawns a greeter and waits for its answer.
// README.md and docs/tutorial.md show the region below.
// [snippet hello]
#include <cstdio>
#include <string>

#include "snow/core/snow.h"

struct Greet {
  snow::Pid from;
  std::string name;
};

snow::Task<absl::Status> Greeter(snow::Self self) {
  Greet greet = co_await self.Receive<Greet>();         // selective: other messages stay queued
  self.Send(greet.from, "hello, " + greet.name + "!");  // never blocks, never fails
  co_return absl::OkStatus();                           // OK = normal exit
}

snow::Task<absl::Status> Main(snow::Self self) {
  snow::Pid greeter = self.Spawn(Greeter);  // arguments are copied into the actor
  self.Send(greeter, Greet{self.pid(), "world"});
  absl::StatusOr<std::string> reply = co_await self.ReceiveFor<std::string>(absl::Seconds(1));
  if (!reply.ok()) co_return reply.status();  // kDeadlineExceeded after 1 s
  std::printf("%s says: %s\n", greeter.ToString().c_str(), reply->c_str());
  co_return absl::OkStatus();
}

int main(int argc, char** argv) {
  return snow::Run(snow::RuntimeOptions::FromArgs(argc, argv), Main);
}
// [end hello]
