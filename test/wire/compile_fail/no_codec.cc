// Must not compile: a struct that did not opt in.
#include "snow/wire/codec.h"

struct Plain {
  int a = 0;
#ifdef SNOW_COMPILE_FAIL_CONTROL
  static constexpr std::string_view kWireName = "test.Plain";
  friend auto WireFields(Plain& p) { return snow::wire::Fields("a", p.a); }
#endif
};

int main() {
  snow::wire::ByteBuffer buf;
  return snow::wire::Encode(Plain{}, buf).ok() ? 0 : 1;
}
