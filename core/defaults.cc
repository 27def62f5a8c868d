// The core's view of the configuration: a snapshot of the current
// ca::config::DefaultConfig (config/default_config.h), or of the defaults
// overridden by the environment when no config is alive.

#include "core/defaults.h"

#include <atomic>
#include <chrono>

namespace cache_alchemy {
namespace internal {

Defaults CurrentDefaults() { return config::DefaultConfig::current_settings(); }

namespace {
std::atomic<const Clock*> clock_override{nullptr};
}  // namespace

const Clock* CurrentClock() {
  static const CoarseMonotonicClock* const kDefault =
      new CoarseMonotonicClock();
  const Clock* clock = clock_override.load(std::memory_order_acquire);
  return clock != nullptr ? clock : kDefault;
}

namespace {
class RealTimeClock final : public Clock {
 public:
  int64_t NowMillis() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};
}  // namespace

const Clock* CurrentStampClock() {
  static const RealTimeClock* const kDefault = new RealTimeClock();
  const Clock* clock = clock_override.load(std::memory_order_acquire);
  return clock != nullptr ? clock : kDefault;
}

void SetClockOverride(const Clock* clock) {
  clock_override.store(clock, std::memory_order_release);
}

}  // namespace internal
}  // namespace cache_alchemy
