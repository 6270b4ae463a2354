// Tutorial, step 2: a supervisor restarts a worker that crashes. The worker registers a name,
// so whoever talks to it finds the new incarnation by name after a restart.
#include <cstdio>
#include <stdexcept>
#include <string>

#include "snow/core/snow.h"

using snow::Pid;
using snow::Self;
using snow::Task;

namespace {

// [snippet worker]
struct Work {
  Pid from;
  int n = 0;
};
struct Done {
  int result = 0;
};
struct Boom {};  // asks the worker to crash

Task<absl::Status> Worker(Self self) {
  SNOW_CO_RETURN_IF_ERROR(self.Register("worker"));
  for (;;) {
    auto message = co_await self.Receive<Work, Boom>();
    if (std::holds_alternative<Boom>(message)) throw std::runtime_error("asked to crash");
    Work work = std::get<Work>(message);
    self.Send(work.from, Done{work.n * 2});
  }
}
// [end worker]

// [snippet main]
Task<absl::Status> Main(Self self) {
  snow::SupervisorSpec spec{
      .strategy = snow::Strategy::kOneForOne,
      .intensity = 3,              // at most 3 restarts ...
      .period = absl::Seconds(5),  // ... in any 5 seconds, or the supervisor gives up
      .children = {{.id = "worker", .start = snow::Start(Worker)}}};
  Pid supervisor = self.SpawnLink(snow::Supervise, std::move(spec));

  std::optional<Pid> first = self.WhereIs("worker");
  if (!first) co_return absl::InternalError("the worker did not register");
  self.Send(*first, Work{self.pid(), 21});
  absl::StatusOr<Done> done = co_await self.ReceiveFor<Done>(absl::Seconds(1));
  if (!done.ok()) co_return done.status();
  std::printf("worker %s answered %d\n", first->ToString().c_str(), done->result);

  snow::Ref watch = self.Monitor(*first);
  self.Send(*first, Boom{});
  absl::StatusOr<snow::Down> down = co_await self.ReceiveFor<snow::Down>(absl::Seconds(1));
  if (!down.ok()) co_return down.status();
  std::printf("worker ended: %s\n", down->reason.ToString().c_str());

  // The supervisor has started a new worker, which registered the name again.
  std::optional<Pid> second;
  while (!(second = self.WhereIs("worker"))) co_await snow::Sleep(absl::Milliseconds(1));
  self.Send(*second, Work{self.pid(), 50});
  absl::StatusOr<Done> again = co_await self.ReceiveFor<Done>(absl::Seconds(1));
  if (!again.ok()) co_return again.status();
  std::printf("restarted worker %s answered %d\n", second->ToString().c_str(), again->result);
  (void)watch;
  (void)supervisor;
  co_return absl::OkStatus();  // the supervisor is linked to Main and stops with it
}
// [end main]

}  // namespace

int main(int argc, char** argv) {
  return snow::Run(snow::RuntimeOptions::FromArgs(argc, argv), Main);
}
