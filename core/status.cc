#include "snow/core/status.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace snow {

absl::Status ErrnoToStatus(int error, std::string_view what) {
  if (error == 0) return absl::OkStatus();
  if (error < 0) error = -error;
  std::string message = absl::StrCat(AbslView(what), ": ", std::strerror(error));
  switch (error) {
    case EAGAIN:
    case ENOBUFS:
    case ENOMEM:
    case EMFILE:
    case ENFILE:
      return absl::ResourceExhaustedError(message);
    case ETIMEDOUT:
    case ETIME:
      return absl::DeadlineExceededError(message);
    case ECANCELED:
    case EINTR:
      return absl::CancelledError(message);
    case ECONNREFUSED:
    case ECONNRESET:
    case ECONNABORTED:
    case EPIPE:
    case ENETUNREACH:
    case EHOSTUNREACH:
    case ENETDOWN:
    case ENOTCONN:
      return absl::UnavailableError(message);
    case ENOENT:
    case ESRCH:
      return absl::NotFoundError(message);
    case EEXIST:
    case EADDRINUSE:
      return absl::AlreadyExistsError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    case EINVAL:
    case EBADF:
    case ENOTSOCK:
    case EAFNOSUPPORT:
    case EDESTADDRREQ:
      return absl::InvalidArgumentError(message);
    case ENOSYS:
    case EOPNOTSUPP:
      return absl::UnimplementedError(message);
    default:
      return absl::UnknownError(message);
  }
}

namespace core_internal {

void CheckFailed(const char* file, int line, const char* condition, std::string_view message) {
  std::fprintf(stderr, "%s:%d: SNOW_CHECK failed: %s: %.*s\n", file, line, condition,
               static_cast<int>(message.size()), message.data());
  std::fflush(stderr);
  std::abort();
}

}  // namespace core_internal
}  // namespace snow
