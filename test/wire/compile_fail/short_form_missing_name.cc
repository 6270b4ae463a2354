// Must not compile: kWire names fewer fields than the struct has.
#include "snow/wire/codec.h"

struct Pair {
  int a = 0;
  int b = 0;
#ifdef SNOW_COMPILE_FAIL_CONTROL
  static constexpr snow::wire::Struct kWire{"test.Pair", "a", "b"};
#else
  static constexpr snow::wire::Struct kWire{"test.Pair", "a"};
#endif
};

int main() {
  snow::wire::ByteBuffer buf;
  return snow::wire::Encode(Pair{}, buf).ok() ? 0 : 1;
}
