// File: core/ref.h
//
// Ref: a reference unique within this runtime (Erlang's make_ref): tags a request so its reply
// can be told apart, names a monitor, etc. Made by Self::MakeRef. 64 bits: the making shard in
// the low 10 bits, that shard's counter above.
#pragma once

#include <compare>
#include <cstdint>
#include <ostream>
#include <string>

#include "absl/strings/str_cat.h"

namespace snow {

class Ref {
 public:
  constexpr Ref() = default;
  static constexpr Ref FromBits(uint64_t bits) { return Ref(bits); }
  constexpr uint64_t bits() const { return bits_; }
  explicit constexpr operator bool() const { return bits_ != 0; }

  std::string ToString() const {
    return absl::StrCat("#Ref<", bits_ & 1023, ".", bits_ >> 10, ">");
  }

  friend constexpr bool operator==(Ref, Ref) = default;
  friend constexpr auto operator<=>(Ref, Ref) = default;
  template <typename H>
  friend H AbslHashValue(H h, Ref r) {
    return H::combine(std::move(h), r.bits_);
  }
  friend std::ostream& operator<<(std::ostream& os, Ref r) { return os << r.ToString(); }

 private:
  explicit constexpr Ref(uint64_t bits) : bits_(bits) {}
  uint64_t bits_ = 0;
};

}  // namespace snow
