// File: core/internal/latency_histogram.h
// -----------------------------------------------------------------------------
//
// INTERNAL: not for users (core/metrics.h shows its contents). A histogram of
// durations with fixed log-scale buckets (1-2.5-5 steps from 1 us to 10 s),
// recorded with relaxed atomics. A cached function records in it how long
// its wrapped function ran on each miss; hits never touch it.
//
//   LatencyHistogram h;
//   const int64_t start = MonotonicNanos();
//   ... compute ...
//   h.Record(MonotonicNanos() - start);
//   LatencyHistogram::Counts counts = h.Read();

#ifndef CACHE_ALCHEMY_CORE_INTERNAL_LATENCY_HISTOGRAM_H_
#define CACHE_ALCHEMY_CORE_INTERNAL_LATENCY_HISTOGRAM_H_

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace cache_alchemy {
namespace internal {

// A monotonic clock in nanoseconds (steady_clock: vDSO, no system call).
inline int64_t MonotonicNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Thread safety: Record and Read may be called from any thread at once; a
// Read concurrent with Records sees some of them (each bucket, the count
// and the sum are read separately).
class LatencyHistogram {
 public:
  // Upper bounds of the buckets, in nanoseconds, inclusive ("le"); a last
  // bucket (+Inf) takes everything above the largest.
  static constexpr std::array<int64_t, 22> kBoundsNanos = {
      1'000,         2'500,         5'000,          // 1 us
      10'000,        25'000,        50'000,         // 10 us
      100'000,       250'000,       500'000,        // 100 us
      1'000'000,     2'500'000,     5'000'000,      // 1 ms
      10'000'000,    25'000'000,    50'000'000,     // 10 ms
      100'000'000,   250'000'000,   500'000'000,    // 100 ms
      1'000'000'000, 2'500'000'000, 5'000'000'000,  // 1 s
      10'000'000'000};
  static constexpr size_t kBuckets = kBoundsNanos.size() + 1;

  // One reading: per-bucket counts (not cumulative; the last is +Inf) and
  // the sum of every recorded duration.
  struct Counts {
    std::array<int64_t, kBuckets> buckets{};
    int64_t sum_nanos = 0;
  };

  // Adds one duration; negative values count as 0.
  void Record(int64_t nanos) {
    const size_t bucket = static_cast<size_t>(
        std::lower_bound(kBoundsNanos.begin(), kBoundsNanos.end(), nanos) -
        kBoundsNanos.begin());
    buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
    sum_nanos_.fetch_add(nanos > 0 ? nanos : 0, std::memory_order_relaxed);
  }

  Counts Read() const {
    Counts counts;
    for (size_t i = 0; i < kBuckets; ++i) {
      counts.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
    }
    counts.sum_nanos = sum_nanos_.load(std::memory_order_relaxed);
    return counts;
  }

 private:
  std::array<std::atomic<int64_t>, kBuckets> buckets_{};
  std::atomic<int64_t> sum_nanos_{0};
};

}  // namespace internal
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_INTERNAL_LATENCY_HISTOGRAM_H_
