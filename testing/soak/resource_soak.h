// File: testing/soak/resource_soak.h
// -----------------------------------------------------------------------------
//
// The resource soak: memory stays flat while the library churns.
//
// Each scenario runs in a forked process of its own, all at once, for
// `duration_ms`, and records its resident set (RSS, /proc/self/statm) and
// heap in use (mallinfo2) every `interval_ms`:
//   - memory_stream: a MemoryCache function with a bounded `limit` called
//     on a stream of distinct keys (every call a miss, an eviction, a store);
//   - dmc_stream: the same on DistributedMemoryCache (timestamps in Redis);
//   - wrap_destroy: cached functions wrapped, called and destroyed in turn
//     (MemoryCache without a name, so a new name each time; MemoryCache
//     named, with a dependency on a function that lives on;
//     DistributedMemoryCache and DistributedJsonCache named), at least
//     `wrap_cycles` times;
//   - plugin_loads: a new config and Redis client, one function per
//     built-in backend and a lookup of a class no plugin has, then
//     everything dropped, again and again. The registry keeps a plugin
//     loaded once it was (core/registry.h), so this measures that nothing
//     grows after the first load.
// A scenario passes when every checkpoint after the warm-up stays within
// `max_growth` of the RSS at the end of the warm-up (the baseline), and it
// exited cleanly having done its work.
//
//   ResourceSoakOptions options;
//   options.duration_ms = 600'000;
//   ResourceSoakReport report = RunResourceSoak(options);
//   PrintResourceSoakReport(report, stdout);
//
// Test-only (it starts a redis-server and forks). Call from a process with
// no other threads.

#ifndef CACHE_ALCHEMY_TESTING_SOAK_RESOURCE_SOAK_H_
#define CACHE_ALCHEMY_TESTING_SOAK_RESOURCE_SOAK_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace cache_alchemy {
namespace testing {
namespace soak {

enum class Scenario { kMemoryStream, kDmcStream, kWrapDestroy, kPluginLoads };
inline constexpr int kScenarios = 4;

// "memory_stream", "dmc_stream", "wrap_destroy", "plugin_loads".
const char* ScenarioName(Scenario scenario);
// A comma-separated list of those names ("all": every one); throws
// std::invalid_argument naming an unknown one.
std::vector<Scenario> ParseScenarios(const std::string& list);

struct ResourceSoakOptions {
  int duration_ms = 600'000;  // per scenario (they run at the same time)
  int warmup_ms = 60'000;     // the baseline is taken at its end
  int interval_ms = 10'000;   // between checkpoints
  std::vector<Scenario> scenarios = {
      Scenario::kMemoryStream, Scenario::kDmcStream, Scenario::kWrapDestroy,
      Scenario::kPluginLoads};
  int limit = 1'000;              // the streams' bounded limit
  int64_t wrap_cycles = 100'000;  // at least, whatever the duration
  double max_growth = 0.10;
};

struct Checkpoint {
  int64_t at_ms = 0;  // since the scenario began
  int64_t rss_bytes = 0;
  int64_t heap_bytes = 0;  // malloc'ed and in use (mallinfo2)
  int64_t operations = 0;  // calls, cycles or loads so far
};

struct ScenarioResult {
  Scenario scenario = Scenario::kMemoryStream;
  std::vector<Checkpoint> series;
  int baseline = -1;      // index in `series`; -1: the run was too short
  int64_t worst_rss = 0;  // after the baseline
  double growth = 0;      // worst_rss / baseline RSS - 1
  std::string problem;    // why it failed, if it did
  bool passed = false;
};

struct ResourceSoakReport {
  ResourceSoakOptions options;
  std::vector<ScenarioResult> results;
  // The redis-server's used_memory (INFO memory) at each checkpoint time.
  std::vector<int64_t> redis_used_memory;
  std::string harness_error;
  bool passed = false;
};

// Runs the scenarios. Never throws: a failure of the harness itself is in
// `harness_error` and fails the report.
ResourceSoakReport RunResourceSoak(const ResourceSoakOptions& options);

// A table per scenario and the RSS series.
void PrintResourceSoakReport(const ResourceSoakReport& report, std::FILE* out);

// This process's resident set and heap in use, in bytes.
int64_t ResidentBytes();
int64_t HeapInUseBytes();

}  // namespace soak
}  // namespace testing
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_TESTING_SOAK_RESOURCE_SOAK_H_
