// File: tools/load/histogram.h
//
// LatencyHistogram: a log-bucketed histogram of nanosecond values in the spirit of HdrHistogram:
// exact below 128 ns, then 64 buckets per power of two (at most 1.6 % error), up to 2^63 ns.
// Recording is an index computation and an increment; no allocation after construction.
//
//   LatencyHistogram h;
//   h.Record(41'000);                  // 41 µs
//   uint64_t p99 = h.Percentile(99.0);  // an upper bound of the bucket holding the 99th percentile
//
// Not thread-safe: one per shard, merged by the reader.
#pragma once

#include <cstdint>
#include <vector>

namespace snow::load {

class LatencyHistogram {
 public:
  static constexpr int kSubBits = 6;
  static constexpr int kBuckets = (64 - kSubBits + 1) * (1 << kSubBits) + (1 << kSubBits);

  LatencyHistogram() : counts_(kBuckets, 0) {}

  void Record(uint64_t nanos) {
    ++counts_[Index(nanos)];
    ++count_;
    if (nanos > max_) max_ = nanos;
  }
  void Merge(const LatencyHistogram& other);
  void Reset();

  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }
  // The smallest bucket upper bound at or below which `percent` % of the values lie (capped by
  // the maximum recorded); 0 when empty.
  uint64_t Percentile(double percent) const;

  static int Index(uint64_t v) {
    if (v < (uint64_t{2} << kSubBits)) return static_cast<int>(v);
    int msb = 63 - __builtin_clzll(v);
    int shift = msb - kSubBits;
    return (shift + 1) * (1 << kSubBits) +
           static_cast<int>((v >> shift) - (uint64_t{1} << kSubBits));
  }
  // The largest value that falls in bucket `index`.
  static uint64_t UpperBound(int index);

 private:
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t max_ = 0;
};

}  // namespace snow::load
