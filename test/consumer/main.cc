// Built against the installed package by `tools/snow test`: exits 0 when an actor ran and
// answered.
#include <cstdio>

#include "core/snow.h"

snow::Task<absl::Status> Doubler(snow::Self self) {
  auto [from, n] = co_await self.Receive<std::pair<snow::Pid, int>>();
  self.Send(from, 2 * n);
  co_return absl::OkStatus();
}

snow::Task<absl::Status> Main(snow::Self self) {
  snow::Pid doubler = self.Spawn(Doubler);
  self.Send(doubler, std::pair{self.pid(), 21});
  absl::StatusOr<int> answer = co_await self.ReceiveFor<int>(absl::Seconds(5));
  if (!answer.ok()) co_return answer.status();
  std::printf("consumer: the doubler answered %d\n", *answer);
  co_return *answer == 42 ? absl::OkStatus() : absl::InternalError("wrong answer");
}

int main(int argc, char** argv) { return snow::Run(snow::RuntimeOptions::FromArgs(argc, argv), Main); }
