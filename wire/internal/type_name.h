// wire/internal/type_name.h — TypeName<T>(): a readable C++ type name for error messages, taken
// from the compiler's pretty function signature (no RTTI, no demangler).
//
//   std::string_view n = snow::wire_internal::TypeName<std::vector<int>>();  // "std::vector<int>"
#pragma once

#include <string_view>

namespace snow::wire_internal {

template <class T>
constexpr std::string_view TypeName() {
  // g++: "... TypeName() [with T = X; std::string_view = ...]"; clang: "... TypeName() [T = X]".
  std::string_view f = __PRETTY_FUNCTION__;
  const size_t start = f.find("T = ");
  if (start == std::string_view::npos) return f;
  f.remove_prefix(start + 4);
  const size_t end = f.find_first_of(";]");
  return end == std::string_view::npos ? f : f.substr(0, end);
}

}  // namespace snow::wire_internal
