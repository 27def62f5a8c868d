// File: cache_alchemy/cache_alchemy.h
// -----------------------------------------------------------------------------
//
// The umbrella header of cache_alchemy, a memoization toolkit whose backends
// are chosen at run time by dotted name and loaded from plugin libraries.
//
//   #include "cache_alchemy/cache_alchemy.h"
//   namespace ca = cache_alchemy;
//
//   auto add = ca::memory_cache(
//       {.backend = "cache_alchemy.backends.memory.MemoryCache"},
//       [](int a, int b) { return a + b; });
//   add(1, 2);           // computed
//   add(1, 2);           // cached
//   add.cache_clear();
//
// `ca::kVersion` (core/version.h) names the release these headers belong to.
// Metrics of the live cached functions: core/metrics.h
// (`ca::metrics::PrometheusText()`) and core/metrics_exporter.h (a /metrics
// HTTP server, off unless started); the log sink: core/log.h.
//
// See README.md and docs/ for the whole API.

#ifndef CACHE_ALCHEMY_CACHE_ALCHEMY_H_
#define CACHE_ALCHEMY_CACHE_ALCHEMY_H_

#include "config/default_config.h"  // IWYU pragma: export
#include "config/duration.h"        // IWYU pragma: export
#include "core/cached_function.h"   // IWYU pragma: export
#include "core/dependency.h"        // IWYU pragma: export
#include "core/errors.h"            // IWYU pragma: export
#include "core/key_encoder.h"       // IWYU pragma: export
#include "core/log.h"               // IWYU pragma: export
#include "core/metrics.h"           // IWYU pragma: export
#include "core/metrics_exporter.h"  // IWYU pragma: export
#include "core/namespaces.h"        // IWYU pragma: export
#include "core/options.h"           // IWYU pragma: export
#include "core/redis_client.h"      // IWYU pragma: export
#include "core/refresh_pool.h"      // IWYU pragma: export
#include "core/version.h"           // IWYU pragma: export

#endif  // CACHE_ALCHEMY_CACHE_ALCHEMY_H_
