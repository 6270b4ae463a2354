// Must not compile: raw pointers, even nested in a container.
#include <vector>

#include "snow/wire/codec.h"

int main() {
  snow::wire::ByteBuffer buf;
  int x = 0;
#ifdef SNOW_COMPILE_FAIL_CONTROL
  std::vector<int> value{x};
#else
  std::vector<int*> value{&x};
#endif
  return snow::wire::Encode(value, buf).ok() ? 0 : 1;
}
