// File: core/pid.h
//
// Pid: the address of an actor, one 64-bit value.
//
//   bit 63..52  node    (12 bits) slot in this runtime's node table; 0 = this node
//   bit 51..42  shard   (10 bits) the shard the actor lives on for its whole life
//   bit 41..0   serial  (42 bits) unique among the actors a shard has ever run
//
// Locality is one compare (`pid.is_local()`), shard routing one shift. Serials are never
// reused within a runtime: at 10 M spawns/s on one shard the 42-bit space lasts about five days;
// a shard that exhausts it stops spawning with a SNOW_CHECK rather than reuse a serial. A
// serial is made by the spawning shard without atomics: serial = counter * stride + origin,
// where each origin (every shard, and one slot for threads outside the runtime) has its own
// counter, so two origins never make the same serial on a target shard.
//
// Text form: `<0.S.N>` for a local PID (node 0, shard S, serial N) and `<K.S.N>` for a PID of
// node table slot K. dist/ prints remote PIDs with the node name; core knows only slots.
// Pid::Parse round-trips ToString.
//
//   Pid p = self.pid();
//   std::string s = p.ToString();           // "<0.1.42>"
//   absl::StatusOr<Pid> q = Pid::Parse(s);  // == p
#pragma once

#include <compare>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace snow {

using ShardId = uint32_t;

class Pid {
 public:
  static constexpr int kSerialBits = 42;
  static constexpr int kShardBits = 10;
  static constexpr int kNodeBits = 12;
  static constexpr uint64_t kMaxSerial = (uint64_t{1} << kSerialBits) - 1;
  static constexpr uint32_t kMaxShards = 1u << kShardBits;
  static constexpr uint32_t kMaxNodes = 1u << kNodeBits;

  constexpr Pid() = default;  // the null PID; no actor has it
  static constexpr Pid FromParts(uint32_t node, ShardId shard, uint64_t serial) {
    return Pid((uint64_t{node} << (kSerialBits + kShardBits)) | (uint64_t{shard} << kSerialBits) |
               (serial & kMaxSerial));
  }
  static constexpr Pid FromBits(uint64_t bits) { return Pid(bits); }

  constexpr uint64_t bits() const { return bits_; }
  constexpr uint32_t node() const {
    return static_cast<uint32_t>(bits_ >> (kSerialBits + kShardBits));
  }
  constexpr ShardId shard() const {
    return static_cast<ShardId>((bits_ >> kSerialBits) & (kMaxShards - 1));
  }
  constexpr uint64_t serial() const { return bits_ & kMaxSerial; }
  constexpr bool is_local() const { return (bits_ >> (kSerialBits + kShardBits)) == 0; }
  constexpr bool is_null() const { return bits_ == 0; }
  explicit constexpr operator bool() const { return bits_ != 0; }

  std::string ToString() const;
  static absl::StatusOr<Pid> Parse(std::string_view text);

  friend constexpr bool operator==(Pid, Pid) = default;
  friend constexpr auto operator<=>(Pid, Pid) = default;
  template <typename H>
  friend H AbslHashValue(H h, Pid p) {
    return H::combine(std::move(h), p.bits_);
  }
  friend std::ostream& operator<<(std::ostream& os, Pid p) { return os << p.ToString(); }

 private:
  explicit constexpr Pid(uint64_t bits) : bits_(bits) {}
  uint64_t bits_ = 0;
};

}  // namespace snow
