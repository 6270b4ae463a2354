// File: perf/workloads.h
//
// The workloads of docs/benchmarks.md, each printing one line
// `W<id> snow key=value ...` on stdout. Each builds its own runtime.
#pragma once

#include <time.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "snow/core/snow.h"

namespace snow::perf {

inline int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// Runs `fn(Self, args...)` as the main actor of a runtime made with `options`; 0 on success,
// else 1 with the reason on stderr.
template <typename Fn, typename... Args>
int RunWorkload(RuntimeOptions options, Fn fn, Args... args) {
  absl::StatusOr<std::unique_ptr<Runtime>> runtime = Runtime::Create(options);
  if (!runtime.ok()) {
    std::fprintf(stderr, "runtime: %s\n", runtime.status().ToString().c_str());
    return 1;
  }
  (*runtime)->SpawnMain(fn, args...);
  absl::Status status = (*runtime)->Wait();
  if (!status.ok()) {
    std::fprintf(stderr, "workload: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}

inline RuntimeOptions ShardsOptions(uint32_t shards) {
  RuntimeOptions options;
  options.shards = shards;
  return options;
}

struct Workload {
  std::string id;
  const char* what;
  int (*run)();  // prints its line; returns 0 on success
};

// W1–W5: the core runtime.
std::vector<Workload> CoreWorkloads();
// FT1–FT3: links, supervisors, monitors and calls.
std::vector<Workload> FaultWorkloads();
// W6–W10 and W7c: distribution, against snow-node processes (perf/workloads_dist.cc).
std::vector<Workload> DistWorkloads();

}  // namespace snow::perf
