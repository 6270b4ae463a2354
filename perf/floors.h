// File: perf/floors.h
//
// The floors docs/benchmarks.md compares Snow with, measured in the same run: plain blocking
// sockets between two threads pinned to CPUs 0 and 1, no runtime. Call them outside any runtime
// (they block and pin the calling thread, then unpin it).
#pragma once

#include <cstddef>

namespace snow::perf {

void PinTo(int cpu);
void Unpin();

struct PingPongFloor {
  double p50_us = 0;
  double p99_us = 0;
};
// `round_trips` 64 B round trips over loopback TCP, blocking send/recv (W6's floor).
PingPongFloor BlockingPingPong(int round_trips);

// One loopback TCP stream of `total_bytes` in `write_bytes` writes, blocking; MB/s (10^6 B) from
// the first write to the receiver having read everything (W7b's floor).
double BlockingStreamMbPerSecond(size_t total_bytes, size_t write_bytes);

// W10's floors: a child process on CPU 1 holds a loopback TCP connection to this one and is
// killed with SIGKILL; the median ms, over `trials`, from kill() to a blocking recv here seeing
// the connection end. With `with_uring`, the child also has an io_uring with a read pending on
// the socket, as a Snow node has: the difference is the kernel tearing that ring down.
double KilledPeerNoticedMs(int trials, bool with_uring);

}  // namespace snow::perf
