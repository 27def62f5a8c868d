// File: core/internal/striped_counters.h
// -----------------------------------------------------------------------------
//
// INTERNAL: not for users. Counters that many threads bump at once without
// sharing a cache line: each thread adds to its own stripe (the first 15
// threads alive at once own one each and add without a locked instruction;
// more share the last one, atomically), and a read sums the stripes. A cached
// function's hit, miss and error counters are bumped on every call; one shared
// atomic would bounce between cores and stop hits from scaling.
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

// The stripe of the calling thread: threads take the first
// kCounterStripes - 1 stripes one each (a thread owns its stripe until it
// exits, and its adds are plain load + store, no locked instruction); the
// last stripe is shared by the threads beyond those, whose adds are atomic
// read-modify-writes.
inline constexpr size_t kCounterStripes = 16;
inline constexpr uint32_t kStripeIndexMask = 0xff;
inline constexpr uint32_t kStripeOwned = 0x100;
inline constexpr uint32_t kStripeAssigned = 0x200;

// INTERNAL: the calling thread's stripe code, 0 until its first add; else
// kStripeAssigned | the stripe index, | kStripeOwned when the thread owns
// the stripe. initial-exec: one instruction even when the core
// is a shared library (loaded at startup, so its TLS is static).
extern __thread uint32_t tls_counter_stripe
    __attribute__((tls_model("initial-exec")));
// Takes a stripe for the calling thread (and gives it back when the thread
// exits). Returns the new code.
uint32_t AssignThreadStripe();

// The calling thread's stripe code (see above).
inline uint32_t ThisThreadStripe() {
  const uint32_t code = tls_counter_stripe;
  return code != 0 ? code : AssignThreadStripe();
}

// `N` counters, each striped. Thread safety: Add and Sum may be called from
// any thread at once; a Sum concurrent with Adds sees some of them.
template <size_t N>
class StripedCounters {
 public:
  void Add(size_t counter, int64_t by = 1) {
    const uint32_t code = ThisThreadStripe();
    std::atomic<int64_t>& value =
        stripes_[code & kStripeIndexMask].values[counter];
    if (code & kStripeOwned) {  // no other thread adds to this stripe
      value.store(value.load(std::memory_order_relaxed) + by,
                  std::memory_order_relaxed);
    } else {
      value.fetch_add(by, std::memory_order_relaxed);
    }
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
