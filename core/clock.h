// File: core/clock.h
// -----------------------------------------------------------------------------
//
// The time source for expiry. Backends read time only through a `Clock` the
// host hands them (`HostContext::clock`), so tests can inject a fake clock
// (testing/fake_clock.h) and never sleep for a TTL.
//
// Part of the plugin ABI (core/backend.h): a plain abstract class.

#ifndef CACHE_ALCHEMY_CORE_CLOCK_H_
#define CACHE_ALCHEMY_CORE_CLOCK_H_

#include <time.h>

#include <cstdint>

namespace cache_alchemy {

// A monotonic time source in milliseconds.
//
// Thread safety: `NowMillis` may be called from any thread.
class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since an arbitrary fixed origin; never decreases.
  virtual int64_t NowMillis() const = 0;
};

// The default clock: CLOCK_MONOTONIC_COARSE, which costs a few nanoseconds
// (no system call) and ticks every 1-4 ms, ample for TTLs counted in seconds.
class CoarseMonotonicClock final : public Clock {
 public:
  int64_t NowMillis() const override {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
  }
};

}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_CLOCK_H_
