// Memory per entry of an int -> int function, measured as the growth of the
// process's resident set (RSS) over 1,000,000 entries, next to an
// absl::flat_hash_map<int, int> memo in the same binary.
//
//   bazel run -c opt //benchmarks:footprint_bench
//
// Each benchmark runs once in a fresh state and reports `bytes_per_entry`.

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "absl/container/flat_hash_map.h"
#include "benchmark/benchmark.h"
#include "cache_alchemy/cache_alchemy.h"

namespace ca = cache_alchemy;

namespace {

constexpr int kEntries = 1'000'000;

int64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

int Twice(int x) { return 2 * x; }

void BM_MemoryCacheIntToInt(benchmark::State& state) {
  for (auto _ : state) {
    const int64_t before = ResidentBytes();
    auto f = ca::cache({.limit = -1,
                        .expire = -1,
                        .backend = "cache_alchemy.backends.memory.MemoryCache",
                        .name = "footprint"},
                       Twice);
    for (int i = 0; i < kEntries; ++i) benchmark::DoNotOptimize(f(i));
    const int64_t after = ResidentBytes();
    state.counters["bytes_per_entry"] =
        static_cast<double>(after - before) / kEntries;
    state.counters["entries"] = static_cast<double>(f.size());
  }
}
BENCHMARK(BM_MemoryCacheIntToInt)->Iterations(1)->Unit(benchmark::kMillisecond);

void BM_FlatHashMapIntToInt(benchmark::State& state) {
  for (auto _ : state) {
    const int64_t before = ResidentBytes();
    absl::flat_hash_map<int, int> memo;
    for (int i = 0; i < kEntries; ++i) memo.emplace(i, Twice(i));
    const int64_t after = ResidentBytes();
    state.counters["bytes_per_entry"] =
        static_cast<double>(after - before) / kEntries;
    benchmark::DoNotOptimize(memo);
  }
}
BENCHMARK(BM_FlatHashMapIntToInt)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
