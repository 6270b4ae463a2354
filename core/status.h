// File: core/status.h
//
// The small pieces Debian 12's Abseil lacks: status-propagation macros for plain functions and
// coroutines, SNOW_CHECK for broken invariants, and ErrnoToStatus for the reactor's negative
// errno results.
//
//   absl::StatusOr<int> Parse(std::string_view s);
//   absl::Status Use(std::string_view s) {
//     SNOW_ASSIGN_OR_RETURN(int n, Parse(s));
//     SNOW_CHECK(n >= 0, "Parse never returns a negative count");
//     return absl::OkStatus();
//   }
//   Task<absl::StatusOr<int>> Fetch(Pid server);
//   Task<absl::Status> UseLater(std::string s, Pid server) {
//     SNOW_CO_ASSIGN_OR_RETURN(int n, Parse(s));              // co_return on error
//     SNOW_CO_ASSIGN_OR_RETURN(int m, co_await Fetch(server));  // one co_await, named result
//     ...
//   }
//
// With g++ 12, build an aggregate argument of a coroutine in a named local, not braced inside
// the co_await expression: docs/pitfalls.md has the compiler bug and the BAD/GOOD pair.
#pragma once

#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace snow {

// Debian 12's Abseil is built with its own absl::string_view (ABSL_OPTION_USE_STD_STRING_VIEW
// is 0), which does not convert from std::string_view: pass our views to Abseil through this.
inline absl::string_view AbslView(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

// Maps a (positive or negative) errno value to the closest absl::Status code, with the errno's
// text and `what` in the message. ErrnoToStatus(0, ...) is OK.
absl::Status ErrnoToStatus(int error, std::string_view what);

namespace core_internal {
[[noreturn]] void CheckFailed(const char* file, int line, const char* condition,
                              std::string_view message);
}  // namespace core_internal

}  // namespace snow

// Macros are used here only because a `return` from the caller cannot be written any other way.
#define SNOW_STATUS_CONCAT_INNER(a, b) a##b
#define SNOW_STATUS_CONCAT(a, b) SNOW_STATUS_CONCAT_INNER(a, b)

#define SNOW_RETURN_IF_ERROR(expr)                                \
  do {                                                            \
    if (absl::Status snow_status_ = (expr); !snow_status_.ok()) { \
      return snow_status_;                                        \
    }                                                             \
  } while (false)

#define SNOW_CO_RETURN_IF_ERROR(expr)                             \
  do {                                                            \
    if (absl::Status snow_status_ = (expr); !snow_status_.ok()) { \
      co_return snow_status_;                                     \
    }                                                             \
  } while (false)

#define SNOW_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr, ret) \
  auto tmp = (expr);                                    \
  if (!tmp.ok()) {                                      \
    ret std::move(tmp).status();                        \
  }                                                     \
  lhs = std::move(tmp).value()

#define SNOW_ASSIGN_OR_RETURN(lhs, expr) \
  SNOW_ASSIGN_OR_RETURN_IMPL(SNOW_STATUS_CONCAT(snow_statusor_, __LINE__), lhs, expr, return )

// `expr` may be one co_await expression; its result is held in a named local.
#define SNOW_CO_ASSIGN_OR_RETURN(lhs, expr) \
  SNOW_ASSIGN_OR_RETURN_IMPL(SNOW_STATUS_CONCAT(snow_statusor_, __LINE__), lhs, expr, co_return )

// A broken invariant: logs file, line and message to stderr, then aborts.
#define SNOW_CHECK(condition, message)                                             \
  do {                                                                             \
    if (!(condition)) [[unlikely]] {                                               \
      ::snow::core_internal::CheckFailed(__FILE__, __LINE__, #condition, message); \
    }                                                                              \
  } while (false)
