#include "snow/core/service.h"

#include "absl/strings/str_cat.h"

namespace snow::core_internal {

absl::Status CallTimedOut(Pid to, absl::Duration timeout) {
  return absl::DeadlineExceededError(
      absl::StrCat("call to ", to.ToString(), " got no reply in ", absl::FormatDuration(timeout)));
}

absl::Status CalleeEnded(Pid to, const absl::Status& reason) {
  if (reason.ok()) {
    return absl::AbortedError(
        absl::StrCat("call to ", to.ToString(), ": it ended normally without replying"));
  }
  if (reason.code() == absl::StatusCode::kNotFound && reason.message() == "noproc") {
    return absl::NotFoundError(absl::StrCat("call to ", to.ToString(), ": noproc"));
  }
  return absl::Status(reason.code(),
                      absl::StrCat("call to ", to.ToString(), ": it ended: ", reason.message()));
}

}  // namespace snow::core_internal
