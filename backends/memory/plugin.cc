// The plugin library `cache_alchemy.backends.memory`: exports its backend
// classes by name. Nothing else of this library is visible outside it.

#include "backends/memory/distributed_memory_cache.h"
#include "backends/memory/memory_cache.h"
#include "core/plugin_export.h"

CACHE_ALCHEMY_EXPORT_BACKEND(MemoryCache, []() -> cache_alchemy::Backend* {
  return new cache_alchemy::memory::MemoryCache();
});

CACHE_ALCHEMY_EXPORT_BACKEND(
    DistributedMemoryCache, []() -> cache_alchemy::Backend* {
      return new cache_alchemy::memory::DistributedMemoryCache();
    });
