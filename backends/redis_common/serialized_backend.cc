// DistributedJsonCache / DistributedPickleCache: serialized values in Redis.

#include "backends/redis_common/serialized_backend.h"

#include <stdexcept>
#include <utility>

namespace cache_alchemy {
namespace redis_backend {
namespace {

class SerializedNamespace final : public CacheNamespace {
 public:
  explicit SerializedNamespace(RedisStore store) : store_(std::move(store)) {}

  // The fence is {0, the bucket's generation}.
  bool Lookup(std::string_view key, ValueVisitor visit, void* context,
              Fence* fence) override {
    uint64_t generation = 0;
    std::optional<std::string> bytes =
        store_.Get(std::string(key), &generation);
    if (fence != nullptr) *fence = Fence{0, generation};
    if (!bytes.has_value()) return false;
    visit(context, ValueView{nullptr, *bytes});
    return true;
  }
  bool Store(std::string_view key, StoredValue value,
             const Fence* fence) override {
    return store_.Put(std::string(key), value.bytes,
                      fence != nullptr ? &fence->remote : nullptr, value.ttl_ms,
                      /*wait=*/value.confirm);
  }
  bool AwaitStores() override { return store_.AwaitStores(); }
  int64_t Clear() override { return store_.Clear(); }
  int64_t Invalidate(std::string_view key) override {
    return store_.Invalidate(std::string(key));
  }
  int64_t ClearMatching(const KeyPattern& pattern) override {
    return store_.ClearMatching(pattern);
  }
  int64_t Size() override { return store_.Size(); }

 private:
  RedisStore store_;
};

}  // namespace

RedisClient& RequireRedis(const HostContext& host, const BackendNames& names) {
  if (host.redis == nullptr) {
    throw std::invalid_argument(
        names.class_name +
        " needs a Redis client (HostContext::redis is null): assign the "
        "config's cache_redis_client");
  }
  return *host.redis;
}

SerializedRedisBackend::SerializedRedisBackend(BackendNames names,
                                               ValueFormat format)
    : names_(std::move(names)), format_(format) {}

CacheNamespace* SerializedRedisBackend::Open(const NamespaceSpec& spec,
                                             const HostContext& host) {
  RequireRedis(host, names_);
  return new SerializedNamespace(RedisStore(host.redis, names_, spec));
}

int64_t SerializedRedisBackend::Flush(const HostContext& host,
                                      const std::string& prefix) {
  return RedisStore::Flush(RequireRedis(host, names_), names_, prefix);
}

std::set<std::string> SerializedRedisBackend::Namespaces(
    const HostContext& host, const std::string& prefix) {
  return RedisStore::Namespaces(RequireRedis(host, names_), names_, prefix);
}

}  // namespace redis_backend
}  // namespace cache_alchemy
