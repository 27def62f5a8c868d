// DistributedMemoryCache: objects in process, validity timestamps in Redis,
// clears pushed to every process over pub/sub.

#include "backends/memory/distributed_memory_cache.h"

#include <cstring>
#include <optional>
#include <utility>

#include "backends/redis_common/serialized_backend.h"

namespace cache_alchemy {
namespace memory {
namespace {

std::string EncodeLocal(uint64_t epoch, const std::string& token) {
  std::string bytes(sizeof(epoch), '\0');
  std::memcpy(bytes.data(), &epoch, sizeof(epoch));
  bytes += token;
  return bytes;
}

uint64_t LocalEpoch(const StoredValue& value) {
  uint64_t epoch = 0;
  if (value.bytes.size() >= sizeof(epoch)) {
    std::memcpy(&epoch, value.bytes.data(), sizeof(epoch));
  }
  return epoch;
}

std::string_view LocalToken(const StoredValue& value) {
  std::string_view bytes(value.bytes);
  return bytes.size() < 8 ? std::string_view() : bytes.substr(8);
}

// A fence of this backend: the local store's clear counter (8 bytes, set by
// LruTtlStore) followed by the Redis bucket generation, or "*" when the
// lookup was vouched for by a live subscription (a clear elsewhere then
// reaches the local store as a message, which moves the counter).
constexpr size_t kLocalFenceSize = 8;
constexpr char kNoRemoteFence[] = "*";

// The visitor of a lookup: serves a live entry at once, or copies it out for
// a check against Redis.
struct LookupContext {
  uint64_t live_epoch = 0;  // 0: never serve without a check
  ValueVisitor visit;
  void* context;
  bool served = false;
  std::optional<StoredValue> copy;
};

void VisitLocal(void* raw, const StoredValue& value) {
  auto* c = static_cast<LookupContext*>(raw);
  if (c->live_epoch != 0 && LocalEpoch(value) == c->live_epoch) {
    c->visit(c->context, value);
    c->served = true;
  } else {
    c->copy = value;
  }
}

class DistributedMemoryNamespace final : public CacheNamespace {
 public:
  DistributedMemoryNamespace(std::shared_ptr<Invalidator> invalidator,
                             std::shared_ptr<LocalStore> store,
                             redis_backend::RedisStore remote,
                             std::shared_ptr<PushCounters> counters,
                             std::string name)
      : invalidator_(std::move(invalidator)),
        store_(std::move(store)),
        remote_(std::move(remote)),
        counters_(std::move(counters)),
        name_(std::move(name)) {}

  bool Lookup(const std::string& key, ValueVisitor visit, void* context,
              std::string* fence) override {
    LookupContext c{0, visit, context};
    if (!invalidator_->Live(*store_->channel, &c.live_epoch)) {
      c.live_epoch = 0;
    }
    std::string local;
    const bool found = store_->lru.Lookup(key, &VisitLocal, &c, &local);
    if (c.served) {
      counters_->local_hits.fetch_add(1, std::memory_order_relaxed);
      if (fence != nullptr) *fence = local + kNoRemoteFence;
      return true;
    }
    if (!found && c.live_epoch != 0) {
      // Live: a clear anywhere reaches this store as a message; no round
      // trip before the function runs.
      if (fence != nullptr) *fence = local + kNoRemoteFence;
      return false;
    }
    // Not vouched for by the subscription: the original's check (the
    // key's timestamp), and the bucket's generation as the fence.
    std::string generation;
    std::optional<std::string> stamp = remote_.Get(key, &generation);
    if (fence != nullptr) *fence = local + generation;
    if (!found || !stamp.has_value() || *stamp != LocalToken(*c.copy)) {
      return false;
    }
    counters_->verified_hits.fetch_add(1, std::memory_order_relaxed);
    visit(context, *c.copy);
    return true;
  }

  bool Store(const std::string& key, StoredValue value,
             const std::string* fence) override {
    std::string local, remote;
    if (fence != nullptr) {
      if (fence->size() < kLocalFenceSize) return Refused();
      local = fence->substr(0, kLocalFenceSize);
      remote = fence->substr(kLocalFenceSize);
    }
    // Redis first: if it fails (or its fence refuses), nothing is kept
    // locally either.
    std::optional<std::string> token = remote_.PutToken(
        key, fence == nullptr || remote == kNoRemoteFence ? nullptr : &remote);
    if (!token.has_value()) return Refused();
    // Read before the store's lock: every change of subscription state
    // clears the store (moving its counter), so a stale epoch read here
    // makes the fenced store below fail or the entry be dropped right after.
    uint64_t epoch = 0;
    if (!invalidator_->Live(*store_->channel, &epoch)) epoch = 0;
    value.bytes = EncodeLocal(epoch, *token);
    // An invalidation that arrived (or a subscription change) while the
    // value was computed moved the counter: the value may predate a clear.
    if (!store_->lru.Store(key, std::move(value),
                           fence != nullptr ? &local : nullptr)) {
      return Refused();
    }
    return true;
  }

  int64_t Clear() override {
    Invalidation message{
        invalidator_->origin(), Invalidation::Kind::kFull, name_, {}};
    return ClearWith(nullptr, [&] {
      return remote_.Clear(
          {store_->channel->name, EncodeInvalidation(message)});
    });
  }

  int64_t ClearMatching(const KeyPattern& pattern) override {
    Invalidation message{invalidator_->origin(), Invalidation::Kind::kPartial,
                         name_, pattern};
    return ClearWith(&pattern, [&] {
      return remote_.ClearMatching(
          pattern, {store_->channel->name, EncodeInvalidation(message)});
    });
  }

  int64_t Size() override { return remote_.Size(); }

  uint64_t InvalidationGeneration() override { return store_->lru.clears(); }

 private:
  bool Refused() {
    counters_->refused_stores.fetch_add(1, std::memory_order_relaxed);
    return false;
  }

  // Redis (and the publication) first; this process's copies go even if
  // Redis fails.
  template <typename Remote>
  int64_t ClearWith(const KeyPattern* pattern, Remote remote) {
    int64_t removed = 0;
    try {
      removed = remote();
    } catch (...) {
      store_->Invalidate(pattern);
      throw;
    }
    store_->Invalidate(pattern);
    return removed;
  }

  // Declared first: destroyed last (the store points into it).
  const std::shared_ptr<Invalidator> invalidator_;
  const std::shared_ptr<LocalStore> store_;
  redis_backend::RedisStore remote_;
  const std::shared_ptr<PushCounters> counters_;
  const std::string name_;
};

}  // namespace

DistributedMemoryCache::DistributedMemoryCache()
    : names_{"cache_alchemy.backends.memory", "DistributedMemoryCache"},
      counters_(std::make_shared<PushCounters>()) {}

std::shared_ptr<Invalidator> DistributedMemoryCache::InvalidatorFor(
    const std::shared_ptr<RedisClient>& client, bool create) {
  absl::MutexLock lock(&mu_);
  for (auto it = invalidators_.begin(); it != invalidators_.end();) {
    if (it->second.expired()) {
      invalidators_.erase(it++);
    } else {
      ++it;
    }
  }
  std::weak_ptr<Invalidator>& slot = invalidators_[client.get()];
  std::shared_ptr<Invalidator> invalidator = slot.lock();
  if (invalidator == nullptr && create) {
    invalidator = std::make_shared<Invalidator>(client, counters_);
    slot = invalidator;
  }
  return invalidator;
}

CacheNamespace* DistributedMemoryCache::Open(const NamespaceSpec& spec,
                                             const HostContext& host) {
  redis_backend::RequireRedis(host, names_);
  redis_backend::RedisStore remote(host.redis, names_, spec);
  std::shared_ptr<Invalidator> invalidator = InvalidatorFor(host.redis, true);
  std::shared_ptr<LocalStore> store = invalidator->OpenStore(spec, host.clock);
  return new DistributedMemoryNamespace(std::move(invalidator),
                                        std::move(store), std::move(remote),
                                        counters_, spec.name);
}

int64_t DistributedMemoryCache::Flush(const HostContext& host,
                                      const std::string& prefix) {
  RedisClient& client = redis_backend::RequireRedis(host, names_);
  std::shared_ptr<Invalidator> invalidator = InvalidatorFor(host.redis, false);
  const std::string channel = InvalidationChannel(prefix);
  Invalidation message{invalidator != nullptr ? invalidator->origin() : 0,
                       Invalidation::Kind::kFlush,
                       "",
                       {}};
  int64_t removed = 0;
  try {
    removed = redis_backend::RedisStore::Flush(
        client, names_, prefix, {channel, EncodeInvalidation(message)});
  } catch (...) {
    if (invalidator != nullptr) invalidator->Apply(channel, message);
    throw;
  }
  if (invalidator != nullptr) invalidator->Apply(channel, message);
  return removed;
}

std::set<std::string> DistributedMemoryCache::Namespaces(
    const HostContext& host, const std::string& prefix) {
  return redis_backend::RedisStore::Namespaces(
      redis_backend::RequireRedis(host, names_), names_, prefix);
}

std::map<std::string, int64_t> DistributedMemoryCache::Stats() {
  int64_t live = 0;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [client, weak] : invalidators_) {
      if (std::shared_ptr<Invalidator> inv = weak.lock()) {
        live += inv->live_channels();
      }
    }
  }
  const PushCounters& c = *counters_;
  return {
      {"local_hits", c.local_hits.load()},
      {"verified_hits", c.verified_hits.load()},
      {"invalidations_received", c.invalidations_received.load()},
      {"subscriptions", c.subscriptions.load()},
      {"resubscriptions", c.resubscriptions.load()},
      {"disconnects", c.disconnects.load()},
      {"refused_stores", c.refused_stores.load()},
      {"live_channels", live},
  };
}

}  // namespace memory
}  // namespace cache_alchemy
