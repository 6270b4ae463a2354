// wire/struct.h — the short declaration of a wire struct: its wire name and its fields' names, in
// the order the fields are declared. For an aggregate (public members, no constructors, no base
// with members) this one line is the whole opt-in; wire/ reaches the members by position:
//
//   struct Put {
//     std::string key, value;
//     static constexpr snow::wire::Struct kWire{"kv.Put", "key", "value"};
//   };
//
// The names are what another program matches on (STF.md §7), so they are written out: C++ has
// no way to read a member's name. Listing a different number of names than the struct has
// members fails to compile. A struct that is not an aggregate, or that travels under other
// names than its members', uses the long form instead (kWireName + WireFields, codec.h).
//
// Programs that send the struct to other nodes declare it with dist::Message<T> (dist/message.h),
// the same declaration plus its registration for the wire.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace snow::wire {

struct Struct {
  static constexpr size_t kMaxFields = 32;

  template <class... Names>
  constexpr Struct(std::string_view wire_name, Names... field_names)
      : name(wire_name), fields{std::string_view(field_names)...}, field_count(sizeof...(Names)) {
    static_assert(sizeof...(Names) <= kMaxFields,
                  "snow::wire::Struct: at most 32 fields; group some into a nested struct");
  }

  std::string_view name;
  std::array<std::string_view, kMaxFields> fields{};
  size_t field_count = 0;
};

}  // namespace snow::wire
