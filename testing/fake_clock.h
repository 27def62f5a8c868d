// File: testing/fake_clock.h
// -----------------------------------------------------------------------------
//
// A clock tests move by hand, so expiry is tested without sleeping.
//
//   ca::testing::FakeClock clock;
//   ca::testing::ScopedClockOverride use(&clock);  // wrap functions after this
//   auto f = ca::cache({.expire = 10, ...}, fn);
//   clock.Advance(std::chrono::seconds(11));        // f's entries expire

#ifndef CACHE_ALCHEMY_TESTING_FAKE_CLOCK_H_
#define CACHE_ALCHEMY_TESTING_FAKE_CLOCK_H_

#include <atomic>
#include <chrono>
#include <cstdint>

#include "core/clock.h"
#include "core/defaults.h"

namespace cache_alchemy {
namespace testing {

// Thread safety: any thread may read or advance it.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t start_ms = 1'000'000) : now_ms_(start_ms) {}
  int64_t NowMillis() const override {
    return now_ms_.load(std::memory_order_acquire);
  }
  void Advance(std::chrono::milliseconds by) {
    now_ms_.fetch_add(by.count(), std::memory_order_acq_rel);
  }

 private:
  std::atomic<int64_t> now_ms_;
};

// Makes `clock` the clock of every function wrapped while this object lives.
class ScopedClockOverride {
 public:
  explicit ScopedClockOverride(const Clock* clock) {
    internal::SetClockOverride(clock);
  }
  ~ScopedClockOverride() { internal::SetClockOverride(nullptr); }
  ScopedClockOverride(const ScopedClockOverride&) = delete;
  ScopedClockOverride& operator=(const ScopedClockOverride&) = delete;
};

}  // namespace testing
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_TESTING_FAKE_CLOCK_H_
