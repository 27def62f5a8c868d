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
#include <bit>
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

// The core's stripes (the default of StripedCounters).
struct CoreStripes;

// The stripes handed to the threads of one library, named by `Tag`: the
// core and each plugin library keep their own (a plugin library never links
// the core's code), all header-only. Thread safety: Code() is per thread;
// taking and giving back stripes is lock-free, so it also works in a child
// forked while another thread was taking one (the stripes of the parent's
// other threads stay taken there: harmless).
template <typename Tag>
class ThreadStripes {
 public:
  // The calling thread's stripe code: kStripeAssigned | the stripe index,
  // | kStripeOwned when the thread owns the stripe. Takes a stripe on the
  // thread's first call (and gives it back when the thread exits).
  static uint32_t Code() {
    const uint32_t code = code_;
    return code != 0 ? code : Assign();
  }

 private:
  static constexpr uint32_t kSharedCode =
      kStripeAssigned | (kCounterStripes - 1);

  // Gives the thread's stripe back when it exits. Adds made after that
  // (from later thread-local destructors) go to the shared stripe.
  struct Owner {
    uint32_t bit = 0;
    ~Owner() {
      code_ = kSharedCode;
      // release: the next owner sees every plain store made to the stripe.
      if (bit != 0) free_.fetch_or(bit, std::memory_order_release);
    }
  };

  __attribute__((noinline)) static uint32_t Assign() {
    static_assert(kCounterStripes - 1 <= 31 && kCounterStripes <= 256);
    thread_local Owner owner;
    uint32_t free = free_.load(std::memory_order_relaxed);
    while (free != 0) {
      const uint32_t bit = free & -free;
      // acquire: pairs with the release of the stripe's previous owner.
      if (free_.compare_exchange_weak(free, free & ~bit,
                                      std::memory_order_acquire,
                                      std::memory_order_relaxed)) {
        owner.bit = bit;
        const uint32_t index = static_cast<uint32_t>(std::countr_zero(bit));
        return code_ = kStripeAssigned | kStripeOwned | index;
      }
    }
    return code_ = kSharedCode;
  }

  // 0 until the thread's first Code(). initial-exec: one instruction, in
  // the core and in a plugin library alike (a plugin's few bytes come from
  // the static TLS that glibc keeps for libraries loaded by dlopen).
  static inline __thread uint32_t code_
      __attribute__((tls_model("initial-exec"))) = 0;
  // Bit i set: stripe i (< kCounterStripes - 1) is free.
  static inline std::atomic<uint32_t> free_{(1u << (kCounterStripes - 1)) - 1};
};

// The calling thread's stripe code among the core's stripes (see above).
inline uint32_t ThisThreadStripe() {
  return ThreadStripes<CoreStripes>::Code();
}

// `N` counters, each striped over the stripes of `Tag`'s threads. Thread
// safety: Add and Sum may be called from any thread at once; a Sum
// concurrent with Adds sees some of them.
template <size_t N, typename Tag = CoreStripes>
class StripedCounters {
 public:
  void Add(size_t counter, int64_t by = 1) {
    const uint32_t code = ThreadStripes<Tag>::Code();
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
