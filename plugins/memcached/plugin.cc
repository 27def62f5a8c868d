// The plugin library `cache_alchemy_contrib.backends.memcached`: exports the
// MemcachedCache backend class. Nothing else of this library is visible
// outside it (it is compiled with -fvisibility=hidden).

#include "core/plugin_export.h"
#include "plugins/memcached/memcached_cache.h"

CACHE_ALCHEMY_EXPORT_BACKEND(MemcachedCache, []() -> cache_alchemy::Backend* {
  return new cache_alchemy::memcached::MemcachedCache();
});
