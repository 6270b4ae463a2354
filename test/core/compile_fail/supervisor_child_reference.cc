// Must not compile: a supervisor child whose start function takes a reference parameter.
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
  snow::ChildSpec spec{.id = "worker", .start = snow::Start(Worker, text)};
  (void)spec;
  (void)self;
  co_return absl::OkStatus();
}

}  // namespace

int main() { return snow::Run(snow::RuntimeOptions{}, Main); }
