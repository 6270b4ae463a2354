#include "snow/core/service.h"

#include "absl/strings/str_cat.h"

namespace snow::core_internal {

absl::Status CallTimedOut(const std::string& server, absl::Duration timeout) {
  return absl::DeadlineExceededError(
      absl::StrCat("call to ", server, " got no reply in ", absl::FormatDuration(timeout)));
}

absl::Status CalleeEnded(const std::string& server, const absl::Status& reason) {
  if (reason.ok()) {
    return absl::AbortedError(
        absl::StrCat("call to ", server, ": it ended normally without replying"));
  }
  if (reason.code() == absl::StatusCode::kNotFound && reason.message() == "noproc") {
    return absl::NotFoundError(absl::StrCat("call to ", server, ": noproc"));
  }
  if (reason.code() == absl::StatusCode::kUnavailable && reason.message() == "noconnection") {
    return absl::UnavailableError(absl::StrCat("call to ", server, ": noconnection"));
  }
  return absl::Status(reason.code(),
                      absl::StrCat("call to ", server, ": it ended: ", reason.message()));
}

absl::Status NotRegisteredForCalls(const std::string& server, const char* request_type) {
  return absl::FailedPreconditionError(
      absl::StrCat("call to ", server, ": the request type ", request_type,
                   " is not registered for the wire (dist::RegisterMessage<Request>() on both "
                   "nodes)"));
}

}  // namespace snow::core_internal
