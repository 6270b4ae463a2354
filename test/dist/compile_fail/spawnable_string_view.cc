// Must not compile: a function registered for remote spawn whose parameter (std::string_view) would
// refer to the decoded message after the spawn, not own its data.
#include <string>
#include <string_view>

#include "snow/core/snow.h"
#include "snow/dist/spawn.h"

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

}  // namespace

int main() { snow::dist::RegisterSpawnable("test.worker", Worker); }
