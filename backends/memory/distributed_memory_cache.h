// File: backends/memory/distributed_memory_cache.h
// -----------------------------------------------------------------------------
//
// `cache_alchemy.backends.memory.DistributedMemoryCache`: values stay in this
// process as objects (a MemoryCache store: LRU on `limit`, TTL on `expire`),
// and Redis holds one timestamp per key that tells every process whether its
// copy is still valid:
//   - a store (miss) runs one script that keeps the key's timestamp if one is
//     there (another process computed it first) or sets the server's TIME, and
//     the local copy remembers that timestamp;
//   - a hit reads the timestamp (one GET) and serves the local copy only if it
//     is the same, so a clear in any process (which deletes the timestamps)
//     makes every process recompute;
//   - Redis keeps the original layout (docs/redis.md), so flush_cache and
//     get_all_namespace work as for the other distributed backends.
// A local miss costs no round trip before the function runs.
//
// Built into the plugin library `cache_alchemy.backends.memory.so`; this
// header is for that library and its tests only.

#ifndef CACHE_ALCHEMY_BACKENDS_MEMORY_DISTRIBUTED_MEMORY_CACHE_H_
#define CACHE_ALCHEMY_BACKENDS_MEMORY_DISTRIBUTED_MEMORY_CACHE_H_

#include <cstdint>
#include <set>
#include <string>

#include "backends/memory/memory_cache.h"
#include "backends/redis_common/redis_store.h"
#include "core/backend.h"

namespace cache_alchemy {
namespace memory {

// Thread safety: every method may be called from any thread.
class DistributedMemoryCache final : public Backend {
 public:
  DistributedMemoryCache();

  ValueFormat format() const override { return ValueFormat::kObject; }
  uint32_t requirements() const override { return kRequiresRedis; }
  CacheNamespace* Open(const NamespaceSpec& spec,
                       const HostContext& host) override;
  // Removes the timestamps in Redis (every process's copies become invalid)
  // and this process's copies. Returns the count of timestamps removed.
  int64_t Flush(const HostContext& host, const std::string& prefix) override;
  std::set<std::string> Namespaces(const HostContext& host,
                                   const std::string& prefix) override;

 private:
  const redis_backend::BackendNames names_;
  MemoryCache local_;  // this process's objects
};

}  // namespace memory
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_BACKENDS_MEMORY_DISTRIBUTED_MEMORY_CACHE_H_
