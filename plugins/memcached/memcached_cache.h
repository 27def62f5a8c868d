// File: plugins/memcached/memcached_cache.h
// -----------------------------------------------------------------------------
//
// `cache_alchemy_contrib.backends.memcached.MemcachedCache`: a third-party
// style backend that keeps serialized values (ValueFormat::kBinary, cereal
// portable binary) in a Memcached server, shared by every process that uses
// the same servers, prefix and function name.
//
// The servers come from the environment variable
// CACHE_ALCHEMY_MEMCACHED_SERVERS ("host:port[,host:port...]", default
// "127.0.0.1:11211"), read whenever a function is wrapped, flushed or listed.
//
// Memcached cannot list keys, so each cached function (namespace) keeps, in
// Memcached itself:
//   ca:v:<ns>        a version counter; an entry is live only if it carries
//                    the current version, so a full clear is one `incr`;
//   ca:i:<ns>        an index of its keys in store order (with their
//                    deadlines), updated with compare-and-swap; it drives
//                    limit, partial clears, Size() and the clear counts;
//   ca:e:<ns>:<key>  one item per entry: version, full key, value bytes;
//   ca:n:<prefix>    the names of the functions cached under a prefix.
// <ns>, <key> and <prefix> are 64-bit FNV-1a hashes in hex (stable_hash.h).
// See README.md for where this differs from the Redis backends.
//
// Built into the plugin library `cache_alchemy_contrib.backends.memcached.so`;
// this header is for that library and its tests only.

#ifndef CACHE_ALCHEMY_PLUGINS_MEMCACHED_MEMCACHED_CACHE_H_
#define CACHE_ALCHEMY_PLUGINS_MEMCACHED_MEMCACHED_CACHE_H_

#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "core/backend.h"
#include "plugins/memcached/memcached_client.h"

namespace cache_alchemy {
namespace memcached {

// The environment variable naming the servers, and its default.
inline constexpr char kServersVariable[] = "CACHE_ALCHEMY_MEMCACHED_SERVERS";
inline constexpr char kDefaultServers[] = "127.0.0.1:11211";

// The backend class. One object per process (the registry shares it); one
// client (connection pool) per distinct server list.
//
// Thread safety: all methods may be called from any thread. Namespace
// methods throw std::runtime_error naming the servers when Memcached cannot
// be reached; the core then fails open.
class MemcachedCache final : public Backend {
 public:
  // `servers`: fixed server list; empty reads CACHE_ALCHEMY_MEMCACHED_SERVERS
  // at every Open/Flush/Namespaces (the plugin's factory uses empty).
  explicit MemcachedCache(std::string servers = "");

  ValueFormat format() const override { return ValueFormat::kBinary; }
  // Shared by every process using the same servers: functions need a
  // stable explicit name.
  uint32_t requirements() const override { return kRequiresStableName; }
  // Never contacts the server (wrapping works while it is down).
  CacheNamespace* Open(const NamespaceSpec& spec,
                       const HostContext& host) override;
  int64_t Flush(const HostContext& host, const std::string& prefix) override;
  std::set<std::string> Namespaces(const HostContext& host,
                                   const std::string& prefix) override;

 private:
  std::shared_ptr<MemcachedClient> Client();

  const std::string servers_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<MemcachedClient>> clients_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace memcached
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_PLUGINS_MEMCACHED_MEMCACHED_CACHE_H_
