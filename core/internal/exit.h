// File: core/internal/exit.h
//
// How an actor's end becomes its exit reason. Self::Exit throws ExitRequest, which is not a
// std::exception so that a user's `catch (const std::exception&)` does not swallow it.
#pragma once

#include <exception>
#include <utility>

#include "absl/status/status.h"

namespace snow::core_internal {

struct ExitRequest {
  absl::Status reason;
};

struct ExitOutcome {
  absl::Status reason;
  bool crashed = false;  // an exception other than ExitRequest escaped
};

// `take_result` returns the status the actor co_returned; it is called only without exception.
template <typename TakeResult>
ExitOutcome ExitOutcomeOf(const std::exception_ptr& exception, TakeResult take_result) {
  if (!exception) return {take_result(), false};
  try {
    std::rethrow_exception(exception);
  } catch (const ExitRequest& request) {
    return {request.reason, false};
  } catch (const std::exception& e) {
    return {absl::InternalError(e.what()), true};
  } catch (...) {
    return {absl::InternalError("an exception that is not a std::exception"), true};
  }
}

}  // namespace snow::core_internal
