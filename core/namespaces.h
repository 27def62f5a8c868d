// File: core/namespaces.h
// -----------------------------------------------------------------------------
//
// Whole-backend operations, by dotted backend name:
//
//   int64_t n = ca::flush_cache("cache_alchemy.backends.memory.MemoryCache");
//   std::set<std::string> names = ca::get_all_namespace(
//       "cache_alchemy.backends.memory.MemoryCache", "tenant-a:");
//   std::map<std::string, int64_t> stats = ca::backend_stats(
//       "cache_alchemy.backends.memory.DistributedMemoryCache");
//   // stats["local_hits"], stats["invalidations_received"], ...

#ifndef CACHE_ALCHEMY_CORE_NAMESPACES_H_
#define CACHE_ALCHEMY_CORE_NAMESPACES_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>

namespace cache_alchemy {

// Removes every entry `backend` holds under `cache_key_prefix` (empty: the
// config's CACHE_ALCHEMY_CACHE_KEY_PREFIX), in every function, and clears
// the dependents of the functions of this process it flushed (in any
// backend); returns how many entries were removed in all. Fenced like
// `cache_clear`: a value computed from data older than the flush is never
// stored after it returns, in this process or (for shared backends) any
// other.
// Throws ClearError when the backend (or a dependent) could not be cleared,
// after clearing the rest; BackendNotFoundError, std::runtime_error (Redis
// backend without a configured client), ca::config::ConfigError (as
// `ca::cache`).
// Thread safety: callable from any thread.
int64_t flush_cache(std::string_view backend,
                    std::string_view cache_key_prefix = "");

// The namespaces (one per cached function, by name) for which `backend`
// holds entries under `cache_key_prefix` (empty: the config's prefix).
// Throws as flush_cache.
std::set<std::string> get_all_namespace(std::string_view backend,
                                        std::string_view cache_key_prefix = "");

// The counters the `backend` object of this process keeps, by name (see the
// backend's documentation; DistributedMemoryCache's are in docs/redis.md).
// Backends without counters return an empty map. Loads the backend if it
// was not loaded yet. Throws as flush_cache.
std::map<std::string, int64_t> backend_stats(std::string_view backend);

}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_NAMESPACES_H_
