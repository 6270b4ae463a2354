// Must not compile: an actor function with a span parameter, which would point into the spawner's
// vector.
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "snow/core/snow.h"

namespace {

#ifdef SNOW_COMPILE_FAIL_CONTROL
using Parameter = std::vector<char>;
#else
using Parameter = std::span<const char>;
#endif

snow::Task<absl::Status> Worker(snow::Self, Parameter text) {
  (void)text;
  co_return absl::OkStatus();
}

snow::Task<absl::Status> Main(snow::Self self) {
  std::string text = "made by the spawner";
  std::vector<char> bytes(text.begin(), text.end());
  self.SpawnMonitor(Worker, bytes);
  co_return absl::OkStatus();
}

}  // namespace

int main() { return snow::Run(snow::RuntimeOptions{}, Main); }
