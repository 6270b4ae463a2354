// Must not compile: decoding into a const field.
#include "snow/wire/codec.h"

struct Frozen {
  static constexpr std::string_view kWireName = "test.Frozen";
#ifdef SNOW_COMPILE_FAIL_CONTROL
  int a = 0;
#else
  const int a = 0;
#endif
  friend auto WireFields(Frozen& f) { return snow::wire::Fields("a", f.a); }
};

int main() { return snow::wire::Decode<Frozen>(std::string_view("\x01")).ok() ? 0 : 1; }
