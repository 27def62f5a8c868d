// File: backends/memory/distributed_memory_cache.h
// -----------------------------------------------------------------------------
//
// `cache_alchemy.backends.memory.DistributedMemoryCache`: values stay in this
// process as objects (LRU on `limit`, TTL on `expire`), Redis holds one
// timestamp per key (the original's layout, docs/redis.md), and clears reach
// every process by push (docs/design.md, "Push invalidation"):
//   - every clear (full, partial, flush; dependency cascades too) deletes the
//     timestamps and, in the same Lua script, publishes what it removed on
//     the channel `{prefix}cache_alchemy:invalidations`;
//   - each process keeps one subscriber connection per RedisClient (started
//     with the first function opened) whose thread drops the matching local
//     entries when a message arrives;
//   - while subscribed, a hit is a local lookup: no round trip;
//   - while the subscriber is down (or not yet subscribed), local entries
//     are dropped and a hit reads the key's timestamp (one GET) as the
//     original does, until subscribed again;
//   - a value whose computation overlapped an invalidation is not kept.
// A local miss costs no round trip before the function runs; a store is one
// EVALSHA.
//
//   auto f = ca::memory_cache({.name = "app:f"}, [](int n) { return n; });
//   f(1);  // miss: computed, timestamp stored in Redis
//   f(1);  // hit: local memory only (once subscribed)
//   ca::backend_stats("cache_alchemy.backends.memory.DistributedMemoryCache")
//       ["local_hits"];  // 1
//
// Built into the plugin library `cache_alchemy.backends.memory.so`; this
// header is for that library and its tests only.

#ifndef CACHE_ALCHEMY_BACKENDS_MEMORY_DISTRIBUTED_MEMORY_CACHE_H_
#define CACHE_ALCHEMY_BACKENDS_MEMORY_DISTRIBUTED_MEMORY_CACHE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "backends/memory/push_invalidation.h"
#include "backends/redis_common/redis_store.h"
#include "core/backend.h"

namespace cache_alchemy {
namespace memory {

// Thread safety: every method may be called from any thread.
class DistributedMemoryCache final : public Backend {
 public:
  DistributedMemoryCache();

  ValueFormat format() const override { return ValueFormat::kObject; }
  uint32_t requirements() const override {
    return kRequiresRedis | kRequiresStableName;
  }
  KeyFormat key_format() const override { return KeyFormat::kText; }
  CacheNamespace* Open(const NamespaceSpec& spec,
                       const HostContext& host) override;
  // Removes the timestamps in Redis and publishes a flush of `prefix`
  // (every process drops its copies), then drops this process's copies.
  // Returns the count of timestamps removed.
  int64_t Flush(const HostContext& host, const std::string& prefix) override;
  std::set<std::string> Namespaces(const HostContext& host,
                                   const std::string& prefix) override;
  // local_hits, verified_hits, invalidations_received, subscriptions,
  // resubscriptions, disconnects, refused_stores (since the backend was
  // loaded) and live_channels (subscribed now). See docs/redis.md.
  std::map<std::string, int64_t> Stats() override;

 private:
  std::shared_ptr<Invalidator> InvalidatorFor(
      const std::shared_ptr<RedisClient>& client, bool create);

  const redis_backend::BackendNames names_;
  const std::shared_ptr<PushCounters> counters_;
  absl::Mutex mu_;
  absl::flat_hash_map<const RedisClient*, std::weak_ptr<Invalidator>>
      invalidators_ ABSL_GUARDED_BY(mu_);
};

#ifdef CACHE_ALCHEMY_TEST_HOOKS
// Test builds only (:distributed_memory_cache_with_test_hooks): when set,
// every lookup calls it with its Invalidator right after it read whether
// the channel is live, so a test can change the subscription's state at
// that moment.
namespace test_hooks {
extern void (*after_live_check)(Invalidator* invalidator);
}  // namespace test_hooks
#endif

}  // namespace memory
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_BACKENDS_MEMORY_DISTRIBUTED_MEMORY_CACHE_H_
