// File: test/fuzz/cuts.h
//
// Where the differential fuzz targets cut their input: one byte of the input (`step`) picks
// cuts 1-7 bytes apart, so that feeding the pieces must give what feeding the whole does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace snow::fuzzing {

// Cut points in (0, size), increasing; none for step 0.
inline std::vector<size_t> Cuts(uint8_t step, size_t size) {
  std::vector<size_t> cuts;
  for (size_t pos = 0, k = 0; step != 0 && pos < size; ++k) {
    pos += 1 + ((step * (k + 1)) % 7);
    if (pos < size) cuts.push_back(pos);
  }
  return cuts;
}

}  // namespace snow::fuzzing
