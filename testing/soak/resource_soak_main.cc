// The resource soak as a program (testing/soak/resource_soak.h):
//
//   bazel run -c opt //testing/soak:resource_soak -- --duration=10m
//
// prints each scenario's RSS figures and series, and exits 0 when each
// stayed within --max_growth of its baseline, 1 otherwise, 2 on bad flags.

#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/time/time.h"
#include "testing/soak/resource_soak.h"

ABSL_FLAG(absl::Duration, duration, absl::Minutes(10),
          "how long each scenario runs (they run at the same time)");
ABSL_FLAG(absl::Duration, warmup, absl::Minutes(1),
          "the baseline RSS is taken at the end of the warm-up");
ABSL_FLAG(absl::Duration, interval, absl::Seconds(10),
          "between two checkpoints");
ABSL_FLAG(std::string, scenarios, "all",
          "all, or some of memory_stream, dmc_stream, wrap_destroy, "
          "plugin_loads (comma-separated)");
ABSL_FLAG(int, limit, 1000, "the streams' bounded limit");
ABSL_FLAG(int64_t, wrap_cycles, 100000,
          "wrap/destroy cycles to do at least, whatever the duration");
ABSL_FLAG(double, max_growth, 0.10,
          "largest allowed RSS growth over the baseline (0.10: 10%)");

namespace soak = cache_alchemy::testing::soak;

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Checks that RSS stays flat while the library churns: bounded "
      "streams of distinct keys, wrap/destroy cycles, plugin loads "
      "(docs/reliability.md, section Faults and resource bounds).");
  absl::ParseCommandLine(argc, argv);
  soak::ResourceSoakOptions o;
  o.duration_ms = absl::ToInt64Milliseconds(absl::GetFlag(FLAGS_duration));
  o.warmup_ms = absl::ToInt64Milliseconds(absl::GetFlag(FLAGS_warmup));
  o.interval_ms = absl::ToInt64Milliseconds(absl::GetFlag(FLAGS_interval));
  o.limit = absl::GetFlag(FLAGS_limit);
  o.wrap_cycles = absl::GetFlag(FLAGS_wrap_cycles);
  o.max_growth = absl::GetFlag(FLAGS_max_growth);
  try {
    o.scenarios = soak::ParseScenarios(absl::GetFlag(FLAGS_scenarios));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "resource_soak: --scenarios: %s\n", e.what());
    return 2;
  }
  const soak::ResourceSoakReport report = soak::RunResourceSoak(o);
  soak::PrintResourceSoakReport(report, stdout);
  return report.passed ? 0 : 1;
}
