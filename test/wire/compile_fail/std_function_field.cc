// Must not compile: a struct with a std::function field.
#include <functional>

#include "snow/wire/codec.h"

struct Job {
  static constexpr std::string_view kWireName = "test.Job";
#ifdef SNOW_COMPILE_FAIL_CONTROL
  std::string run;
#else
  std::function<void()> run;
#endif
  friend auto WireFields(Job& j) { return snow::wire::Fields("run", j.run); }
};

int main() {
  snow::wire::ByteBuffer buf;
  return snow::wire::Encode(Job{}, buf).ok() ? 0 : 1;
}
