// DistributedMemoryCache with push invalidation, against a private
// redis-server the binary starts itself (testing/redis_server.h):
//   - a hit next to a MemoryCache hit of the same function (target <= 3x);
//   - the delay from a clear returning in process A to process B seeing it
//     (B's next call recomputes), over 1000 clears (target p99 < 5 ms).
//
//   bazel build -c opt //benchmarks:push_bench
//   bazel-bin/benchmarks/push_bench --benchmark_repetitions=10
//   --benchmark_enable_random_interleaving=true
//   --benchmark_report_aggregates_only=true
//
// Figures: docs/performance.md, "DistributedMemoryCache with push
// invalidation".

#include <poll.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "benchmarks/redis_support.h"
#include "cache_alchemy/cache_alchemy.h"

namespace ca = cache_alchemy;

namespace {

constexpr char kMemory[] = "cache_alchemy.backends.memory.MemoryCache";
constexpr char kDistributed[] =
    "cache_alchemy.backends.memory.DistributedMemoryCache";

using ca::bench::Client;
using ca::bench::MeasureHits;

int Square(int n) { return n * n; }

// CLOCK_MONOTONIC: one clock for every process on the machine.
int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void BM_MemoryCacheHit(benchmark::State& state) {
  MeasureHits(state,
              ca::cache({.backend = kMemory, .name = "push:mem"}, Square));
}
BENCHMARK(BM_MemoryCacheHit)->Threads(1)->Threads(2);

void BM_DistributedMemoryHit(benchmark::State& state) {
  MeasureHits(
      state, ca::cache({.backend = kDistributed, .name = "push:dist"}, Square));
}
BENCHMARK(BM_DistributedMemoryHit)->Threads(1)->Threads(2);

void WriteAll(int fd, const void* data, size_t size) {
  if (write(fd, data, size) != static_cast<ssize_t>(size)) std::abort();
}

bool ReadAll(int fd, void* data, size_t size) {
  pollfd p = {fd, POLLIN, 0};
  if (poll(&p, 1, 10000) <= 0) return false;
  return read(fd, data, size) == static_cast<ssize_t>(size);
}

// Process B: calls g(1) in a loop; each recomputation is B seeing a clear.
// After each, reports the time of the recomputation to A.
[[noreturn]] void RunObserver(int rounds, int from_a, int to_a) {
  static std::atomic<int64_t> computed_at{0};
  auto g =
      ca::cache({.backend = kDistributed, .name = "push:delay"}, [](int n) {
        computed_at.store(NowNs());
        return n;
      });
  g(1);
  int64_t ready = 0;
  WriteAll(to_a, &ready, sizeof(ready));
  for (int i = 0; i < rounds; ++i) {
    const int64_t before = computed_at.load();
    while (computed_at.load() == before) {
      g(1);  // local hits until the invalidation lands
      sched_yield();
    }
    int64_t cleared = 0;
    if (!ReadAll(from_a, &cleared, sizeof(cleared))) _exit(2);
    const int64_t seen = computed_at.load();
    WriteAll(to_a, &seen, sizeof(seen));
  }
  _exit(0);
}

void BM_ClearToSeenDelay(benchmark::State& state) {
  const int rounds = static_cast<int>(state.range(0));
  std::vector<double> delays_us;
  for (auto _ : state) {
    int down[2], up[2];
    if (pipe(down) != 0 || pipe(up) != 0) std::abort();
    const pid_t pid = fork();
    if (pid == 0) {
      close(down[1]);
      close(up[0]);
      RunObserver(rounds, down[0], up[1]);
    }
    close(down[0]);
    close(up[1]);
    auto f = ca::cache({.backend = kDistributed, .name = "push:delay"},
                       [](int n) { return n; });
    int64_t message = 0;
    if (!ReadAll(up[0], &message, sizeof(message))) {
      state.SkipWithError("observer did not start");
      break;
    }
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < rounds; ++i) {
      f.cache_clear();
      const int64_t returned = NowNs();
      WriteAll(down[1], &returned, sizeof(returned));
      int64_t seen = 0;
      if (!ReadAll(up[0], &seen, sizeof(seen))) {
        state.SkipWithError("observer did not see a clear within 10 s");
        break;
      }
      // Negative: B recomputed before A's reply arrived (the message is
      // published before the script returns).
      delays_us.push_back(static_cast<double>(seen - returned) / 1000.0);
    }
    state.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count());
    close(down[1]);
    int status = 0;
    waitpid(pid, &status, 0);
    close(up[0]);
  }
  if (delays_us.empty()) return;
  std::sort(delays_us.begin(), delays_us.end());
  auto at = [&](double q) {
    return delays_us[std::min(delays_us.size() - 1,
                              static_cast<size_t>(q * delays_us.size()))];
  };
  state.counters["p50_us"] = at(0.50);
  state.counters["p90_us"] = at(0.90);
  state.counters["p99_us"] = at(0.99);
  state.counters["max_us"] = delays_us.back();
  state.counters["clears"] = static_cast<double>(delays_us.size());
}
BENCHMARK(BM_ClearToSeenDelay)
    ->Arg(1000)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  ca::config::DefaultConfig config;
  ca::bench::UsePrivateRedis(config);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  std::map<std::string, int64_t> stats = ca::backend_stats(kDistributed);
  std::printf("\nDistributedMemoryCache stats in process A:");
  for (const auto& [name, value] : stats) {
    std::printf(" %s=%lld", name.c_str(), static_cast<long long>(value));
  }
  std::printf("\n");
  Client().reset();
  return 0;
}
