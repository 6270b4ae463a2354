// wire/internal/strings.h — string glue: Debian's Abseil has its own absl::string_view (not
// std::string_view), so messages are built with Cat() and converted at the absl::Status boundary.
//
//   std::string m = snow::wire_internal::Cat("count ", n, " exceeds ", limit);
#pragma once

#include <cstdio>
#include <string>
#include <string_view>
#include <type_traits>

#include "absl/strings/string_view.h"

namespace snow::wire_internal {

inline absl::string_view ToAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}
inline std::string_view ToStd(absl::string_view s) { return std::string_view(s.data(), s.size()); }

inline void CatOne(std::string& out, std::string_view s) { out.append(s); }
template <class T>
requires std::is_arithmetic_v<T>
void CatOne(std::string& out, T v) {
  if constexpr (std::is_floating_point_v<T>) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.17g", static_cast<double>(v));
    out.append(buf);
  } else {
    out.append(std::to_string(v));
  }
}

template <class... A>
std::string Cat(const A&... parts) {
  std::string out;
  (CatOne(out, parts), ...);
  return out;
}

}  // namespace snow::wire_internal
