// The resource soak, short (testing/soak/resource_soak.h): each scenario
// for a few seconds, RSS checked against its post-warm-up baseline at
// every checkpoint after it (about 16).

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/soak/resource_soak.h"

namespace {

namespace soak = ::cache_alchemy::testing::soak;
using ::testing::IsEmpty;

TEST(ResourceBoundsTest, RssStaysFlatInEveryScenario) {
  soak::ResourceSoakOptions o;
  o.duration_ms = 6000;
  o.warmup_ms = 2000;  // the plugins loaded, the stores full, the
                       // allocator's arenas grown
  o.interval_ms = 250;
  o.wrap_cycles = 0;  // as many as fit (the 10-minute run does 100,000+)
#if defined(__SANITIZE_ADDRESS__)
  // Under ASan (CI's second run) calls are several times slower and the
  // measure is the live heap (resource_soak.cc, ResidentBytes): the same
  // checks over a longer run, so that each scenario still reaches 10
  // checkpoints after its warm-up.
  o.duration_ms = 12000;
  o.warmup_ms = 3000;
#endif
  const soak::ResourceSoakReport r = soak::RunResourceSoak(o);
  soak::PrintResourceSoakReport(r, stdout);
  ASSERT_THAT(r.harness_error, IsEmpty());
  ASSERT_EQ(r.results.size(), 4u);
  for (const soak::ScenarioResult& s : r.results) {
    SCOPED_TRACE(soak::ScenarioName(s.scenario));
    EXPECT_THAT(s.problem, IsEmpty());
    ASSERT_GE(s.baseline, 0);
    EXPECT_GE(s.series.size() - s.baseline, 10u) << "too few checkpoints";
    EXPECT_LE(s.growth, o.max_growth);
    EXPECT_GT(s.series.back().operations, s.series[s.baseline].operations)
        << "no work after the warm-up";
  }
  EXPECT_TRUE(r.passed);
}

}  // namespace
