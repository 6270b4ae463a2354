// Must not compile: the short form on a struct with a constructor, whose members wire/ cannot
// reach by position.
#include <string>

#include "snow/wire/codec.h"

struct Named {
#ifndef SNOW_COMPILE_FAIL_CONTROL
  explicit Named(std::string n = "") : name(std::move(n)) {}
#endif
  std::string name;
  static constexpr snow::wire::Struct kWire{"test.Named", "name"};
};

int main() {
  snow::wire::ByteBuffer buf;
  return snow::wire::Encode(Named{}, buf).ok() ? 0 : 1;
}
