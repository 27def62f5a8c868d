// File: core/metrics.h
// -----------------------------------------------------------------------------
//
// What the caches of this process do, for monitoring: every live cached
// function (name, backend, prefix) with its hits, misses, backend errors,
// stores, entries and a histogram of how long the wrapped function ran on a
// miss, and per backend its evictions and other counters. Two ways out:
//
//   namespace ca = cache_alchemy;
//   // Prometheus text exposition format (serve it at /metrics, or use
//   // ca::metrics::StartHttpExporter from core/metrics_exporter.h):
//   std::string text = ca::metrics::PrometheusText();
//
//   // Structured, for OpenTelemetry or an in-house system (no text parsing):
//   ca::metrics::VisitFunctions([](const ca::metrics::FunctionMetrics& f) {
//     hits_counter.Add(f.hits, {{"function", f.function}});
//   });
//
// Nothing here costs anything on a cache hit: hits, misses and errors are
// the counters every cached function keeps anyway (`hits()`, `misses()`,
// `errors()`); stores and the miss-time histogram are recorded on the miss
// path only. Collecting reads them (and asks in-process backends for their
// entry counts); it takes no lock a call takes, except briefly the list of
// live functions when a function is wrapped or destroyed.
//
// Counters start at zero when a function is wrapped and vanish when it is
// destroyed (Prometheus treats a series that comes back lower as a reset).
// Wrappers that share every label (the same explicit `name`, backend and
// prefix) are summed into one series. Functions without an explicit `name`
// are labelled with their call site (`file:line:column#n`), one series per
// wrapper: give long-lived functions names to keep label sets stable. See
// docs/operations.md for every metric name.

#ifndef CACHE_ALCHEMY_CORE_METRICS_H_
#define CACHE_ALCHEMY_CORE_METRICS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace cache_alchemy {
namespace metrics {

// Which functions a collection asks for their number of entries.
enum class Entries {
  // Only functions whose backend keeps its entries in this process
  // (MemoryCache): no I/O; MemoryCache walks the function's entries under
  // its writer lock (delays stores, never hits). The default.
  kInProcess,
  // Every function, including those of shared backends (for the Redis
  // backends one script per function that walks its index: O(entries) work
  // on the server per scrape). A backend that fails to answer leaves
  // `entries` empty and counts an error on the function, as any failed
  // backend call does.
  kAll,
  // None.
  kNone,
};

struct CollectOptions {
  Entries entries = Entries::kInProcess;
};

// How long the wrapped function ran on misses: a histogram with fixed
// buckets (1-2.5-5 steps from 1 us to 10 s, then +Inf).
struct MissDurations {
  // Inclusive upper bounds ("le"), in seconds, ascending. The same for every
  // function.
  std::vector<double> upper_bounds_seconds;
  // Misses per bucket, NOT cumulative; one more element than
  // `upper_bounds_seconds` (the last is the +Inf bucket).
  std::vector<int64_t> counts;
  // The sum of `counts` and of every duration.
  int64_t count = 0;
  double sum_seconds = 0;
};

// One cached function (or several wrappers sharing all three labels).
struct FunctionMetrics {
  // CacheOptions::name, or the call site `file:line:column#n` when unnamed.
  std::string function;
  // The backend's dotted name; empty for a pass-through function
  // (`limit` or `expire` 0), which caches nothing.
  std::string backend;
  // The resolved cache_key_prefix (may be empty).
  std::string prefix;
  // Live wrapped functions summed here (1 unless several wrappers share the
  // name, backend and prefix; copies of one CachedFunction count once).
  int64_t instances = 0;
  // Calls answered without running the function: from the backend, or from
  // a concurrent caller's computation of the same key.
  int64_t hits = 0;
  // Calls that ran the function (it returned or threw).
  int64_t misses = 0;
  // Backend failures absorbed (fail-open lookups and stores) and stored
  // values that did not decode.
  int64_t errors = 0;
  // Values the backend accepted (a store refused by a clear's fence is not
  // one).
  int64_t puts = 0;
  // Results not stored because their serialized size exceeded
  // CacheOptions::max_value_bytes.
  int64_t oversized = 0;
  // Entries the backend holds for the function now; empty when not asked
  // (CollectOptions::entries), unknown or pass-through.
  std::optional<int64_t> entries;
  MissDurations miss_durations;
};

// One backend used by at least one live function.
struct BackendMetrics {
  std::string backend;  // dotted name
  // Live wrapped functions using it.
  int64_t functions = 0;
  // Entries evicted at `limit` by this process since the backend was loaded,
  // when the backend counts them (its "evictions" stat: MemoryCache).
  std::optional<int64_t> evictions;
  // Everything the backend reports (Backend::Stats(), as
  // ca::backend_stats returns it), "evictions" included.
  std::map<std::string, int64_t> stats;
};

// Everything one collection saw, sorted by (function, backend, prefix) and
// by backend.
struct Snapshot {
  std::vector<FunctionMetrics> functions;
  std::vector<BackendMetrics> backends;
};

// Reads the metrics of every live cached function and of their backends.
// Never throws (but std::bad_alloc): a backend that fails to answer is left
// out of what it could not give.
// Thread safety: may be called from any thread, concurrently with calls,
// clears, wraps and destructions of cached functions.
Snapshot Collect(const CollectOptions& options = {});

// Calls `visit` once per entry of Collect(options).functions, in order. The
// reference is valid during the call. Exceptions from `visit` propagate.
void VisitFunctions(const std::function<void(const FunctionMetrics&)>& visit,
                    const CollectOptions& options = {});

// Calls `visit` once per entry of Collect().backends, in order.
void VisitBackends(const std::function<void(const BackendMetrics&)>& visit);

// The metrics in the Prometheus text exposition format 0.0.4 (serve it with
// Content-Type `text/plain; version=0.0.4; charset=utf-8`):
// `cache_alchemy_gets_total{function=,backend=,prefix=,result="hit"|"miss"}`,
// `cache_alchemy_errors_total`, `cache_alchemy_puts_total`,
// `cache_alchemy_oversized_total`, `cache_alchemy_entries`, the histogram
// `cache_alchemy_miss_duration_seconds`, and per backend
// `cache_alchemy_functions`, `cache_alchemy_evictions_total` and
// `cache_alchemy_backend_stat{backend=,stat=}`. Label values are escaped
// (`\\`, `\"`, `\n`) and invalid UTF-8 is replaced by U+FFFD.
// Never throws (but std::bad_alloc). Thread safety: as Collect.
std::string PrometheusText(const CollectOptions& options = {});

// The same text for a given snapshot (e.g. one filtered or merged by the
// caller). Thread-safe.
std::string PrometheusText(const Snapshot& snapshot);

}  // namespace metrics
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_METRICS_H_
