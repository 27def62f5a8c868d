// File: core/options.h
// -----------------------------------------------------------------------------
//
// `CacheOptions`: how one function is cached. The field order is part of the
// public contract (users write designated initializers), so new fields only
// ever go at the end.
//
//   auto f = ca::cache({.limit = 100, .expire = 60,
//                       .backend =
//                       "cache_alchemy.backends.memory.MemoryCache"},
//                      [](int a, int b) { return a + b; });
//
// Staleness and what is stored (issue 16), the last four fields:
//
//   auto price = ca::memory_cache(
//       {.expire = ca::seconds("10m"),
//        .expire_jitter = 0.1,                       // expire in 9..10 min
//        .refresh_after = std::chrono::minutes(8),   // refreshed in background
//        .cache_exceptions =
//        ca::CacheExceptions<NotFound>(std::chrono::seconds(5)), .unless =
//        [](const Price& p) { return p.provisional; }},
//       LoadPrice);

#ifndef CACHE_ALCHEMY_CORE_OPTIONS_H_
#define CACHE_ALCHEMY_CORE_OPTIONS_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/cache_policies.h"
#include "core/dependency.h"

namespace cache_alchemy {

struct CacheOptions {
  // Entries kept per function (least recently used evicted first).
  // nullopt: config CACHE_ALCHEMY_DEFAULT_LIMIT; -1: unlimited;
  // 0: not cached (every call runs the function); < -1: std::invalid_argument.
  std::optional<int64_t> limit;
  // Seconds an entry lives. nullopt: config CACHE_ALCHEMY_DEFAULT_EXPIRE;
  // -1: never expires; 0: not cached; < -1: std::invalid_argument.
  std::optional<int64_t> expire;
  // The first argument (the object of a method) is left out of the key.
  bool is_method = false;
  // Keys keep one segment per parameter, which allows partial clears by
  // argument (`cache_clear(patterns...)`).
  bool strict = false;
  // Dotted backend name, e.g. "cache_alchemy.backends.memory.MemoryCache".
  // Empty: the family's config default (memory_cache: CACHE_ALCHEMY_MEMORY_
  // BACKEND, ...; plain `cache`: CACHE_ALCHEMY_MEMORY_BACKEND).
  std::string backend;
  // Caches whose clearing also clears this function (core/dependency.h).
  std::vector<CacheDependency> dependency;
  // Separates tenants. Empty: config CACHE_ALCHEMY_CACHE_KEY_PREFIX.
  std::string cache_key_prefix;
  // The function's identity in keys. Two wrappers with the same name, backend,
  // prefix and signature share entries (across processes for distributed
  // backends); different signatures never do. Empty: "file:line:column#n",
  // unique to the wrapper (never shared). Required by backends that share
  // entries across processes (Redis, Memcached): a call-site name would
  // change whenever code above it moves.
  std::string name;
  // Parameter names (all of the function's parameters, in order; with
  // is_method the first may be left out). Used by strict keys, by
  // `ca::arg("name", v)` in partial clears, and to cascade partial clears to
  // dependents. Empty: parameters are named by position ("0", "1", ...).
  std::vector<std::string> params;
  // What an in-process backend evicts at `limit`: "s3-fifo" (scan-resistant,
  // hits that scale with cores) or "lru" (least recently used; a hit takes a
  // lock). Empty: config CACHE_ALCHEMY_DEFAULT_EVICTION ("s3-fifo"). Redis
  // backends evict in store order whatever this says. Anything else:
  // std::invalid_argument.
  std::string eviction;
  // TTL jitter j in [0, 1): each entry lives expire * (1 - j * u) with u in
  // [0, 1) drawn per entry (from a hash of its key and the time of the
  // store), so entries written together do not expire together. nullopt or
  // 0: every entry lives `expire`. No effect when entries never expire.
  // Outside [0, 1) or not finite: std::invalid_argument.
  std::optional<double> expire_jitter;
  // Refresh-ahead: a hit on an entry older than this returns the stored
  // value at once and recomputes it in the background (one computation per
  // key at a time, on the refresh pool: core/refresh_pool.h); an error there
  // keeps the old value and is counted (`refresh_errors()`). Must be
  // positive and, when entries expire, shorter than `expire` (else
  // std::invalid_argument). The arguments are copied for the background
  // call, so they must be copyable (pointers must stay valid).
  std::optional<std::chrono::milliseconds> refresh_after;
  // Negative caching: exceptions of the listed types are stored for a
  // while and rethrown on hits (core/cache_policies.h). Default: none.
  ExceptionCaching cache_exceptions;
  // A predicate on the result: true means "do not store this one"
  // (core/cache_policies.h). Default: every result is stored.
  ResultFilter unless;
  // The largest value stored, in serialized bytes: a bigger result is
  // returned to the caller but not stored (counted in `oversized()` and the
  // metric cache_alchemy_oversized_total, logged at most every 10 s per
  // function), so one huge value cannot stall every call on the backend's
  // timeout. Applies to backends that store bytes (Redis, Memcached, byte
  // plugins); in-process backends keep objects, which have no size here.
  // nullopt: config CACHE_ALCHEMY_MAX_VALUE_BYTES (8 MiB); -1: no limit;
  // 0 or below -1: std::invalid_argument.
  std::optional<int64_t> max_value_bytes;
};

}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_OPTIONS_H_
