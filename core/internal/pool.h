// File: core/internal/pool.h
//
// Per-thread free lists by size class for the small objects the runtime makes at message rate:
// envelopes, actor cells and coroutine frames.
//
// Fresh blocks are carved from 2 MiB chunks, one mmap each, instead of one malloc per block. A
// block
// may be freed on another thread than the one that made it (a message crosses shards): it joins
// that thread's list, and a list that grows past its cap spills half to a global list, from
// which any thread refills before carving new memory. Chunks are returned to the system only
// when the process exits; a runtime's peak memory stays with the process (as with tcmalloc).
//
// Built with SNOW_NO_POOL (the sanitizer build), every call goes straight to operator
// new/delete so ASan sees each block's whole life.
#pragma once

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace snow::core_internal {

inline constexpr std::size_t kPoolGranule = 16;
inline constexpr std::size_t kPoolMaxSize = 1024;
inline constexpr std::size_t kPoolClasses = kPoolMaxSize / kPoolGranule;

struct PoolBlock {
  PoolBlock* next;
};

class ThreadPool {
 public:
  ThreadPool() = default;
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  ~ThreadPool();

  void* Allocate(std::size_t size) {
#ifndef SNOW_NO_POOL
    if (size <= kPoolMaxSize) [[likely]] {
      std::size_t c = ClassOf(size);
      if (PoolBlock* b = free_[c]) [[likely]] {
        free_[c] = b->next;
        --count_[c];
        return b;
      }
      return Refill(c);
    }
#endif
    return ::operator new(size);
  }

  // Takes `bytes` at `p`, memory already faulted in that the thread no longer needs (an actor
  // table it has outgrown), to carve blocks from before asking the kernel for a new chunk:
  // reusing it is cheaper than unmapping it and faulting in as much again. False when the
  // thread already holds enough such memory; the caller then unmaps it.
  bool AdoptRegion(void* p, std::size_t bytes);

  void Free(void* p, std::size_t size) noexcept {
#ifndef SNOW_NO_POOL
    if (size <= kPoolMaxSize) [[likely]] {
      std::size_t c = ClassOf(size);
      auto* b = static_cast<PoolBlock*>(p);
      b->next = free_[c];
      free_[c] = b;
      if (++count_[c] > kKeepBlocks) [[unlikely]]
        Spill(c, kKeepBlocks / 2);
      return;
    }
#endif
    (void)size;
    ::operator delete(p);
  }

 private:
  // Free blocks a thread keeps per class before it gives half back.
  static constexpr std::size_t kKeepBlocks = 8192;

  static std::size_t ClassOf(std::size_t size) {
    return (size + kPoolGranule - 1) / kPoolGranule - (size != 0);
  }
  static std::size_t BlockSize(std::size_t c) { return (c + 1) * kPoolGranule; }
  void* Refill(std::size_t c);
  void Spill(std::size_t c, std::size_t keep);

  [[maybe_unused]] PoolBlock* free_[kPoolClasses] = {};
  [[maybe_unused]] std::size_t count_[kPoolClasses] = {};
  char* bump_ = nullptr;  // the unused rest of this thread's current chunk
  char* bump_end_ = nullptr;
  // Adopted regions not yet carved, linked through their first bytes.
  struct SpareRegion {
    SpareRegion* next;
    std::size_t bytes;
  };
  SpareRegion* spare_ = nullptr;
  std::size_t spare_bytes_ = 0;
};

// The calling thread's pool. The pointer is constant-initialized so the fast path is one
// thread-local load, without the guard a thread_local object with a destructor would need.
ThreadPool& InitLocalPool();
inline constinit thread_local ThreadPool* local_pool = nullptr;
inline ThreadPool& LocalPool() {
  ThreadPool* pool = local_pool;
  if (pool == nullptr) [[unlikely]]
    return InitLocalPool();
  return *pool;
}

inline void* PoolAllocate(std::size_t size) { return LocalPool().Allocate(size); }
inline void PoolFree(void* p, std::size_t size) noexcept { LocalPool().Free(p, size); }

// Zeroed memory for a big table that grows by doubling (a shard's actor table). From 2 MiB up it
// comes straight from the kernel, already zero and faulted in with one call: a value-initialized
// new[] faulted it page by page and then wrote every byte again, and a million spawns spent
// ~18 ms there. Smaller sizes, and everything in the sanitizer build, use calloc.
void* AllocateZeroed(std::size_t bytes);
void FreeZeroed(void* p, std::size_t bytes) noexcept;

// A fixed-size array of trivial T, zero-initialized, from AllocateZeroed.
template <typename T>
class ZeroedArray {
  static_assert(std::is_trivial_v<T>, "ZeroedArray holds trivial types: zero bytes are its value");

 public:
  explicit ZeroedArray(std::size_t size)
      : data_(static_cast<T*>(AllocateZeroed(size * sizeof(T)))), size_(size) {}
  ZeroedArray(ZeroedArray&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  ZeroedArray& operator=(ZeroedArray&& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    return *this;
  }
  ~ZeroedArray() {
    if (data_ != nullptr) FreeZeroed(data_, size_ * sizeof(T));
  }

  T& operator[](std::size_t i) const { return data_[i]; }
  std::size_t size() const { return size_; }

 private:
  T* data_;
  std::size_t size_;
};

}  // namespace snow::core_internal
