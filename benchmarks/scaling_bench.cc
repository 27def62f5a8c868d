// Hits on one function from 1 and 2 threads, pinned to different CPUs, in
// trials that count only if the threads ran at the same time
// (benchmarks/scaling.h), for one key and for 10,000 keys. Baselines in the
// same binary: an absl::flat_hash_map memo behind a std::mutex, and a memo
// whose hits write nothing shared (the same map read without a lock), the
// ceiling of scaling.
//
//   bazel run -c opt //benchmarks:scaling_bench -- --benchmark_repetitions=9
//   --benchmark_report_aggregates_only=true
//
// Figures: the counter `calls_per_second` (aggregate over threads); the
// scaling of a subject is its 2-thread median over its 1-thread median.
// `discarded` counts trials thrown away because the threads did not overlap
// by 90% (another process had one of the CPUs).

#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "benchmark/benchmark.h"
#include "benchmarks/scaling.h"
#include "cache_alchemy/cache_alchemy.h"

namespace ca = cache_alchemy;

namespace {

constexpr char kMemory[] = "cache_alchemy.backends.memory.MemoryCache";
constexpr int64_t kCallsPerThread = 2'000'000;
constexpr int kMaxAttempts = 30;

int Add(int a, int b) { return a + b; }

// Runs trials until one ran together; reports it (manual time).
void Measure(benchmark::State& state,
             const std::function<void(int, int64_t)>& body) {
  const int threads = static_cast<int>(state.range(0));
  int discarded = 0;
  for (auto _ : state) {
    ca::bench::Trial trial;
    for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
      trial = ca::bench::RunPinnedTrial(threads, kCallsPerThread, body);
      if (trial.ran_together) break;
      ++discarded;
    }
    if (!trial.ran_together) {
      state.SkipWithError(trial.pinned ? "threads never ran at the same time"
                                       : "fewer CPUs than threads");
      return;
    }
    state.SetIterationTime(trial.wall_seconds);
    state.counters["calls_per_second"] = trial.calls_per_second();
    state.counters["cpu_ns_per_call"] = trial.cpu_ns_per_call();
    state.counters["overlap"] = trial.overlap;
  }
  state.counters["discarded"] = discarded;
}

// The key a thread uses for call `i`: one key, or 10,000 keys visited in a
// different order by each thread.
int KeyOf(int64_t keys, int thread, int64_t i) {
  return keys == 1 ? 0 : static_cast<int>((i * 7919 + thread * 5003) % keys);
}

void BM_MemoryCacheHit(benchmark::State& state) {
  const int64_t keys = state.range(1);
  static auto* add = new auto(ca::cache(
      {.limit = -1, .backend = kMemory, .name = "scaling:memory"}, Add));
  for (int k = 0; k < keys; ++k) (*add)(k, 2);
  Measure(state, [keys](int t, int64_t i) {
    benchmark::DoNotOptimize((*add)(KeyOf(keys, t, i), 2));
  });
}

class StdMutexMemo {
 public:
  int operator()(int a, int b) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = memo_.find(std::make_pair(a, b));
      if (it != memo_.end()) return it->second;
    }
    std::lock_guard<std::mutex> lock(mu_);
    return memo_.emplace(std::make_pair(a, b), Add(a, b)).first->second;
  }
  // The same map read without a lock: what hits cost when they write
  // nothing shared (valid here because nothing writes during the trial).
  int ReadOnly(int a, int b) const {
    return memo_.find(std::make_pair(a, b))->second;
  }

 private:
  std::mutex mu_;
  absl::flat_hash_map<std::pair<int, int>, int> memo_;
};

void BM_StdMutexMemoHit(benchmark::State& state) {
  const int64_t keys = state.range(1);
  static auto* memo = new StdMutexMemo();
  for (int k = 0; k < keys; ++k) (*memo)(k, 2);
  Measure(state, [keys](int t, int64_t i) {
    benchmark::DoNotOptimize((*memo)(KeyOf(keys, t, i), 2));
  });
}

void BM_SharedNothingMemoHit(benchmark::State& state) {
  const int64_t keys = state.range(1);
  static auto* memo = new StdMutexMemo();
  for (int k = 0; k < keys; ++k) (*memo)(k, 2);
  Measure(state, [keys](int t, int64_t i) {
    benchmark::DoNotOptimize(memo->ReadOnly(KeyOf(keys, t, i), 2));
  });
}

#define CONFIGS                       \
  ArgsProduct({{1, 2}, {1, 10'000}})  \
      ->ArgNames({"threads", "keys"}) \
      ->UseManualTime()               \
      ->Iterations(1)                 \
      ->Unit(benchmark::kMillisecond)
BENCHMARK(BM_MemoryCacheHit)->CONFIGS;
BENCHMARK(BM_StdMutexMemoHit)->CONFIGS;
BENCHMARK(BM_SharedNothingMemoHit)->CONFIGS;

}  // namespace

BENCHMARK_MAIN();
