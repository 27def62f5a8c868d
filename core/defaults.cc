// Built-in defaults, equal to the config defaults of CONTRACT.md section 3.
// The config layer (config/) replaces the body of CurrentDefaults().

#include "core/defaults.h"

#include <atomic>
#include <cstdlib>

#include "absl/strings/str_split.h"

namespace cache_alchemy {
namespace internal {

Defaults CurrentDefaults() {
  Defaults d;
  d.key_prefix = "";
  d.limit = 1000;
  d.expire = 86400;
  d.memory_backend = "cache_alchemy.backends.memory.DistributedMemoryCache";
  d.json_backend = "cache_alchemy.backends.json.DistributedJsonCache";
  d.pickle_backend = "cache_alchemy.backends.pickle.DistributedPickleCache";
  if (const char* path = std::getenv("CACHE_ALCHEMY_PLUGIN_PATH")) {
    for (absl::string_view dir : absl::StrSplit(path, ':', absl::SkipEmpty())) {
      d.plugin_path.emplace_back(dir);
    }
  }
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
