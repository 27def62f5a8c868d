// File: backends/redis_common/serialized_backend.h
// -----------------------------------------------------------------------------
//
// The one implementation behind DistributedJsonCache and
// DistributedPickleCache: values arrive serialized (`StoredValue::bytes`, JSON
// text or portable binary) and live in Redis under the layout of
// redis_store.h. The two plugins differ only in their names and format:
//
//   CACHE_ALCHEMY_EXPORT_BACKEND(DistributedJsonCache, [] {
//     return new SerializedRedisBackend(
//         {"cache_alchemy.backends.json", "DistributedJsonCache"},
//         ValueFormat::kJson);
//   })
//
// A hit is one MGET (the value and its bucket's generation, the fence); a
// store is one EVALSHA, refused if the bucket was cleared since the lookup.
// Decoding is the core's: bytes that do not decode read as a miss there and
// are overwritten.

#ifndef CACHE_ALCHEMY_BACKENDS_REDIS_COMMON_SERIALIZED_BACKEND_H_
#define CACHE_ALCHEMY_BACKENDS_REDIS_COMMON_SERIALIZED_BACKEND_H_

#include <cstdint>
#include <set>
#include <string>

#include "backends/redis_common/redis_store.h"
#include "core/backend.h"

namespace cache_alchemy {
namespace redis_backend {

// Thread safety: every method may be called from any thread.
class SerializedRedisBackend final : public Backend {
 public:
  // `format` is kJson or kBinary.
  SerializedRedisBackend(BackendNames names, ValueFormat format);

  ValueFormat format() const override { return format_; }
  uint32_t requirements() const override {
    return kRequiresRedis | kRequiresStableName;
  }
  KeyFormat key_format() const override { return KeyFormat::kText; }
  CacheNamespace* Open(const NamespaceSpec& spec,
                       const HostContext& host) override;
  int64_t Flush(const HostContext& host, const std::string& prefix) override;
  std::set<std::string> Namespaces(const HostContext& host,
                                   const std::string& prefix) override;

 private:
  const BackendNames names_;
  const ValueFormat format_;
};

// Throws std::invalid_argument naming `names` if `host` has no Redis client.
RedisClient& RequireRedis(const HostContext& host, const BackendNames& names);

}  // namespace redis_backend
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_BACKENDS_REDIS_COMMON_SERIALIZED_BACKEND_H_
