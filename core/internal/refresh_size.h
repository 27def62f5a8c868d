// INTERNAL: not for users. How wrap time applies the config's
// CACHE_ALCHEMY_REFRESH_THREADS to the refresh pool (core/refresh_pool.h).

#ifndef CACHE_ALCHEMY_CORE_INTERNAL_REFRESH_SIZE_H_
#define CACHE_ALCHEMY_CORE_INTERNAL_REFRESH_SIZE_H_

#include <cstdint>

namespace cache_alchemy {
namespace internal {

// Sizes the refresh pool to `threads` unless the program called
// set_refresh_threads. Thread-safe.
void ApplyConfiguredRefreshThreads(int64_t threads);

}  // namespace internal
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_INTERNAL_REFRESH_SIZE_H_
