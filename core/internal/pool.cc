#include "core/internal/pool.h"

#include <sys/mman.h>

#include <atomic>
#include <cstdint>
#include <mutex>

#include "core/status.h"

namespace snow::core_internal {
namespace {

constexpr std::size_t kChunkBytes = std::size_t{2} << 20;
// Blocks moved from the global list to a thread at once.
constexpr std::size_t kRefillBatch = 256;

// Where spilled blocks wait for a thread that needs them. Touched only when a thread's list of
// a class is empty or over its cap, so the mutex is far from the per-message path.
struct GlobalPool {
  std::mutex mutex;
  PoolBlock* free[kPoolClasses] = {};
  std::size_t count[kPoolClasses] = {};
  std::atomic<std::size_t> available[kPoolClasses] = {};
};

GlobalPool& Global() {
  // Never destroyed: threads may return blocks during static destruction.
  static GlobalPool* global = new GlobalPool();
  return *global;
}

char* NewChunk() {
  // Map twice the size and trim, so the chunk is 2 MiB aligned and khugepaged may back it with a
  // huge page later. No MADV_HUGEPAGE: with the kernel's usual defrag=madvise it makes page
  // faults compact memory synchronously, and W2 then swung between 106 and 775 ns per spawn;
  // plain pages gave a steady ~220 ns (and W3 ~177 ms against 111-445 ms).
  void* raw =
      mmap(nullptr, 2 * kChunkBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  SNOW_CHECK(raw != MAP_FAILED, "out of memory for the actor/message pool");
  auto start = reinterpret_cast<uintptr_t>(raw);
  uintptr_t aligned = (start + kChunkBytes - 1) & ~(uintptr_t{kChunkBytes} - 1);
  if (aligned > start) munmap(raw, aligned - start);
  uintptr_t end = start + 2 * kChunkBytes;
  if (end > aligned + kChunkBytes)
    munmap(reinterpret_cast<void*>(aligned + kChunkBytes), end - aligned - kChunkBytes);
  return reinterpret_cast<char*>(aligned);
}

}  // namespace

void* ThreadPool::Refill(std::size_t c) {
  GlobalPool& global = Global();
  if (global.available[c].load(std::memory_order_relaxed) > 0) {
    std::lock_guard<std::mutex> lock(global.mutex);
    std::size_t n = 0;
    while (global.free[c] != nullptr && n < kRefillBatch) {
      PoolBlock* b = global.free[c];
      global.free[c] = b->next;
      b->next = free_[c];
      free_[c] = b;
      ++n;
    }
    global.count[c] -= n;
    global.available[c].store(global.count[c], std::memory_order_relaxed);
    count_[c] += n;
    if (PoolBlock* b = free_[c]) {
      free_[c] = b->next;
      --count_[c];
      return b;
    }
  }
  std::size_t size = BlockSize(c);
  if (bump_ == nullptr || static_cast<std::size_t>(bump_end_ - bump_) < size) {
    bump_ = NewChunk();
    bump_end_ = bump_ + kChunkBytes;
  }
  void* p = bump_;
  bump_ += size;
  return p;
}

void ThreadPool::Spill(std::size_t c, std::size_t keep) {
  if (count_[c] <= keep) return;
  // Detach everything after the first `keep` blocks and hand it to the global list.
  PoolBlock* last_kept = nullptr;
  PoolBlock* rest = free_[c];
  for (std::size_t i = 0; i < keep; ++i) {
    last_kept = rest;
    rest = rest->next;
  }
  if (last_kept != nullptr) {
    last_kept->next = nullptr;
  } else {
    free_[c] = nullptr;
  }
  std::size_t moved = count_[c] - keep;
  count_[c] = keep;
  PoolBlock* tail = rest;
  while (tail->next != nullptr) tail = tail->next;
  GlobalPool& global = Global();
  std::lock_guard<std::mutex> lock(global.mutex);
  tail->next = global.free[c];
  global.free[c] = rest;
  global.count[c] += moved;
  global.available[c].store(global.count[c], std::memory_order_relaxed);
}

ThreadPool& InitLocalPool() {
  // Destroyed at thread exit, which spills the thread's blocks to the global list.
  static thread_local ThreadPool pool;
  local_pool = &pool;
  return pool;
}

ThreadPool::~ThreadPool() {
  local_pool = nullptr;
#ifndef SNOW_NO_POOL
  for (std::size_t c = 0; c < kPoolClasses; ++c) Spill(c, 0);
#endif
}

}  // namespace snow::core_internal
