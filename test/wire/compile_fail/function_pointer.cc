// Must not compile: a function pointer field, on the decode side.
#include "snow/wire/codec.h"

int Callback(int x) { return x; }

struct Handler {
  static constexpr std::string_view kWireName = "test.Handler";
#ifdef SNOW_COMPILE_FAIL_CONTROL
  int on_event = 0;
#else
  int (*on_event)(int) = &Callback;
#endif
  friend auto WireFields(Handler& h) { return snow::wire::Fields("on_event", h.on_event); }
};

int main() { return snow::wire::Decode<Handler>(std::string_view("\x01")).ok() ? 0 : 1; }
