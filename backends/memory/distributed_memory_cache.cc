// DistributedMemoryCache: objects in process, validity timestamps in Redis.

#include "backends/memory/distributed_memory_cache.h"

#include <memory>
#include <optional>
#include <utility>

#include "backends/redis_common/serialized_backend.h"

namespace cache_alchemy {
namespace memory {
namespace {

// The local copy carries its timestamp in `StoredValue::bytes`.
void CopyInto(void* context, const StoredValue& value) {
  *static_cast<std::optional<StoredValue>*>(context) = value;
}

class DistributedMemoryNamespace final : public CacheNamespace {
 public:
  DistributedMemoryNamespace(std::unique_ptr<CacheNamespace> local,
                             redis_backend::RedisStore remote)
      : local_(std::move(local)), remote_(std::move(remote)) {}

  bool Lookup(const std::string& key, ValueVisitor visit,
              void* context) override {
    std::optional<StoredValue> copy;
    if (!local_->Lookup(key, &CopyInto, &copy) || !copy.has_value()) {
      return false;  // not here: no need to ask Redis
    }
    std::optional<std::string> stamp = remote_.Get(key);
    // Cleared (or expired) in Redis, or recomputed elsewhere after a clear:
    // this copy is stale. The caller's store replaces it.
    if (!stamp.has_value() || *stamp != copy->bytes) return false;
    visit(context, *copy);
    return true;
  }

  void Store(const std::string& key, StoredValue value) override {
    // Redis first: if it fails, nothing is kept locally either.
    value.bytes = remote_.PutToken(key);
    local_->Store(key, std::move(value));
  }

  int64_t Clear() override {
    const int64_t removed = remote_.Clear();
    local_->Clear();
    return removed;
  }

  int64_t ClearMatching(const KeyPattern& pattern) override {
    const int64_t removed = remote_.ClearMatching(pattern);
    local_->ClearMatching(pattern);
    return removed;
  }

  int64_t Size() override { return remote_.Size(); }

 private:
  std::unique_ptr<CacheNamespace> local_;
  redis_backend::RedisStore remote_;
};

}  // namespace

DistributedMemoryCache::DistributedMemoryCache()
    : names_{"cache_alchemy.backends.memory", "DistributedMemoryCache"} {}

CacheNamespace* DistributedMemoryCache::Open(const NamespaceSpec& spec,
                                             const HostContext& host) {
  redis_backend::RequireRedis(host, names_);
  redis_backend::RedisStore remote(host.redis, names_, spec);
  std::unique_ptr<CacheNamespace> local(local_.Open(spec, host));
  return new DistributedMemoryNamespace(std::move(local), std::move(remote));
}

int64_t DistributedMemoryCache::Flush(const HostContext& host,
                                      const std::string& prefix) {
  const int64_t removed = redis_backend::RedisStore::Flush(
      redis_backend::RequireRedis(host, names_), names_, prefix);
  local_.Flush(host, prefix);
  return removed;
}

std::set<std::string> DistributedMemoryCache::Namespaces(
    const HostContext& host, const std::string& prefix) {
  return redis_backend::RedisStore::Namespaces(
      redis_backend::RequireRedis(host, names_), names_, prefix);
}

}  // namespace memory
}  // namespace cache_alchemy
