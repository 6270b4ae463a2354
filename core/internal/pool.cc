#include "snow/core/internal/pool.h"

#include <sys/mman.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "snow/core/status.h"

namespace snow::core_internal {
namespace {

constexpr std::size_t kChunkBytes = std::size_t{2} << 20;
// Blocks moved from the global list to a thread at once.
constexpr std::size_t kRefillBatch = 256;
// Adopted memory (AdoptRegion) a thread keeps at most.
[[maybe_unused]] constexpr std::size_t kMaxSpareBytes = std::size_t{64} << 20;

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

// Huge pages only with SNOW_HUGE_PAGES=1. They make a 2 MiB chunk one page fault instead of 512,
// and back-to-back runs of W2 (a million blocked actors) took 60-72 instead of ~94 ns per spawn.
// But on this VM the first touch of a 2 MiB block that the host has taken back is slow: a run
// started after a few idle seconds took 400-460 ns, every time. And with the kernel's usual
// defrag=madvise, a fault may compact memory first when free memory is fragmented: a stall of
// milliseconds on a shard.
bool UseHugePages() {
  static const bool use = [] {
    const char* setting = std::getenv("SNOW_HUGE_PAGES");
    return setting != nullptr && std::strcmp(setting, "1") == 0;
  }();
  return use;
}

// Fault `bytes` at `p` in now, in one call, rather than page by page as they are first written:
// the kernel's per-fault entry and exit was ~15% of W2's spawn time. Advice only: kernels before
// 5.14 fault the memory in lazily.
void Populate(void* p, std::size_t bytes) { madvise(p, bytes, MADV_POPULATE_WRITE); }

char* NewChunk() {
  // Map twice the size and trim, so the chunk is 2 MiB aligned: a huge page fits it exactly.
  void* raw =
      mmap(nullptr, 2 * kChunkBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  SNOW_CHECK(raw != MAP_FAILED, "out of memory for the actor/message pool");
  auto start = reinterpret_cast<uintptr_t>(raw);
  uintptr_t aligned = (start + kChunkBytes - 1) & ~(uintptr_t{kChunkBytes} - 1);
  if (aligned > start) munmap(raw, aligned - start);
  uintptr_t end = start + 2 * kChunkBytes;
  if (end > aligned + kChunkBytes)
    munmap(reinterpret_cast<void*>(aligned + kChunkBytes), end - aligned - kChunkBytes);
  // Advice only: without transparent huge pages in the kernel the chunk gets plain pages.
  if (UseHugePages()) madvise(reinterpret_cast<void*>(aligned), kChunkBytes, MADV_HUGEPAGE);
  // A chunk is used up soon after it is made.
  Populate(reinterpret_cast<void*>(aligned), kChunkBytes);
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
    if (SpareRegion* region = spare_) {
      spare_ = region->next;
      spare_bytes_ -= region->bytes;
      bump_ = reinterpret_cast<char*>(region);
      bump_end_ = bump_ + region->bytes;
    } else {
      bump_ = NewChunk();
      bump_end_ = bump_ + kChunkBytes;
    }
  }
  void* p = bump_;
  bump_ += size;
  return p;
}

bool ThreadPool::AdoptRegion(void* p, std::size_t bytes) {
#ifndef SNOW_NO_POOL
  if (spare_bytes_ + bytes <= kMaxSpareBytes && bytes >= sizeof(SpareRegion)) {
    spare_ = new (p) SpareRegion{spare_, bytes};
    spare_bytes_ += bytes;
    return true;
  }
#endif
  (void)p;
  (void)bytes;
  return false;
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

void* AllocateZeroed(std::size_t bytes) {
#ifndef SNOW_NO_POOL
  if (bytes >= kChunkBytes) {
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    SNOW_CHECK(p != MAP_FAILED, "out of memory for a table");
    Populate(p, bytes);
    return p;
  }
#endif
  void* p = std::calloc(bytes, 1);
  SNOW_CHECK(p != nullptr, "out of memory for a table");
  return p;
}

void FreeZeroed(void* p, std::size_t bytes) noexcept {
#ifndef SNOW_NO_POOL
  if (bytes >= kChunkBytes) {
    // A table outgrown while a shard fills up with actors: its pages become theirs.
    if (!LocalPool().AdoptRegion(p, bytes)) munmap(p, bytes);
    return;
  }
#endif
  (void)bytes;
  std::free(p);
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
  // Regions not carved from hold no blocks: give them back.
  while (SpareRegion* region = spare_) {
    spare_ = region->next;
    munmap(region, region->bytes);
  }
#endif
}

}  // namespace snow::core_internal
