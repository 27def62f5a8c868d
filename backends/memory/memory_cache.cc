// MemoryCache: an in-process LRU + TTL store per cached function.

#include "backends/memory/memory_cache.h"

#include <vector>

#include "core/strict_key.h"

namespace cache_alchemy {
namespace memory {

namespace {

// A function's view of a shared store.
class MemoryNamespace final : public CacheNamespace {
 public:
  explicit MemoryNamespace(std::shared_ptr<ConcurrentStore> store)
      : store_(std::move(store)) {}

  bool Lookup(std::string_view key, ValueVisitor visit, void* context,
              Fence* fence) override {
    return store_->Lookup(key, visit, context, fence);
  }
  bool Store(std::string_view key, StoredValue value,
             const Fence* fence) override {
    return store_->Store(key, std::move(value), fence);
  }
  int64_t Clear() override { return store_->Clear(); }
  int64_t ClearMatching(const KeyPattern& pattern) override {
    return store_->ClearMatching(pattern);
  }
  int64_t Invalidate(std::string_view key) override {
    return store_->Invalidate(key);
  }
  int64_t Size() override { return store_->Size(); }
  uint64_t InvalidationGeneration() override { return store_->clears(); }

 private:
  std::shared_ptr<ConcurrentStore> store_;
};

}  // namespace

CacheNamespace* MemoryCache::Open(const NamespaceSpec& spec,
                                  const HostContext& host) {
  absl::MutexLock lock(&mu_);
  // Forget the stores of functions gone since, now and then (amortized
  // constant time): wrapping and destroying functions keeps memory bounded.
  if (stores_.size() >= prune_at_) {
    absl::erase_if(stores_, [](const auto& kv) { return kv.second.expired(); });
    prune_at_ = 2 * stores_.size() + 64;
  }
  auto& slot = stores_[StoreKey(spec.prefix, spec.name)];
  std::shared_ptr<ConcurrentStore> store = slot.lock();
  if (store == nullptr) {
    // The first opener's limit, expiry, policy and clock apply to the shared
    // store.
    // The deleter keeps the store's evictions counted after it is gone.
    store = std::shared_ptr<ConcurrentStore>(
        new ConcurrentStore(
            ConcurrentStore::Options{.limit = spec.limit,
                                     .expire_seconds = spec.expire_seconds,
                                     .clock = host.clock,
                                     .key_format = KeyFormat::kBinary,
                                     .policy = spec.eviction}),
        [retired = retired_evictions_](ConcurrentStore* s) {
          retired->fetch_add(s->evictions(), std::memory_order_relaxed);
          delete s;
        });
    slot = store;
  }
  return new MemoryNamespace(std::move(store));
}

int64_t MemoryCache::Flush(const HostContext& /*host*/,
                           const std::string& prefix) {
  std::vector<std::shared_ptr<ConcurrentStore>> stores;
  {
    absl::MutexLock lock(&mu_);
    for (auto it = stores_.begin(); it != stores_.end();) {
      auto here = it++;
      auto store = here->second.lock();
      if (store == nullptr) {
        stores_.erase(here);
      } else if (here->first.first == prefix) {
        stores.push_back(std::move(store));
      }
    }
  }
  int64_t removed = 0;
  for (auto& store : stores) removed += store->Clear();
  return removed;
}

std::set<std::string> MemoryCache::Namespaces(const HostContext& /*host*/,
                                              const std::string& prefix) {
  std::vector<std::pair<std::string, std::shared_ptr<ConcurrentStore>>> stores;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [key, weak] : stores_) {
      if (key.first != prefix) continue;
      if (auto store = weak.lock()) stores.emplace_back(key.second, store);
    }
  }
  std::set<std::string> names;
  for (auto& [name, store] : stores) {
    if (store->Size() > 0) names.insert(name);
  }
  return names;
}

std::map<std::string, int64_t> MemoryCache::Stats() {
  std::vector<std::shared_ptr<ConcurrentStore>> stores;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [key, weak] : stores_) {
      if (auto store = weak.lock()) stores.push_back(std::move(store));
    }
  }
  // Read after the live stores are held: none of them can move its count
  // into the retired total meanwhile.
  int64_t evictions = retired_evictions_->load(std::memory_order_relaxed);
  for (const auto& store : stores) evictions += store->evictions();
  return {{"evictions", evictions}};
}

}  // namespace memory
}  // namespace cache_alchemy
