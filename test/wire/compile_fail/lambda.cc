// Must not compile: a closure sent on the typed path.
#include "snow/wire/codec.h"

int main() {
  snow::wire::ByteBuffer buf;
  int captured = 1;
#ifdef SNOW_COMPILE_FAIL_CONTROL
  auto value = captured;
#else
  auto value = [captured](int x) { return x + captured; };
#endif
  return snow::wire::Encode(value, buf).ok() ? 0 : 1;
}
