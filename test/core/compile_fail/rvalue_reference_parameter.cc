// Must not compile: an actor function with an rvalue reference parameter: a reference all the same.
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "snow/core/snow.h"

namespace {

#ifdef SNOW_COMPILE_FAIL_CONTROL
using Parameter = std::string;
#else
using Parameter = std::string&&;
#endif

snow::Task<absl::Status> Worker(snow::Self, Parameter text) {
  (void)text;
  co_return absl::OkStatus();
}

snow::Task<absl::Status> Main(snow::Self self) {
  std::string text = "made by the spawner";
  self.Spawn(Worker, std::move(text));
  co_return absl::OkStatus();
}

}  // namespace

int main() { return snow::Run(snow::RuntimeOptions{}, Main); }
