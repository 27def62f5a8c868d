// File: benchmarks/scaling.h
// -----------------------------------------------------------------------------
//
// Measures how hits scale with threads, honestly: each thread is pinned to
// its own CPU, all start together, and a trial counts only if the threads
// really ran at the same time. Google Benchmark's ->Threads() does neither,
// and on a loaded 2-core machine the second thread often runs after the
// first instead of beside it, which hides contention (each thread then has
// the cache line to itself) and flatters the result.
//
//   Trial t = RunPinnedTrial(2, 1'000'000, [](int thread, int64_t i) {
//     benchmark::DoNotOptimize(f(i % 10'000));
//   });
//   if (t.ran_together) { double per_second = t.calls_per_second(); }

#ifndef CACHE_ALCHEMY_BENCHMARKS_SCALING_H_
#define CACHE_ALCHEMY_BENCHMARKS_SCALING_H_

#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

namespace cache_alchemy {
namespace bench {

struct Trial {
  int threads = 0;
  int64_t calls = 0;          // in all
  double wall_seconds = 0;    // first start to last end
  double overlap = 0;         // time all ran at once / the shortest thread
  bool pinned = false;        // every thread got its own CPU
  bool ran_together = false;  // overlap >= the required fraction
  double cpu_seconds = 0;     // CPU time of all threads (their own clocks)
  double calls_per_second() const { return calls / wall_seconds; }
  // CPU per call: on a shared machine, time-slicing lowers calls_per_second
  // but not this; contention (a cache line bouncing between cores) raises
  // it.
  double cpu_ns_per_call() const { return cpu_seconds * 1e9 / calls; }
};

// How much of the shortest thread's run every other thread must cover.
inline constexpr double kRequiredOverlap = 0.9;

// CPUs this process may run on, in order.
inline std::vector<int> AllowedCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  }
  return cpus;
}

// The time every thread was running at once, as a fraction of the shortest
// thread's run: 1 when each run covers the others', 0 when they took turns.
template <typename TimePoint>
double Overlap(const std::vector<TimePoint>& start,
               const std::vector<TimePoint>& end) {
  if (start.size() <= 1) return 1.0;
  const auto from = *std::max_element(start.begin(), start.end());
  const auto to = *std::min_element(end.begin(), end.end());
  auto shortest = end[0] - start[0];
  for (size_t t = 1; t < start.size(); ++t) {
    shortest = std::min(shortest, end[t] - start[t]);
  }
  if (to <= from || shortest.count() <= 0) return 0.0;
  return std::chrono::duration<double>(to - from).count() /
         std::chrono::duration<double>(shortest).count();
}

// Runs `body(thread, i)` for i in [0, calls_per_thread) on `threads`
// threads, thread t pinned to the t-th allowed CPU.
inline Trial RunPinnedTrial(int threads, int64_t calls_per_thread,
                            const std::function<void(int, int64_t)>& body) {
  using Clock = std::chrono::steady_clock;
  const std::vector<int> cpus = AllowedCpus();
  Trial trial;
  trial.threads = threads;
  trial.calls = calls_per_thread * threads;
  trial.pinned = static_cast<int>(cpus.size()) >= threads;
  std::vector<Clock::time_point> start(threads), end(threads);
  std::vector<double> cpu(threads);
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      if (trial.pinned) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpus[t], &set);
        pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
      }
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) {
      }
      timespec cpu_start, cpu_end;
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu_start);
      start[t] = Clock::now();
      for (int64_t i = 0; i < calls_per_thread; ++i) body(t, i);
      end[t] = Clock::now();
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu_end);
      cpu[t] = (cpu_end.tv_sec - cpu_start.tv_sec) +
               (cpu_end.tv_nsec - cpu_start.tv_nsec) * 1e-9;
    });
  }
  while (ready.load() < threads) std::this_thread::yield();
  go.store(true, std::memory_order_release);
  for (auto& th : pool) th.join();
  const auto first = *std::min_element(start.begin(), start.end());
  const auto last = *std::max_element(end.begin(), end.end());
  trial.wall_seconds = std::chrono::duration<double>(last - first).count();
  trial.overlap = Overlap(start, end);
  for (double c : cpu) trial.cpu_seconds += c;
  trial.ran_together = trial.pinned && trial.overlap >= kRequiredOverlap;
  return trial;
}

}  // namespace bench
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_BENCHMARKS_SCALING_H_
