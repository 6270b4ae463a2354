// Must not compile: a pointer to member.
#include "snow/wire/codec.h"

struct S {
  int a = 0;
};

int main() {
  snow::wire::ByteBuffer buf;
#ifdef SNOW_COMPILE_FAIL_CONTROL
  int value = 0;
#else
  int S::*value = &S::a;
#endif
  return snow::wire::Encode(value, buf).ok() ? 0 : 1;
}
