// MemoryCache: an in-process LRU + TTL store per cached function.

#include "backends/memory/memory_cache.h"

#include <vector>

#include "core/strict_key.h"

namespace cache_alchemy {
namespace memory {

LruTtlStore::LruTtlStore(int64_t limit, int64_t expire_seconds,
                         const Clock* clock, KeyFormat key_format)
    : limit_(limit),
      expire_ms_(expire_seconds < 0 ? -1 : expire_seconds * 1000),
      clock_(clock),
      key_format_(key_format) {
  head_.prev = head_.next = &head_;
}

void LruTtlStore::EncodeFence(uint64_t clears, std::string* fence) {
  fence->assign(reinterpret_cast<const char*>(&clears), sizeof(clears));
}

LruTtlStore::~LruTtlStore() = default;

void LruTtlStore::Unlink(Entry* e) {
  e->prev->next = e->next;
  e->next->prev = e->prev;
  e->prev = e->next = nullptr;
}

void LruTtlStore::PushFront(Entry* e) {
  e->prev = &head_;
  e->next = head_.next;
  head_.next->prev = e;
  head_.next = e;
}

bool LruTtlStore::Lookup(const std::string& key, ValueVisitor visit,
                         void* context, std::string* fence) {
  std::lock_guard<std::mutex> lock(mu_);
  if (fence != nullptr) {
    EncodeFence(clears_.load(std::memory_order_relaxed), fence);
  }
  auto it = entries_.find(key);
  if (it == entries_.end()) return false;
  Entry& e = it->second;
  if (expire_ms_ >= 0 && Expired(e, clock_->NowMillis())) {
    Unlink(&e);
    entries_.erase(it);
    return false;
  }
  if (head_.next != &e) {
    Unlink(&e);
    PushFront(&e);
  }
  visit(context, e.value);
  return true;
}

bool LruTtlStore::Store(const std::string& key, StoredValue value,
                        const std::string* fence) {
  const int64_t expires_at =
      expire_ms_ < 0 ? -1 : clock_->NowMillis() + expire_ms_;
  std::lock_guard<std::mutex> lock(mu_);
  if (fence != nullptr) {
    std::string now;
    EncodeFence(clears_.load(std::memory_order_relaxed), &now);
    if (*fence != now) return false;  // cleared since the lookup
  }
  auto [it, inserted] = entries_.try_emplace(key);
  Entry& e = it->second;
  e.value = std::move(value);
  e.expires_at_ms = expires_at;
  if (inserted) {
    e.key = &it->first;
  } else {
    Unlink(&e);
  }
  PushFront(&e);
  if (limit_ > 0) {
    while (static_cast<int64_t>(entries_.size()) > limit_) {
      Entry* oldest = head_.prev;
      Unlink(oldest);
      entries_.erase(*oldest->key);
    }
  }
  return true;
}

template <typename Pred>
int64_t LruTtlStore::RemoveIf(Pred remove) {
  const int64_t now = clock_->NowMillis();
  int64_t live = 0;
  for (auto it = entries_.begin(); it != entries_.end();) {
    auto here = it++;
    if (!remove(here->first)) continue;
    if (!Expired(here->second, now)) ++live;
    Unlink(&here->second);
    entries_.erase(here);
  }
  return live;
}

int64_t LruTtlStore::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  BumpClears();
  return RemoveIf([](const std::string&) { return true; });
}

int64_t LruTtlStore::ClearMatching(const KeyPattern& pattern) {
  std::lock_guard<std::mutex> lock(mu_);
  BumpClears();
  return RemoveIf([&](const std::string& key) {
    return StrictKeyMatches(key, pattern, key_format_);
  });
}

int64_t LruTtlStore::Size() {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = clock_->NowMillis();
  int64_t live = 0;
  for (const auto& [key, entry] : entries_) {
    if (!Expired(entry, now)) ++live;
  }
  return live;
}

namespace {

// A function's view of a shared store.
class MemoryNamespace final : public CacheNamespace {
 public:
  explicit MemoryNamespace(std::shared_ptr<LruTtlStore> store)
      : store_(std::move(store)) {}

  bool Lookup(const std::string& key, ValueVisitor visit, void* context,
              std::string* fence) override {
    return store_->Lookup(key, visit, context, fence);
  }
  bool Store(const std::string& key, StoredValue value,
             const std::string* fence) override {
    return store_->Store(key, std::move(value), fence);
  }
  int64_t Clear() override { return store_->Clear(); }
  int64_t ClearMatching(const KeyPattern& pattern) override {
    return store_->ClearMatching(pattern);
  }
  int64_t Size() override { return store_->Size(); }

 private:
  std::shared_ptr<LruTtlStore> store_;
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
  std::shared_ptr<LruTtlStore> store = slot.lock();
  if (store == nullptr) {
    // The first opener's limit, expiry and clock apply to the shared store.
    store = std::make_shared<LruTtlStore>(spec.limit, spec.expire_seconds,
                                          host.clock);
    slot = store;
  }
  return new MemoryNamespace(std::move(store));
}

int64_t MemoryCache::Flush(const HostContext& /*host*/,
                           const std::string& prefix) {
  std::vector<std::shared_ptr<LruTtlStore>> stores;
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
  std::vector<std::pair<std::string, std::shared_ptr<LruTtlStore>>> stores;
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

}  // namespace memory
}  // namespace cache_alchemy
