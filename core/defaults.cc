// The core's view of the configuration: a snapshot of the current
// ca::config::DefaultConfig (config/default_config.h), or of the defaults
// overridden by the environment when no config is alive.

#include "core/defaults.h"

#include <atomic>
#include <utility>

#include "config/default_config.h"

namespace cache_alchemy {
namespace internal {

Defaults CurrentDefaults() {
  config::DefaultSettings settings = config::DefaultConfig::current_settings();
  Defaults d;
  d.key_prefix = std::move(settings.cache_key_prefix);
  d.limit = settings.default_limit;
  d.expire = settings.default_expire;
  d.memory_backend = std::move(settings.memory_backend);
  d.json_backend = std::move(settings.json_backend);
  d.pickle_backend = std::move(settings.pickle_backend);
  d.plugin_path = std::move(settings.plugin_path);
  d.redis = std::move(settings.cache_redis_client);
  return d;
}

namespace {
std::atomic<const Clock*> clock_override{nullptr};
}  // namespace

const Clock* CurrentClock() {
  static const CoarseMonotonicClock* const kDefault =
      new CoarseMonotonicClock();
  const Clock* clock = clock_override.load(std::memory_order_acquire);
  return clock != nullptr ? clock : kDefault;
}

void SetClockOverride(const Clock* clock) {
  clock_override.store(clock, std::memory_order_release);
}

}  // namespace internal
}  // namespace cache_alchemy
