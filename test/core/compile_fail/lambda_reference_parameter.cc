// Must not compile: a capture-less lambda actor with a reference parameter.
#include <string>

#include "snow/core/snow.h"

namespace {

snow::Task<absl::Status> Main(snow::Self self) {
  std::string text = "made by the spawner";
#ifdef SNOW_COMPILE_FAIL_CONTROL
  auto worker = [](snow::Self, std::string s) -> snow::Task<absl::Status> {
#else
  auto worker = [](snow::Self, const std::string& s) -> snow::Task<absl::Status> {
#endif
    (void)s;
    co_return absl::OkStatus();
  };
  self.Spawn(worker, text);
  co_return absl::OkStatus();
}

}  // namespace

int main() { return snow::Run(snow::RuntimeOptions{}, Main); }
