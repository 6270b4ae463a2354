// File: core/mutex.h
//
// Mutex: the lock for state that threads share off the hot paths (the stop reason, the name
// registry, a node's peer table and type registry). A std::mutex carrying Abseil's
// thread-safety annotations, so clang's -Wthread-safety checks ABSL_GUARDED_BY members, and
// ThreadSanitizer sees every lock and unlock: it intercepts pthread mutexes, while a prebuilt
// Mutex (Debian's is not built for ThreadSanitizer) would hide them and make every
// guarded access look like a race. Send, receive and resume take no lock.
//
//   snow::Mutex mutex_;
//   int count_ ABSL_GUARDED_BY(mutex_) = 0;
//   { snow::MutexLock lock(&mutex_); ++count_; }
#pragma once

#include <mutex>

#include "absl/base/thread_annotations.h"

namespace snow {

class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mutex_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mutex_.unlock(); }

 private:
  std::mutex mutex_;
};

// Holds `mutex` from construction to the end of the scope.
class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mutex) ABSL_EXCLUSIVE_LOCK_FUNCTION(mutex) : mutex_(mutex) {
    mutex_->Lock();
  }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mutex_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mutex_;
};

}  // namespace snow
