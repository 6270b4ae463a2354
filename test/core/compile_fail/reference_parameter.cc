// Must not compile: an actor function with a reference parameter, which would refer to the
// spawner's string after Spawn returns.
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "snow/core/snow.h"

namespace {

#ifdef SNOW_COMPILE_FAIL_CONTROL
using Parameter = std::string;
#else
using Parameter = const std::string&;
#endif

snow::Task<absl::Status> Worker(snow::Self, Parameter text) {
  (void)text;
  co_return absl::OkStatus();
}

snow::Task<absl::Status> Main(snow::Self self) {
  std::string text = "made by the spawner";
  self.Spawn(Worker, text);
  co_return absl::OkStatus();
}

}  // namespace

int main() { return snow::Run(snow::RuntimeOptions{}, Main); }
