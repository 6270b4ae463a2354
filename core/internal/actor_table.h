// File: core/internal/actor_table.h
//
// ActorTable: a shard's serial -> ActorCell map, on the path of every send. Open addressing
// with linear probing and backward-shift deletion (no tombstones), indexed by the serial
// itself: serials are handed out in sequence, so actors spawned together sit in neighbouring
// slots and a lookup is usually one cache line. Serials are made by the runtime, never by a
// peer, so the identity index cannot be steered into collisions from outside.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/internal/actor_cell.h"
#include "core/internal/pool.h"

namespace snow::core_internal {

// A slot holds only the cell pointer (8 bytes, not 16 with the serial beside it): a million
// actors take 16 MiB of table instead of 32, and a growing table faults in half as many fresh
// pages (W2 ~4% faster). The serial is read from the cell, which Find's callers load next
// anyway; only Erase's backward shift and Grow read cells for nothing else.
class ActorTable {
 public:
  ActorTable() : entries_(kInitialCapacity), mask_(kInitialCapacity - 1) {}

  std::size_t size() const { return size_; }

  ActorCell* Find(uint64_t serial) const {
    for (std::size_t i = serial & mask_;; i = (i + 1) & mask_) {
      ActorCell* cell = entries_[i];
      if (cell == nullptr || cell->pid.serial() == serial) return cell;
    }
  }

  // `cell`'s serial must not be present and must not be 0.
  void Insert(ActorCell* cell) {
    if (2 * (size_ + 1) > mask_ + 1) Grow();
    Place(cell);
    ++size_;
  }

  void Erase(uint64_t serial) {
    std::size_t i = serial & mask_;
    for (;; i = (i + 1) & mask_) {
      if (entries_[i] == nullptr) return;
      if (entries_[i]->pid.serial() == serial) break;
    }
    // Backward-shift: pull later entries of the probe run into the hole.
    std::size_t hole = i;
    for (std::size_t j = (i + 1) & mask_; entries_[j] != nullptr; j = (j + 1) & mask_) {
      std::size_t home = entries_[j]->pid.serial() & mask_;
      // Move j into the hole unless its home lies cyclically in (hole, j].
      bool home_after_hole = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
      if (!home_after_hole) {
        entries_[hole] = entries_[j];
        hole = j;
      }
    }
    entries_[hole] = nullptr;
    --size_;
  }

  template <typename Fn>
  void ForEach(Fn fn) const {
    for (std::size_t i = 0; i <= mask_; ++i) {
      if (entries_[i] != nullptr) fn(entries_[i]);
    }
  }

 private:
  static constexpr std::size_t kInitialCapacity = 256;

  void Place(ActorCell* cell) {
    std::size_t i = cell->pid.serial() & mask_;
    while (entries_[i] != nullptr) i = (i + 1) & mask_;
    entries_[i] = cell;
  }

  void Grow() {
    std::size_t old_capacity = mask_ + 1;
    ZeroedArray<ActorCell*> old = std::move(entries_);
    entries_ = ZeroedArray<ActorCell*>(old_capacity * 2);
    mask_ = old_capacity * 2 - 1;
    // Reading each cell's serial is a cache miss for cells long idle: fetch ahead.
    constexpr std::size_t kAhead = 8;
    for (std::size_t i = 0; i < old_capacity; ++i) {
      if (i + kAhead < old_capacity && old[i + kAhead] != nullptr) {
        __builtin_prefetch(old[i + kAhead]);
      }
      if (old[i] != nullptr) Place(old[i]);
    }
  }

  ZeroedArray<ActorCell*> entries_;
  std::size_t mask_;
  std::size_t size_ = 0;
};

}  // namespace snow::core_internal
