#include "snow/dist/internal/log_limiter.h"

namespace snow::dist_internal {

bool LogLimiter::Take(std::string_view peer, LogKind kind, absl::Time now, uint64_t* held_back,
                      int* written) {
  MutexLock lock(&mutex_);
  std::pair<std::string, LogKind> key(peer, kind);
  if (!budgets_.contains(key) && budgets_.size() >= kMaxKeys) key.first = "(other peers)";
  Budget& budget = budgets_[key];
  if (budget.written == 0 || now - budget.window_start >= kWindow) {
    *held_back = budget.held_back;
    budget = Budget{.window_start = now, .written = 0, .held_back = 0};
  }
  if (budget.written >= kLinesPerWindow) {
    ++budget.held_back;
    ++held_back_total_;
    return false;
  }
  *written = ++budget.written;
  return true;
}

uint64_t LogLimiter::held_back_total() const {
  MutexLock lock(&mutex_);
  return held_back_total_;
}

}  // namespace snow::dist_internal
