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

namespace snow::core_internal {

struct ActorCell;

class ActorTable {
 public:
  ActorTable()
      : entries_(std::make_unique<Entry[]>(kInitialCapacity)), mask_(kInitialCapacity - 1) {}

  std::size_t size() const { return size_; }

  ActorCell* Find(uint64_t serial) const {
    for (std::size_t i = serial & mask_;; i = (i + 1) & mask_) {
      const Entry& e = entries_[i];
      if (e.serial == serial) return e.cell;
      if (e.serial == kEmpty) return nullptr;
    }
  }

  // `serial` must not be present and must not be 0.
  void Insert(uint64_t serial, ActorCell* cell) {
    if (2 * (size_ + 1) > mask_ + 1) Grow();
    Place(serial, cell);
    ++size_;
  }

  void Erase(uint64_t serial) {
    std::size_t i = serial & mask_;
    while (entries_[i].serial != serial) {
      if (entries_[i].serial == kEmpty) return;
      i = (i + 1) & mask_;
    }
    // Backward-shift: pull later entries of the probe run into the hole.
    std::size_t hole = i;
    for (std::size_t j = (i + 1) & mask_; entries_[j].serial != kEmpty; j = (j + 1) & mask_) {
      std::size_t home = entries_[j].serial & mask_;
      // Move j into the hole unless its home lies cyclically in (hole, j].
      bool home_after_hole = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
      if (!home_after_hole) {
        entries_[hole] = entries_[j];
        hole = j;
      }
    }
    entries_[hole] = Entry{};
    --size_;
  }

  template <typename Fn>
  void ForEach(Fn fn) const {
    for (std::size_t i = 0; i <= mask_; ++i) {
      if (entries_[i].serial != kEmpty) fn(entries_[i].cell);
    }
  }

 private:
  static constexpr uint64_t kEmpty = 0;
  static constexpr std::size_t kInitialCapacity = 256;
  struct Entry {
    uint64_t serial = kEmpty;
    ActorCell* cell = nullptr;
  };

  void Place(uint64_t serial, ActorCell* cell) {
    std::size_t i = serial & mask_;
    while (entries_[i].serial != kEmpty) i = (i + 1) & mask_;
    entries_[i] = Entry{serial, cell};
  }

  void Grow() {
    std::size_t old_capacity = mask_ + 1;
    std::unique_ptr<Entry[]> old = std::move(entries_);
    entries_ = std::make_unique<Entry[]>(old_capacity * 2);
    mask_ = old_capacity * 2 - 1;
    for (std::size_t i = 0; i < old_capacity; ++i) {
      if (old[i].serial != kEmpty) Place(old[i].serial, old[i].cell);
    }
  }

  std::unique_ptr<Entry[]> entries_;
  std::size_t mask_;
  std::size_t size_ = 0;
};

}  // namespace snow::core_internal
