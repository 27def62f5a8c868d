// File: backends/memory/memory_cache.h
// -----------------------------------------------------------------------------
//
// `cache_alchemy.backends.memory.MemoryCache`: values kept as objects in this
// process, per cached function, with LRU eviction on `limit` and a TTL on
// `expire` (read from the host's clock, so tests can inject time).
// Functions opened with the same prefix and name share one store while any
// of them lives.
//
// Built into the plugin library `cache_alchemy.backends.memory.so`; this
// header is for that library and its tests only.

#ifndef CACHE_ALCHEMY_BACKENDS_MEMORY_MEMORY_CACHE_H_
#define CACHE_ALCHEMY_BACKENDS_MEMORY_MEMORY_CACHE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "core/backend.h"

namespace cache_alchemy {
namespace memory {

// The entries of one cached function: a hash map threaded with an LRU list.
//
// Fences (CacheNamespace::Lookup/Store): every clear bumps a counter; a
// lookup hands out the counter as its fence, and a fenced store is refused
// if the counter moved since (checked under the same lock as the write, so
// a store never lands after a clear that began after its lookup).
//
// Thread safety: all methods may be called from any thread.
class LruTtlStore {
 public:
  // `limit`: max entries (> 0) or -1; `expire_seconds`: > 0 or -1.
  // `clock` must outlive the store. `key_format`: how strict keys are
  // split for partial clears.
  LruTtlStore(int64_t limit, int64_t expire_seconds, const Clock* clock,
              KeyFormat key_format = KeyFormat::kBinary);
  ~LruTtlStore();

  // As CacheNamespace::Lookup (the fence is the clear counter).
  bool Lookup(const std::string& key, ValueVisitor visit, void* context,
              std::string* fence);
  // As CacheNamespace::Store.
  bool Store(const std::string& key, StoredValue value,
             const std::string* fence);
  // Both return the number of live (unexpired) entries removed, and fence.
  int64_t Clear();
  int64_t ClearMatching(const KeyPattern& pattern);
  int64_t Size();
  // The clear counter: changes whenever entries may have been removed by a
  // clear. Lock-free.
  uint64_t clears() const { return clears_.load(std::memory_order_acquire); }

 private:
  struct Entry {
    StoredValue value;
    int64_t expires_at_ms = -1;  // -1: never
    Entry* prev = nullptr;
    Entry* next = nullptr;
    const std::string* key = nullptr;
  };

  bool Expired(const Entry& e, int64_t now) const {
    return e.expires_at_ms >= 0 && now >= e.expires_at_ms;
  }
  // REQUIRES: mu_ held (for these three).
  void Unlink(Entry* e);
  void PushFront(Entry* e);
  // Removes entries for which `remove(key)` is true; returns the live ones.
  template <typename Pred>
  int64_t RemoveIf(Pred remove);

  // REQUIRES: mu_ held.
  void BumpClears() {
    clears_.store(clears_.load(std::memory_order_relaxed) + 1,
                  std::memory_order_release);
  }
  static void EncodeFence(uint64_t clears, std::string* fence);

  const int64_t limit_;
  const int64_t expire_ms_;
  const Clock* const clock_;
  const KeyFormat key_format_;
  // Written under mu_, readable without it.
  std::atomic<uint64_t> clears_{0};

  // The hit path's lock. std::mutex, not absl::Mutex: Debian builds Abseil
  // without NDEBUG, so every absl::Mutex lock runs deadlock detection, which
  // measured as half the cost of a hit (docs/performance.md).
  std::mutex mu_;
  // Guarded by mu_.
  absl::node_hash_map<std::string, Entry> entries_;
  Entry head_;  // sentinel: head_.next is the newest
};

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

 private:
  using StoreKey = std::pair<std::string, std::string>;  // (prefix, name)

  absl::Mutex mu_;
  absl::flat_hash_map<StoreKey, std::weak_ptr<LruTtlStore>> stores_
      ABSL_GUARDED_BY(mu_);
  size_t prune_at_ ABSL_GUARDED_BY(mu_) = 64;
};

}  // namespace memory
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_BACKENDS_MEMORY_MEMORY_CACHE_H_
