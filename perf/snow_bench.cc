// snow_bench: runs the docs/benchmarks.md workloads and prints one line per workload.
//
//   snow_bench            # every workload
//   snow_bench W1 W3      # just these
//   snow_bench --list     # what each one is
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "snow/perf/workloads.h"

int main(int argc, char** argv) {
  std::vector<snow::perf::Workload> all = snow::perf::CoreWorkloads();
  for (auto& w : snow::perf::FaultWorkloads()) all.push_back(std::move(w));
#ifdef SNOW_BENCH_DIST
  for (auto& w : snow::perf::DistWorkloads()) all.push_back(std::move(w));
#endif
  std::vector<std::string> wanted;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::printf(
          "usage: snow_bench [--list] [WORKLOAD...]\n"
          "Runs the workload benchmarks (all, or those named) and prints one line each.\n");
      return 0;
    }
    if (std::strcmp(argv[i], "--list") == 0) {
      for (const auto& w : all) std::printf("%s  %s\n", w.id.c_str(), w.what);
      return 0;
    }
    wanted.emplace_back(argv[i]);
  }
  for (const std::string& id : wanted) {
    bool known = false;
    for (const auto& w : all) known |= w.id == id;
    if (!known) {
      std::fprintf(stderr, "snow_bench: unknown workload %s (try --list)\n", id.c_str());
      return 2;
    }
  }
  int failures = 0;
  for (const auto& w : all) {
    bool run = wanted.empty();
    for (const std::string& id : wanted) run |= id == w.id;
    if (!run) continue;
    if (w.run() != 0) {
      std::fprintf(stderr, "snow_bench: %s failed\n", w.id.c_str());
      ++failures;
    }
    std::fflush(stdout);
  }
  return failures == 0 ? 0 : 1;
}
