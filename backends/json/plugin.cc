// The plugin library `cache_alchemy.backends.json`: DistributedJsonCache,
// values as JSON text (cereal JSON archives) in Redis. See docs/redis.md.

#include "backends/redis_common/serialized_backend.h"
#include "core/plugin_export.h"

CACHE_ALCHEMY_EXPORT_BACKEND(
    DistributedJsonCache, []() -> cache_alchemy::Backend* {
      return new cache_alchemy::redis_backend::SerializedRedisBackend(
          {"cache_alchemy.backends.json", "DistributedJsonCache"},
          cache_alchemy::ValueFormat::kJson);
    });
