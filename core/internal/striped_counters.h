// File: core/internal/striped_counters.h
// -----------------------------------------------------------------------------
//
// INTERNAL: not for users. Counters that many threads bump at once without
// sharing a cache line: each thread adds to its own stripe (threads get
// stripes in the order they first count, so up to kStripes threads never
// share one), and a read sums the stripes. A cached function's hit, miss and
// error counters are bumped on every call; one shared atomic would bounce
// between cores and stop hits from scaling.
//
//   StripedCounters<2> counters;
//   counters.Add(0);          // from any thread
//   int64_t total = counters.Sum(0);

#ifndef CACHE_ALCHEMY_CORE_INTERNAL_STRIPED_COUNTERS_H_
#define CACHE_ALCHEMY_CORE_INTERNAL_STRIPED_COUNTERS_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace cache_alchemy {
namespace internal {

// The stripe of the calling thread, in [0, kCounterStripes).
inline constexpr size_t kCounterStripes = 16;
size_t ThisThreadStripe();

// `N` counters, each striped. Thread safety: Add and Sum may be called from
// any thread at once; a Sum concurrent with Adds sees some of them.
template <size_t N>
class StripedCounters {
 public:
  void Add(size_t counter, int64_t by = 1) {
    stripes_[ThisThreadStripe()].values[counter].fetch_add(
        by, std::memory_order_relaxed);
  }
  int64_t Sum(size_t counter) const {
    int64_t total = 0;
    for (const Stripe& s : stripes_) {
      total += s.values[counter].load(std::memory_order_relaxed);
    }
    return total;
  }

 private:
  struct alignas(64) Stripe {
    std::atomic<int64_t> values[N] = {};
  };
  Stripe stripes_[kCounterStripes];
};

}  // namespace internal
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_INTERNAL_STRIPED_COUNTERS_H_
