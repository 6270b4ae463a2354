#include "core/internal/pool.h"

namespace snow::core_internal {

ThreadPool::~ThreadPool() {
  for (std::size_t c = 0; c < kPoolClasses; ++c) {
    while (FreeBlock* b = free_[c]) {
      free_[c] = b->next;
      ::operator delete(b);
    }
  }
}

}  // namespace snow::core_internal
