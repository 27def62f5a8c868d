// Issue 16, measured (docs/performance.md, "Refresh-ahead and TTL jitter"):
//
//   - BM_RefreshAheadUnderLoad: 2 caller threads hit 10 keys of a function
//     that takes 20 ms, for 4 s, with expire 2 s and refresh_after 0.5 s;
//     after warm-up no caller should wait for a recomputation, so the call
//     latency quantiles stay those of a hit. The same load without
//     refresh-ahead (BM_ExpiryUnderLoad) waits 20 ms each time a key
//     expires; BM_PlainHitUnderLoad is the hit of a function that never
//     expires, the reference.
//   - BM_Hit: a hit, plain and with an envelope (refresh_after not due,
//     cache_exceptions), single-threaded.
//   - BM_JitterHistogram: 10,000 entries written over one second (the fake
//     clock), expire 600 s, with TTL jitter 0.1 and without: how many expire
//     in each 6-second slice of the window (counters bin_00 .. bin_10).
//
//   bazel build -c opt //benchmarks:features_bench
//   bazel-bin/benchmarks/features_bench

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "benchmark/benchmark.h"
#include "cache_alchemy/cache_alchemy.h"
#include "core/internal/task_pool.h"
#include "testing/fake_clock.h"

namespace ca = cache_alchemy;

namespace {

constexpr char kMemory[] = "cache_alchemy.backends.memory.MemoryCache";
constexpr int kKeys = 10;
constexpr int kThreads = 2;
constexpr auto kRun = std::chrono::seconds(4);
constexpr auto kSlow = std::chrono::milliseconds(20);

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int Slow(int key) {
  std::this_thread::sleep_for(kSlow);
  return key * 2;
}

// Runs kThreads callers of `f` over kKeys keys for kRun (after one warm-up
// call per key) and reports latency quantiles of every call.
template <typename F>
void RunLoad(benchmark::State& state, F& f) {
  for (int k = 0; k < kKeys; ++k) f(k);  // warm-up: every key computed once
  std::vector<std::vector<int64_t>> latencies(kThreads);
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      int k = t;
      auto& mine = latencies[t];
      mine.reserve(1 << 22);
      while (!stop.load(std::memory_order_relaxed)) {
        const int64_t start = NowNs();
        benchmark::DoNotOptimize(f(k));
        mine.push_back(NowNs() - start);
        k = (k + 1) % kKeys;
      }
    });
  }
  std::this_thread::sleep_for(kRun);
  stop.store(true);
  for (auto& t : threads) t.join();
  std::vector<int64_t> all;
  for (auto& v : latencies) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  auto q = [&](double p) {
    return static_cast<double>(
        all[std::min(all.size() - 1, static_cast<size_t>(p * all.size()))]);
  };
  int64_t waited = 0;  // calls that took >= 10 ms: waited for a computation
  for (int64_t ns : all) waited += ns >= 10'000'000 ? 1 : 0;
  state.counters["calls"] = static_cast<double>(all.size());
  state.counters["p50_ns"] = q(0.50);
  state.counters["p99_ns"] = q(0.99);
  state.counters["p999_ns"] = q(0.999);
  state.counters["max_ns"] = static_cast<double>(all.back());
  state.counters["waited_calls"] = static_cast<double>(waited);
}

void BM_RefreshAheadUnderLoad(benchmark::State& state) {
  auto f = ca::cache({.limit = -1,
                      .expire = 2,
                      .backend = kMemory,
                      .refresh_after = std::chrono::milliseconds(500)},
                     Slow);
  for (auto _ : state) RunLoad(state, f);
  state.counters["refreshes"] = static_cast<double>(f.refreshes());
  state.counters["misses"] = static_cast<double>(f.misses());
  ca::internal::TaskPool::Refresh().WaitIdle();
}
BENCHMARK(BM_RefreshAheadUnderLoad)->Iterations(1)->UseRealTime();

void BM_ExpiryUnderLoad(benchmark::State& state) {
  auto f = ca::cache({.limit = -1, .expire = 2, .backend = kMemory}, Slow);
  for (auto _ : state) RunLoad(state, f);
  state.counters["misses"] = static_cast<double>(f.misses());
}
BENCHMARK(BM_ExpiryUnderLoad)->Iterations(1)->UseRealTime();

void BM_PlainHitUnderLoad(benchmark::State& state) {
  auto f = ca::cache({.limit = -1, .expire = -1, .backend = kMemory}, Slow);
  for (auto _ : state) RunLoad(state, f);
  state.counters["misses"] = static_cast<double>(f.misses());
}
BENCHMARK(BM_PlainHitUnderLoad)->Iterations(1)->UseRealTime();

// A hit of int(int, int) in one thread: plain, and with the options that
// keep an envelope (refresh-ahead that is not due, cached exceptions).
int Add(int a, int b) { return a + b; }
void BM_Hit(benchmark::State& state) {
  ca::CacheOptions o{.expire = 3600, .backend = kMemory};
  if (state.range(0) == 1) o.refresh_after = std::chrono::minutes(30);
  if (state.range(0) == 2) {
    o.cache_exceptions =
        ca::CacheExceptions<std::out_of_range>(std::chrono::seconds(5));
  }
  auto f = ca::cache(o, Add);
  f(1, 2);
  int a = 1;
  for (auto _ : state) {
    benchmark::DoNotOptimize(a);
    benchmark::DoNotOptimize(f(a, 2));
  }
  state.SetLabel(state.range(0) == 0   ? "plain"
                 : state.range(0) == 1 ? "refresh_after"
                                       : "cache_exceptions");
}
BENCHMARK(BM_Hit)->Arg(0)->Arg(1)->Arg(2);

// Expiries of 10,000 entries written over one second (fake clock), in
// 6-second slices of the window [540 s, 601 s) after the first write.
void BM_JitterHistogram(benchmark::State& state) {
  const double jitter = state.range(0) / 100.0;
  for (auto _ : state) {
    ca::testing::FakeClock clock(0);
    ca::testing::ScopedClockOverride use(&clock);
    ca::CacheOptions o{.limit = -1, .expire = 600, .backend = kMemory};
    if (jitter > 0) o.expire_jitter = jitter;
    auto f = ca::cache(o, [](int k) { return k; });
    constexpr int kEntries = 10'000;
    for (int k = 0; k < kEntries; ++k) {
      if (k % 10 == 0) clock.Advance(std::chrono::milliseconds(1));
      f(k);
    }
    // Now 1 s after the first write. Walk to 540 s, then in 6 s slices.
    clock.Advance(std::chrono::milliseconds(539'000));
    int64_t alive = f.size();
    state.counters["expired_before_540s"] =
        static_cast<double>(kEntries - alive);
    for (int bin = 0; bin <= 10; ++bin) {
      clock.Advance(std::chrono::seconds(6));
      const int64_t now_alive = f.size();
      char name[16];
      std::snprintf(name, sizeof(name), "bin_%02d", bin);
      state.counters[name] = static_cast<double>(alive - now_alive);
      alive = now_alive;
    }
    state.counters["alive_after_606s"] = static_cast<double>(alive);
  }
}
BENCHMARK(BM_JitterHistogram)->Arg(0)->Arg(10)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
