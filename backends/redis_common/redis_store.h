// File: backends/redis_common/redis_store.h
// -----------------------------------------------------------------------------
//
// The Redis side shared by the distributed backends (json, pickle and the
// invalidation timestamps of DistributedMemoryCache): the key layout, the Lua
// scripts that keep `limit` and `expire`, clears, flush and namespaces. Each
// plugin links its own copy; it talks to Redis only through the host's
// abstract `RedisClient`.
//
// Layout (the Python original's, see docs/redis.md), for a backend class
// `Backend` in module `module`, a function named `name` and a prefix `prefix`:
//   {prefix}{Backend}:{name}:{key}        value of one entry (TTL = expire)
//   {prefix}{module}:{name}-keys          sorted set of the function's keys,
//                                         scored by insertion time (ms)
//   {prefix}{module}:{Backend}:all-keys   set of the backend's function names
// Keys are binary: a strict key holds varint bytes.
//
//   RedisStore store(client, {"cache_alchemy.backends.json",
//                             "DistributedJsonCache"}, spec);
//   store.Put(key, bytes);                        // one EVALSHA
//   std::optional<std::string> v = store.Get(key); // one GET

#ifndef CACHE_ALCHEMY_BACKENDS_REDIS_COMMON_REDIS_STORE_H_
#define CACHE_ALCHEMY_BACKENDS_REDIS_COMMON_REDIS_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/redis_client.h"

namespace cache_alchemy {
namespace redis_backend {

// How one backend class names itself in Redis.
struct BackendNames {
  std::string module;      // "cache_alchemy.backends.json"
  std::string class_name;  // "DistributedJsonCache"
};

// A message the clears publish on a pub/sub channel from inside their
// script (atomically with the deletion). Empty channel: publish nothing.
struct Publish {
  std::string channel;
  std::string message;
};

// The entries of one cached function in Redis.
//
// Errors: every method throws std::runtime_error when Redis fails (the core
// then fails open). Thread safety: every method may be called from any
// thread.
class RedisStore {
 public:
  RedisStore(std::shared_ptr<RedisClient> client, const BackendNames& names,
             const NamespaceSpec& spec);

  // The stored bytes of `key`, or nullopt. One round trip (GET).
  std::optional<std::string> Get(const std::string& key);

  // Stores `value` under `key` with the function's TTL, records the key in the
  // function's key set and the function in the backend's set, drops key-set
  // members whose TTL has passed and trims the oldest entries beyond `limit`.
  // One round trip (EVALSHA; the first call per process also loads the
  // script).
  void Put(const std::string& key, const std::string& value);

  // Like Put, but the value is a timestamp token made by the server: if `key`
  // already holds one, keeps it. Returns the token now stored. One round trip.
  std::string PutToken(const std::string& key);

  // Removes every entry of the function; returns how many live ones. With
  // `publish.channel` set, the same script publishes `publish.message`.
  int64_t Clear(const Publish& publish = {});
  // Removes the entries whose strict key matches `pattern` (matched here, in
  // the client, byte for byte); returns how many live ones. Publishes as
  // Clear (even when nothing matched).
  int64_t ClearMatching(const KeyPattern& pattern, const Publish& publish = {});
  // Live entries; prunes key-set members whose value is gone.
  int64_t Size();

  // Removes every entry of every function of the backend under `prefix`.
  static int64_t Flush(RedisClient& client, const BackendNames& names,
                       const std::string& prefix, const Publish& publish = {});
  // The names of the functions the backend holds keys for under `prefix`.
  static std::set<std::string> Namespaces(RedisClient& client,
                                          const BackendNames& names,
                                          const std::string& prefix);

  const std::string& value_key_prefix() const { return value_prefix_; }
  const std::string& keys_set() const { return keys_set_; }

 private:
  std::string StoreWithMode(const std::string& key, const std::string& value,
                            const char* mode);

  const std::shared_ptr<RedisClient> client_;
  const std::string name_;
  const std::string value_prefix_;  // {prefix}{Backend}:{name}:
  const std::string keys_set_;      // {prefix}{module}:{name}-keys
  const std::string all_keys_;      // {prefix}{module}:{Backend}:all-keys
  const std::string expire_ms_;     // "-1" or milliseconds
  const std::string limit_;         // "-1" or entries
};

// A Lua script run with EVALSHA, loaded on first use and reloaded (EVAL)
// after a server restart forgets it.
struct LuaScript {
  const char* body;
};

// Runs `script`; returns its reply. Throws std::runtime_error on a Redis
// failure or an error reply (naming `what`).
RedisReply RunScript(RedisClient& client, const LuaScript& script,
                     const std::vector<std::string>& keys,
                     const std::vector<std::string>& args, const char* what);

}  // namespace redis_backend
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_BACKENDS_REDIS_COMMON_REDIS_STORE_H_
