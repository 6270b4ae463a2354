// File: perf/workloads.h
//
// The workloads of shared/docs/BENCHMARKS.md, each printing one line
// `W<id> snow key=value ...` on stdout. Each builds its own runtime.
#pragma once

#include <string>
#include <vector>

namespace snow::perf {

struct Workload {
  std::string id;
  const char* what;
  int (*run)();  // prints its line; returns 0 on success
};

// W1–W5: the core runtime.
std::vector<Workload> CoreWorkloads();
// FT1–FT3: links, supervisors, monitors and calls.
std::vector<Workload> FaultWorkloads();

}  // namespace snow::perf
