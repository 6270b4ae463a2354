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

#include "snow/core/internal/actor_cell.h"
#include "snow/core/internal/pool.h"

namespace snow::core_internal {

// A slot holds only the cell pointer (8 bytes, not 16 with the serial beside it: a million
// actors take 16 MiB of table instead of 32, and a growing table faults in half as many fresh
// pages). The serial is read from the cell, which Find's callers load next anyway.
//
// Doubling the table moves each entry to its home in the bigger table, which depends on one more
// bit of its serial than the slot index tells. Reading that bit from every cell was ~10 ms of a
// million spawns (cold cells, one cache miss each), so each slot has a one-byte "hint" beside
// it, in a separate array that Find never touches: the next few serial bits above the index
// bits, which let the next three doublings place the entry without reading its cell. A hint is
// kept only for an entry at its home slot, whose index gives the lower bits; a displaced entry,
// or one whose hint is used up, has hint 0 and is read. (In the pointer's free low bits the
// hint cost W1 1.2 ns: one more operation between loading a slot and loading its cell.)
class ActorTable {
 public:
  ActorTable()
      : entries_(kInitialCapacity),
        hints_(kInitialCapacity),
        mask_(kInitialCapacity - 1),
        index_bits_(kInitialIndexBits) {}

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
    uint64_t serial = cell->pid.serial();
    Place(cell, serial & mask_, HintFor(serial));
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
      uint64_t moved_serial = entries_[j]->pid.serial();
      std::size_t home = moved_serial & mask_;
      // Move j into the hole unless its home lies cyclically in (hole, j].
      bool home_after_hole = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
      if (!home_after_hole) {
        entries_[hole] = entries_[j];
        hints_[hole] = hole == home ? HintFor(moved_serial) : 0;
        hole = j;
      }
    }
    entries_[hole] = nullptr;
    hints_[hole] = 0;
    --size_;
  }

  template <typename Fn>
  void ForEach(Fn fn) const {
    for (std::size_t i = 0; i <= mask_; ++i) {
      if (entries_[i] != nullptr) fn(entries_[i]);
    }
  }

 private:
  static constexpr int kInitialIndexBits = 8;
  static constexpr std::size_t kInitialCapacity = std::size_t{1} << kInitialIndexBits;
  // A hint is a marker bit followed by up to kHintBits serial bits: 0b1xyz holds three (z is
  // the next one needed), 0b01yz two, 0b001z one; 0 or a bare marker none.
  static constexpr int kHintBits = 3;

  // The hint for `serial` at its home slot in this table: the serial bits just above the index.
  uint8_t HintFor(uint64_t serial) const {
    auto next_bits = static_cast<uint8_t>((serial >> index_bits_) & ((1u << kHintBits) - 1));
    return static_cast<uint8_t>((1u << kHintBits) | next_bits);
  }

  // Puts `cell` in the first free slot from `home`, with `hint` if that is `home` itself.
  void Place(ActorCell* cell, std::size_t home, uint8_t hint) {
    std::size_t i = home;
    while (entries_[i] != nullptr) i = (i + 1) & mask_;
    entries_[i] = cell;
    hints_[i] = i == home ? hint : 0;
  }

  void Grow() {
    std::size_t old_capacity = mask_ + 1;
    ZeroedArray<ActorCell*> old = std::move(entries_);
    ZeroedArray<uint8_t> old_hints = std::move(hints_);
    entries_ = ZeroedArray<ActorCell*>(old_capacity * 2);
    hints_ = ZeroedArray<uint8_t>(old_capacity * 2);
    mask_ = old_capacity * 2 - 1;
    ++index_bits_;
    for (std::size_t i = 0; i < old_capacity; ++i) {
      ActorCell* cell = old[i];
      if (cell == nullptr) continue;
      uint8_t hint = old_hints[i];
      if (hint > 1) {
        // At its home i: the serial's low bits are i's, and the hint's lowest bit is the next.
        std::size_t home = i | ((hint & 1u) * old_capacity);
        auto rest = static_cast<uint8_t>(hint >> 1);
        Place(cell, home, rest > 1 ? rest : 0);
      } else {
        uint64_t serial = cell->pid.serial();
        Place(cell, serial & mask_, HintFor(serial));
      }
    }
  }

  ZeroedArray<ActorCell*> entries_;
  ZeroedArray<uint8_t> hints_;  // beside entries_, index for index
  std::size_t mask_;
  int index_bits_;  // log2 of the capacity
  std::size_t size_ = 0;
};

}  // namespace snow::core_internal
