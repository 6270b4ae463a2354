// File: core/internal/pool.h
//
// Per-thread free lists by size class for the small objects the runtime makes at message rate:
// envelopes, actor cells and coroutine frames. Blocks come from operator new one by one, so a
// block may be freed on another thread than the one that made it (a message crosses shards) and
// simply joins that thread's list. Each list is capped; a thread's lists are released when the
// thread ends. Built with SNOW_NO_POOL (the sanitizer build), every call goes straight to
// operator new/delete so ASan sees each block's whole life.
#pragma once

#include <cstddef>
#include <new>

namespace snow::core_internal {

inline constexpr std::size_t kPoolGranule = 16;
inline constexpr std::size_t kPoolMaxSize = 1024;
inline constexpr std::size_t kPoolClasses = kPoolMaxSize / kPoolGranule;
// At most this many free bytes are kept per size class per thread.
inline constexpr std::size_t kPoolKeepBytes = std::size_t{64} << 20;

class ThreadPool {
 public:
  ~ThreadPool();

  void* Allocate(std::size_t size) {
#ifndef SNOW_NO_POOL
    if (size <= kPoolMaxSize) [[likely]] {
      std::size_t c = ClassOf(size);
      if (FreeBlock* b = free_[c]) [[likely]] {
        free_[c] = b->next;
        --count_[c];
        return b;
      }
      return ::operator new((c + 1) * kPoolGranule);
    }
#endif
    return ::operator new(size);
  }

  void Free(void* p, std::size_t size) noexcept {
#ifndef SNOW_NO_POOL
    if (size <= kPoolMaxSize) [[likely]] {
      std::size_t c = ClassOf(size);
      if (count_[c] * (c + 1) * kPoolGranule < kPoolKeepBytes) [[likely]] {
        auto* b = static_cast<FreeBlock*>(p);
        b->next = free_[c];
        free_[c] = b;
        ++count_[c];
        return;
      }
      ::operator delete(p);
      return;
    }
#endif
    (void)size;
    ::operator delete(p);
  }

 private:
  struct FreeBlock {
    FreeBlock* next;
  };
  static std::size_t ClassOf(std::size_t size) { return (size + kPoolGranule - 1) / kPoolGranule - (size != 0); }

  [[maybe_unused]] FreeBlock* free_[kPoolClasses] = {};
  [[maybe_unused]] std::size_t count_[kPoolClasses] = {};
};

inline ThreadPool& LocalPool() {
  static thread_local ThreadPool pool;
  return pool;
}

inline void* PoolAllocate(std::size_t size) { return LocalPool().Allocate(size); }
inline void PoolFree(void* p, std::size_t size) noexcept { LocalPool().Free(p, size); }

}  // namespace snow::core_internal
