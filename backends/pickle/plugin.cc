// The plugin library `cache_alchemy.backends.pickle`: DistributedPickleCache,
// values as cereal portable binary in Redis. See docs/redis.md.

#include "backends/redis_common/serialized_backend.h"
#include "core/plugin_export.h"

CACHE_ALCHEMY_EXPORT_BACKEND(
    DistributedPickleCache, []() -> cache_alchemy::Backend* {
      return new cache_alchemy::redis_backend::SerializedRedisBackend(
          {"cache_alchemy.backends.pickle", "DistributedPickleCache"},
          cache_alchemy::ValueFormat::kBinary);
    });
