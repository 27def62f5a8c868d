// File: plugins/memcached/memcached_client.h
// -----------------------------------------------------------------------------
//
// A thread-safe Memcached client for the MemcachedCache plugin: a pool of
// libmemcached connections to one server list, and the few commands the
// backend needs, each answering with absl::Status (Memcached's "not found",
// "exists" and "not stored" are expected answers, not errors; an unreachable
// server is an error whose message names the servers, the command and key).
//
//   MemcachedClient client("127.0.0.1:11211");
//   client.Set("k", "v", /*ttl_seconds=*/0);
//   absl::StatusOr<std::optional<std::string>> v = client.Get("k");
//
// Internal to the plugin library; not part of any public API.

#ifndef CACHE_ALCHEMY_PLUGINS_MEMCACHED_MEMCACHED_CLIENT_H_
#define CACHE_ALCHEMY_PLUGINS_MEMCACHED_MEMCACHED_CLIENT_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

struct memcached_st;
struct memcached_pool_st;

namespace cache_alchemy {
namespace memcached {

// The most libmemcached may allocate at once for this client. A reply's
// length comes from the server, and libmemcached allocates what a VALUE line
// claims before it reads the data: without a bound, a broken or hostile
// server (or a corrupted item) makes every reader allocate gigabytes. Larger
// items than this read as errors (the cache fails open); Memcached's own
// default item limit is 1 MiB (`memcached -I`).
inline constexpr size_t kMaxReplyAllocationBytes = size_t{64} << 20;

// A value read with its CAS token (for compare-and-swap updates).
struct CasValue {
  std::string value;
  uint64_t cas = 0;
};

// Outcome of a conditional write.
enum class WriteResult { kStored, kConflict };

// Every method answers with a Status (never throws, but std::bad_alloc):
// a reply that lies (a length beyond kMaxReplyAllocationBytes or beyond the
// data, a key not asked for, garbage) is an error or a miss.
//
// Thread safety: every method may be called from any thread; each call
// borrows one connection from the pool for its duration.
class MemcachedClient {
 public:
  // `servers`: "host:port[,host:port...]". Does not connect yet. Throws
  // std::invalid_argument when `servers` lists no server.
  explicit MemcachedClient(const std::string& servers);
  ~MemcachedClient();
  MemcachedClient(const MemcachedClient&) = delete;
  MemcachedClient& operator=(const MemcachedClient&) = delete;

  const std::string& servers() const { return servers_; }

  // The values of the `keys` that exist (nullopt for the others), in order.
  // One round trip.
  absl::StatusOr<std::vector<std::optional<std::string>>> GetMulti(
      const std::vector<std::string>& keys);
  absl::StatusOr<std::optional<std::string>> Get(const std::string& key);
  // The value of `key` and its CAS token; nullopt if absent.
  absl::StatusOr<std::optional<CasValue>> Gets(const std::string& key);

  // `ttl_seconds`: 0 never expires; otherwise relative seconds (values above
  // Memcached's 30-day limit are converted to an absolute time).
  absl::Status Set(const std::string& key, const std::string& value,
                   int64_t ttl_seconds);
  // Stores only if `key` is absent (kConflict otherwise).
  absl::StatusOr<WriteResult> Add(const std::string& key,
                                  const std::string& value,
                                  int64_t ttl_seconds);
  // Stores only if `key` still has CAS token `cas` (kConflict otherwise,
  // including when the key disappeared).
  absl::StatusOr<WriteResult> Cas(const std::string& key,
                                  const std::string& value, int64_t ttl_seconds,
                                  uint64_t cas);
  // True if `key` existed and was deleted, false if it was absent.
  absl::StatusOr<bool> Delete(const std::string& key);
  // Adds `by` to the decimal counter `key`; nullopt if `key` is absent.
  absl::StatusOr<std::optional<uint64_t>> Increment(const std::string& key,
                                                    uint64_t by);

 private:
  class Lease;

  const std::string servers_;
  memcached_st* master_ = nullptr;
  memcached_pool_st* pool_ = nullptr;
};

}  // namespace memcached
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_PLUGINS_MEMCACHED_MEMCACHED_CLIENT_H_
