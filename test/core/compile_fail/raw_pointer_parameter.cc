// Must not compile: an actor function with a raw pointer parameter, which may point at the
// spawner's local long gone by the time the actor runs.
#include <memory>

#include "snow/core/snow.h"

namespace {

#ifdef SNOW_COMPILE_FAIL_CONTROL
using Counter = std::shared_ptr<int>;
#else
using Counter = int*;
#endif

snow::Task<absl::Status> Worker(snow::Self, Counter counter) {
  ++*counter;
  co_return absl::OkStatus();
}

snow::Task<absl::Status> Main(snow::Self self) {
#ifdef SNOW_COMPILE_FAIL_CONTROL
  Counter counter = std::make_shared<int>(0);
  self.Spawn(Worker, counter);
#else
  int counter = 0;
  self.Spawn(Worker, &counter);
#endif
  co_return absl::OkStatus();
}

}  // namespace

int main() { return snow::Run(snow::RuntimeOptions{}, Main); }
