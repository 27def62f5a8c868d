// File: backends/memory/memory_cache.h
// -----------------------------------------------------------------------------
//
// `cache_alchemy.backends.memory.MemoryCache`: values kept as objects in this
// process, per cached function (backends/memory/concurrent_store.h: lookups
// that take no lock, S3-FIFO eviction on `limit` or LRU on request, a TTL on
// `expire` read from the host's clock, so tests can inject time).
// Functions opened with the same prefix and name share one store while any
// of them lives.
//
// Built into the plugin library `cache_alchemy.backends.memory.so`; this
// header is for that library and its tests only.

#ifndef CACHE_ALCHEMY_BACKENDS_MEMORY_MEMORY_CACHE_H_
#define CACHE_ALCHEMY_BACKENDS_MEMORY_MEMORY_CACHE_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "backends/memory/concurrent_store.h"
#include "core/backend.h"

namespace cache_alchemy {
namespace memory {

// The MemoryCache backend class.
class MemoryCache final : public Backend {
 public:
  MemoryCache() = default;

  ValueFormat format() const override { return ValueFormat::kObject; }
  uint32_t requirements() const override { return 0; }
  CacheNamespace* Open(const NamespaceSpec& spec,
                       const HostContext& host) override;
  int64_t Flush(const HostContext& host, const std::string& prefix) override;
  std::set<std::string> Namespaces(const HostContext& host,
                                   const std::string& prefix) override;
  // "evictions": entries evicted at `limit` since this backend was loaded,
  // in every store (those of functions gone since included).
  std::map<std::string, int64_t> Stats() override;

 private:
  using StoreKey = std::pair<std::string, std::string>;  // (prefix, name)

  absl::Mutex mu_;
  absl::flat_hash_map<StoreKey, std::weak_ptr<ConcurrentStore>> stores_
      ABSL_GUARDED_BY(mu_);
  size_t prune_at_ ABSL_GUARDED_BY(mu_) = 64;
  // Evictions of the stores destroyed so far (added by their deleter).
  const std::shared_ptr<std::atomic<int64_t>> retired_evictions_ =
      std::make_shared<std::atomic<int64_t>>(0);
};

}  // namespace memory
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_BACKENDS_MEMORY_MEMORY_CACHE_H_
