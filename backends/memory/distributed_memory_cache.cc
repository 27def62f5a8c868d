// DistributedMemoryCache: objects in process, validity timestamps in Redis,
// clears pushed to every process over pub/sub.

#include "backends/memory/distributed_memory_cache.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <utility>

#include "absl/base/attributes.h"
#include "backends/redis_common/serialized_backend.h"

namespace cache_alchemy {
namespace memory {
namespace {

// A local entry's bytes: its Redis token (one length byte, then the token),
// then the value's own bytes (StoredValue::bytes as the core gave them; the
// object, if any, stays StoredValue::object). An entry is marked
// (ConcurrentStore's mark) when it was stored while the channel was
// subscribed, with no change of subscription state since: every change
// drops the store's entries and moves its clear counter, and every store is
// fenced by that counter, read before the subscription state. A marked
// entry is served while subscribed without a round trip
// (ConcurrentStore::LookupMarked skips the token); any other is served only
// after its token is checked in Redis.
std::string EncodeLocal(std::string_view token, std::string_view value) {
  std::string bytes(1, static_cast<char>(std::min<size_t>(token.size(), 255)));
  bytes.append(token.substr(0, 255));
  bytes.append(value);
  return bytes;
}

struct LocalParts {
  std::string_view token;
  std::string_view value;
};

bool DecodeLocal(std::string_view bytes, LocalParts* parts) {
  if (bytes.empty()) return false;
  const size_t token_size = static_cast<unsigned char>(bytes[0]);
  bytes.remove_prefix(1);
  if (bytes.size() < token_size) return false;
  parts->token = bytes.substr(0, token_size);
  parts->value = bytes.substr(token_size);
  return true;
}

// The fence of this backend: `local` is the local store's clear counter (a
// message received, a local clear or a change of subscription moves it);
// `remote` the Redis bucket's generation, or kNoRemoteFence when the lookup
// was vouched for by a live subscription (a clear elsewhere then reaches the
// local store as a message, which moves the counter).
constexpr uint64_t kNoRemoteFence = ~uint64_t{0};

}  // namespace

#ifdef CACHE_ALCHEMY_TEST_HOOKS
void (*test_hooks::after_live_check)(Invalidator*) = nullptr;
#define CACHE_ALCHEMY_AFTER_LIVE_CHECK(invalidator) \
  if (test_hooks::after_live_check != nullptr)      \
  test_hooks::after_live_check(invalidator)
#else
#define CACHE_ALCHEMY_AFTER_LIVE_CHECK(invalidator)
#endif

namespace {

class DistributedMemoryNamespace final : public CacheNamespace {
 public:
  DistributedMemoryNamespace(std::shared_ptr<Invalidator> invalidator,
                             std::shared_ptr<LocalStore> store,
                             redis_backend::RedisStore remote,
                             std::shared_ptr<PushCounters> counters,
                             std::string name)
      : invalidator_(std::move(invalidator)),
        store_(std::move(store)),
        channel_(store_->channel),
        local_(&store_->store),
        remote_(std::move(remote)),
        counters_(std::move(counters)),
        name_(std::move(name)) {}

  bool Lookup(std::string_view key, ValueVisitor visit, void* context,
              Fence* fence) override {
    // The store's counter first, then the channel's state: the fence of a
    // subscribed lookup omits the Redis generation (the subscription
    // vouches for it), so a loss of the subscription after the state was
    // read must move the counter past the fence and refuse the store (a
    // clear published meanwhile never reaches this process).
    const uint64_t clears = local_->clears();
    const bool live = Invalidator::Live(*channel_);
    CACHE_ALCHEMY_AFTER_LIVE_CHECK(invalidator_.get());
    if (live) {
      const ConcurrentStore::Found found =
          local_->LookupMarked(key, visit, context, nullptr);
      if (found != ConcurrentStore::Found::kUnmarked) {
        // Subscribed: a hit needs no round trip, and neither does a miss (a
        // clear anywhere reaches this store as a message).
        if (fence != nullptr) *fence = Fence{clears, kNoRemoteFence};
        if (found == ConcurrentStore::Found::kMiss) return false;
        counters_->local_hits.Add();
        return true;
      }
      // Stored while not subscribed: checked like the rest.
    }
    return LookupVerified(key, visit, context, fence);
  }

  bool Store(std::string_view key, StoredValue value,
             const Fence* fence) override {
    invalidator_->CheckFork();
    const std::string k(key);
    // Redis first: if it fails (or its fence refuses), nothing is kept
    // locally either.
    std::optional<std::string> token = remote_.PutToken(
        k,
        fence == nullptr || fence->remote == kNoRemoteFence ? nullptr
                                                            : &fence->remote,
        value.ttl_ms);
    if (!token.has_value()) return Refused();
    // Fenced by the lookup's counter, or (a store without a lookup) by the
    // counter now; read before the subscription state, so that a change of
    // state after this point (which moves the counter) refuses the store,
    // and the entry's mark cannot outlive the state it was made in. An
    // invalidation that arrived while the value was computed refuses it
    // too: the value may predate a clear.
    const Fence local{fence != nullptr ? fence->local : store_->store.clears(),
                      0};
    const bool subscribed = Invalidator::Live(*channel_);
    value.bytes = EncodeLocal(*token, value.bytes);
    if (!store_->store.Store(key, std::move(value), &local, subscribed)) {
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

  int64_t Invalidate(std::string_view key) override {
    Invalidation message{invalidator_->origin(),
                         Invalidation::Kind::kKey,
                         name_,
                         {},
                         std::string(key)};
    const std::string k(key);
    int64_t removed = 0;
    try {
      removed = remote_.Invalidate(
          k, {store_->channel->name, EncodeInvalidation(message)});
    } catch (...) {
      store_->InvalidateKey(key);
      throw;
    }
    store_->InvalidateKey(key);
    return removed;
  }

  int64_t Size() override { return remote_.Size(); }

  uint64_t InvalidationGeneration() override { return store_->store.clears(); }

 private:
  bool Refused() {
    counters_->refused_stores.fetch_add(1, std::memory_order_relaxed);
    return false;
  }

  // A lookup not vouched for by the subscription: the original's check (the
  // key's timestamp in Redis), and the bucket's generation as the fence.
  // Out of line, so that the subscribed hit above saves and restores only
  // what it uses.
  ABSL_ATTRIBUTE_NOINLINE bool LookupVerified(std::string_view key,
                                              ValueVisitor visit, void* context,
                                              Fence* fence) {
    invalidator_->CheckFork();
    Fence local;
    StoredValue copy;
    const bool found = store_->store.Copy(key, &copy, &local);
    uint64_t generation = 0;
    std::optional<std::string> stamp =
        remote_.Get(std::string(key), &generation);
    if (fence != nullptr) *fence = Fence{local.local, generation};
    LocalParts parts;
    if (!found || !stamp.has_value() || !DecodeLocal(copy.bytes, &parts) ||
        *stamp != parts.token) {
      return false;
    }
    counters_->verified_hits.fetch_add(1, std::memory_order_relaxed);
    visit(context, ValueView{copy.object.get(), parts.value});
    return true;
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
  // store_'s channel and entries: one load fewer on every hit.
  Channel* const channel_;
  ConcurrentStore* const local_;
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
