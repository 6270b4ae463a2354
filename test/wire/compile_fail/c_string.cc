// Must not compile: a const char* is a raw pointer, not a string.
#include "snow/wire/codec.h"

struct Greeting {
  static constexpr std::string_view kWireName = "test.Greeting";
#ifdef SNOW_COMPILE_FAIL_CONTROL
  std::string text = "hi";
#else
  const char* text = "hi";
#endif
  friend auto WireFields(Greeting& g) { return snow::wire::Fields("text", g.text); }
};

int main() {
  snow::wire::ByteBuffer buf;
  return snow::wire::Encode(Greeting{}, buf).ok() ? 0 : 1;
}
