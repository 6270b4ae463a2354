// Must not compile: an actor function with a string_view parameter, which would point into the
// spawner's string.
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "snow/core/snow.h"

namespace {

#ifdef SNOW_COMPILE_FAIL_CONTROL
using Parameter = std::string;
#else
using Parameter = std::string_view;
#endif

snow::Task<absl::Status> Worker(snow::Self, Parameter text) {
  (void)text;
  co_return absl::OkStatus();
}

snow::Task<absl::Status> Main(snow::Self self) {
  std::string text = "made by the spawner";
  self.SpawnLink(Worker, text);
  co_return absl::OkStatus();
}

}  // namespace

int main() { return snow::Run(snow::RuntimeOptions{}, Main); }
