// Canary: Google Benchmark (benchmark_main) links; build with -c opt.
#include <string>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"

static void BM_StrCat(benchmark::State& state) {
  for (auto _ : state) {
    std::string s = absl::StrCat("key:", state.iterations(), ":", 42);
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_StrCat);
