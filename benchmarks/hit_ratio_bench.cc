// Hit ratio of the in-process store's eviction policies next to the
// references (benchmarks/cache_sim.h), on the workload: a cache of
// 10,000 entries, 1,000,000 keys, Zipf 0.9 and 1.1, and the same with a
// one-pass scan of 20,000 new keys after every 200,000 requests.
//
//   bazel run -c opt //benchmarks:hit_ratio_bench
//
// Each benchmark replays one trace once; the figure is the counter
// `hit_ratio` (requests of the scan are served but not counted).

#include <map>
#include <memory>
#include <string>

#include "benchmark/benchmark.h"
#include "benchmarks/cache_sim.h"
#include "benchmarks/store_policy.h"

namespace cache_alchemy {
namespace sim {
namespace {

constexpr int64_t kCapacity = 10'000;

const Trace& TraceFor(int alpha_x10, bool scans) {
  static auto* traces = new std::map<std::pair<int, bool>, Trace>();
  auto [it, inserted] = traces->try_emplace({alpha_x10, scans});
  if (inserted) {
    it->second =
        ZipfTrace({.keys = 1'000'000,
                   .requests = 10'000'000,
                   .alpha = alpha_x10 / 10.0,
                   .seed = 1,
                   .scan_every = scans ? 200'000u : 0u,
                   .scan_length = scans ? uint64_t{2} * kCapacity : 0});
  }
  return it->second;
}

template <typename Make>
void Run(benchmark::State& state, Make make) {
  const Trace& trace = TraceFor(state.range(0), state.range(1) != 0);
  double ratio = 0;
  for (auto _ : state) {
    std::unique_ptr<Policy> policy = make();
    ratio = HitRatio(*policy, trace);
  }
  state.counters["hit_ratio"] = ratio;
}

void BM_StoreS3Fifo(benchmark::State& state) {
  Run(state, [] {
    return std::make_unique<StorePolicy>(kCapacity, EvictionPolicy::kS3Fifo);
  });
}
void BM_StoreLru(benchmark::State& state) {
  Run(state, [] {
    return std::make_unique<StorePolicy>(kCapacity, EvictionPolicy::kLru);
  });
}
void BM_RefLru(benchmark::State& state) {
  Run(state, [] { return std::make_unique<LruPolicy>(kCapacity); });
}
void BM_RefSieve(benchmark::State& state) {
  Run(state, [] { return std::make_unique<SievePolicy>(kCapacity); });
}
void BM_RefS3Fifo(benchmark::State& state) {
  Run(state, [] { return std::make_unique<S3FifoPolicy>(kCapacity); });
}
void BM_RefWTinyLfu(benchmark::State& state) {
  Run(state, [] { return std::make_unique<WTinyLfuPolicy>(kCapacity); });
}

// Args: {alpha x 10, scans}.
#define WORKLOADS                        \
  ArgsProduct({{9, 11}, {0, 1}})         \
      ->ArgNames({"alpha_x10", "scans"}) \
      ->Iterations(1)                    \
      ->Unit(benchmark::kMillisecond)
BENCHMARK(BM_StoreS3Fifo)->WORKLOADS;
BENCHMARK(BM_StoreLru)->WORKLOADS;
BENCHMARK(BM_RefLru)->WORKLOADS;
BENCHMARK(BM_RefSieve)->WORKLOADS;
BENCHMARK(BM_RefS3Fifo)->WORKLOADS;
BENCHMARK(BM_RefWTinyLfu)->WORKLOADS;

}  // namespace
}  // namespace sim
}  // namespace cache_alchemy

BENCHMARK_MAIN();
