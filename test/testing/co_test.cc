#include "snow/test/testing/co_test.h"

namespace snow::testing {

RuntimeOptions TestRuntimeOptions() {
  RuntimeOptions options;
  options.shards = 1;
  options.clock = Clock::kVirtual;
  options.spin = absl::ZeroDuration();
  options.pin_threads = false;
  return options;
}

RuntimeOptions RealRuntimeOptions(uint32_t shards) {
  RuntimeOptions options;
  options.shards = shards;
  options.pin_threads = false;
  return options;
}

}  // namespace snow::testing
