// File: core/refresh_pool.h
// -----------------------------------------------------------------------------
//
// The thread pool that runs refresh-ahead recomputations
// (`CacheOptions::refresh_after`): one per process, bounded. Its size comes
// from the config key CACHE_ALCHEMY_REFRESH_THREADS (default 2), read when a
// function with `refresh_after` is wrapped, unless the program set it here:
//
//   ca::set_refresh_threads(8);   // wins over the config from now on
//
// A full queue (10,000 pending refreshes) drops new ones: the entry is
// refreshed by a later hit, or recomputed by a caller once it expires. The
// pool's threads are joined at exit (after their current task; queued
// refreshes are dropped) and are not inherited by a forked child, which
// starts its own on its first refresh.

#ifndef CACHE_ALCHEMY_CORE_REFRESH_POOL_H_
#define CACHE_ALCHEMY_CORE_REFRESH_POOL_H_

namespace cache_alchemy {

// Sets the number of refresh threads (>= 1; else std::invalid_argument).
// Threads above a smaller bound leave after their current task. From the
// first call on, the config key no longer changes the size.
// Thread safety: may be called from any thread.
void set_refresh_threads(int threads);

// The current bound of the refresh pool.
int refresh_threads();

}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_REFRESH_POOL_H_
