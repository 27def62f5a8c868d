// File: backends/redis_common/redis_store.h
// -----------------------------------------------------------------------------
//
// The Redis side shared by the distributed backends (json, pickle and the
// invalidation timestamps of DistributedMemoryCache): the key layout, the Lua
// scripts that keep `limit` and `expire`, fenced stores, clears, flush and
// namespaces. Each plugin links its own copy; it talks to Redis only through
// the host's abstract `RedisClient`.
//
// Layout (docs/redis.md, "Keys"), for a backend class `C`, a function id
// `F` ("name@signature"), a prefix `P` and an entry key `K` (text, see
// core/key_encoder.h):
//   P C ":" F ":{" T "}:" K     the value of one entry (TTL = expire)
//   P C ":" F ":{" T "}#i"      sorted set of the bucket's keys, scored by
//                               store order (strictly increasing)
//   P C ":" F ":{" T "}#g"      the bucket's generation: changed by every
//                               clear, checked by every fenced store
//   P C ":functions"            set of the function ids of the backend
// Each function's entries are spread over `buckets` buckets (1 on a single
// Redis); `T` is a short hash tag that puts each bucket in its own cluster
// slot, the slots of one function evenly spaced, so every script touches one
// slot and one hot function is not pinned to one master.
//
//   RedisStore store(client, {"cache_alchemy.backends.json",
//                             "DistributedJsonCache"}, spec);
//   std::string fence;
//   std::optional<std::string> v = store.Get(key, &fence);  // one MGET
//   if (!v) store.Put(key, bytes, &fence);  // EVALSHA, fenced, sent
//                                           // without waiting

#ifndef CACHE_ALCHEMY_BACKENDS_REDIS_COMMON_REDIS_STORE_H_
#define CACHE_ALCHEMY_BACKENDS_REDIS_COMMON_REDIS_STORE_H_

#include <atomic>
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

// A short tag ([0-9a-z]{1,4}, the shortest, then the smallest) whose slot is
// `slot` (< 16384). Thread-safe; memoized.
const std::string& TagForSlot(uint16_t slot);

// How many buckets each function's entries are spread over with `client`
// (`RedisClient::buckets()`): 1 on a single Redis or Sentinel, 16 by
// default on a cluster. Every process sharing a Redis uses the same number.
// An entry key's bucket is CRC16(key) mod that number (core/redis_key_slot.h).
int BucketsFor(const RedisClient& client);

// The entries of one cached function in Redis.
//
// Errors: every method throws std::runtime_error when Redis fails (the core
// then fails open for reads and reports clears). The clears (Clear,
// ClearMatching, Flush, Invalidate) also throw when a replica did not
// acknowledge them in time on a deployment with failover
// (Durability::kSurvivesFailover), so a clear that returned cannot be undone
// by a promoted replica. Thread safety: every method may be called from any
// thread.
class RedisStore {
 public:
  // The function's entries are spread over `BucketsFor(*client)` buckets.
  // Throws std::invalid_argument for a null client.
  RedisStore(std::shared_ptr<RedisClient> client, const BackendNames& names,
             const NamespaceSpec& spec);

  // The stored bytes of `key`, or nullopt; sets `*generation` (if not null)
  // to the bucket's generation (0 when it has none). One round trip (MGET).
  std::optional<std::string> Get(const std::string& key, uint64_t* generation);
  // The bucket's generation only (a fence). One round trip (GET).
  uint64_t Generation(const std::string& key);

  // Stores `value` under `key` with the function's TTL (or `ttl_ms`, when
  // positive and shorter: StoredValue::ttl_ms) and limit (evicting the
  // oldest stores beyond it; never the one just made). With `fence`
  // (`generation` from Get/Generation of `key`), stores only if the bucket
  // was not cleared since; returns false when refused.
  // A fenced store is sent without waiting (RedisClient::Send: no round
  // trip) unless `wait`, when the client can and nothing needs its reply: the
  // script refuses it on the server if a clear came first, whenever it runs,
  // and Put returns true ("sent"). It waits for its reply (one round trip,
  // EVALSHA) without a fence, when the bucket had no generation, before
  // the script is loaded, and after a store sent without waiting came back
  // with an error (RedisClient::deferred_errors moved).
  bool Put(const std::string& key, std::string_view value,
           const uint64_t* generation, int64_t ttl_ms = 0, bool wait = false);

  // Returns once every store sent without waiting before the call (by
  // any store on this client) has run on its server
  // (RedisClient::Settle). Returns whether the client sends stores without
  // waiting. Never throws.
  bool AwaitStores() noexcept;

  // Like Put, but the value is a timestamp token made by the server: if
  // `key` already holds one, keeps it. Returns the token now stored, or
  // nullopt when the fence refused it. One round trip.
  std::optional<std::string> PutToken(const std::string& key,
                                      const uint64_t* generation,
                                      int64_t ttl_ms = 0);

  // Removes the entry of `key` and changes its bucket's generation (a store
  // whose lookup came before is refused), in one script on the bucket's
  // slot; publishes `publish` in it when its channel is set. Returns 1 if a
  // value was removed, else 0. One round trip.
  int64_t Invalidate(const std::string& key, const Publish& publish = {});

  // Removes every entry of the function and changes every bucket's
  // generation; returns how many live entries were removed. With
  // `publish.channel` set, the last bucket's script publishes
  // `publish.message`.
  int64_t Clear(const Publish& publish = {});
  // Changes every bucket's generation, then removes the entries whose
  // strict key matches `pattern` (matched here, byte for byte); returns how
  // many live ones. Publishes as Clear (even when nothing matched).
  int64_t ClearMatching(const KeyPattern& pattern, const Publish& publish = {});
  // Live entries; prunes index members whose value is gone.
  int64_t Size();

  // Removes every entry of every function of the backend under `prefix`
  // (clearing each function as Clear does, so stores in flight anywhere are
  // fenced); publishes once at the end.
  static int64_t Flush(RedisClient& client, const BackendNames& names,
                       const std::string& prefix, const Publish& publish = {});
  // The ids of the functions the backend holds entries for under `prefix`.
  static std::set<std::string> Namespaces(RedisClient& client,
                                          const BackendNames& names,
                                          const std::string& prefix);

  // The value key of `key` (for tests and tools).
  std::string ValueKey(const std::string& key) const;

 private:
  struct Bucket {
    std::string base;        // P C ":" F ":{" T "}"
    std::string values;      // base + ":"
    std::string index;       // base + "#i"
    std::string generation;  // base + "#g"
  };
  static std::vector<Bucket> MakeBuckets(const std::string& function_base,
                                         int buckets);
  const Bucket& BucketOf(const std::string& key) const;
  // Fences `bucket` (a store whose lookup came before is refused), then
  // removes the members it listed that `pattern` matches (every one when
  // null) in scripts that declare each value key they delete, the last of
  // them publishing `publish` (when its channel is set, even if nothing
  // matched). Returns how many values existed. Throws as the clears do.
  static int64_t ClearBucket(RedisClient& client, const Bucket& bucket,
                             const KeyPattern* pattern, const Publish& publish,
                             const char* what);
  // Adds the function to the backend's set of functions (once per object;
  // retried by later stores if Redis was down).
  void Register();
  // Sends a fenced store of `value` without waiting for its reply; false
  // when it must wait (Put says when) and nothing was sent.
  bool SendStore(const std::string& key, std::string_view value,
                 uint64_t generation, int64_t ttl_ms);
  std::string StoreWithMode(const std::string& key, std::string_view value,
                            const char* mode, const uint64_t* generation,
                            int64_t ttl_ms, bool* refused);
  // kStore's KEYS and ARGV (its first eight: without the flag of a store
  // sent without waiting) for `key` in `bucket` (redis_store.cc).
  static std::vector<std::string> StoreKeys(const Bucket& bucket,
                                            const std::string& key);
  std::vector<std::string> StoreArgs(const Bucket& bucket,
                                     const std::string& key,
                                     std::string_view value, const char* mode,
                                     const uint64_t* generation,
                                     int64_t ttl_ms) const;
  // The PX of an entry stored with `ttl_ms` (StoredValue::ttl_ms).
  std::string EntryExpireMs(int64_t ttl_ms) const;

  const std::shared_ptr<RedisClient> client_;
  const std::string id_;
  const std::string functions_;  // P C ":functions"
  const std::vector<Bucket> buckets_;
  const std::string expire_ms_;  // "-1" or milliseconds
  const std::string limit_;      // "-1" or entries per bucket
  // Whether Register() succeeded (behind a pointer: the store is movable).
  std::unique_ptr<std::atomic<bool>> registered_ =
      std::make_unique<std::atomic<bool>>(false);
  // client_->deferred_errors() when this store last looked.
  std::unique_ptr<std::atomic<int64_t>> deferred_errors_seen_ =
      std::make_unique<std::atomic<int64_t>>(0);
};

// A Lua script run with EVALSHA, loaded on first use and reloaded (EVAL)
// after a server restart forgets it.
struct LuaScript {
  const char* body;
};

// Whether a script's writes must survive a failover before it returns:
// every clear's (docs/redis.md, "Failover"), through
// `RedisClient::DurableCommand`.
enum class Durability { kPlain, kSurvivesFailover };

// Runs `script`; returns its reply. Throws std::runtime_error on a Redis
// failure or an error reply (naming `what`), and, with kSurvivesFailover,
// when no replica acknowledged the writes in time.
RedisReply RunScript(RedisClient& client, const LuaScript& script,
                     const std::vector<std::string>& keys,
                     const std::vector<std::string>& args, const char* what,
                     Durability durability = Durability::kPlain);

}  // namespace redis_backend
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_BACKENDS_REDIS_COMMON_REDIS_STORE_H_
