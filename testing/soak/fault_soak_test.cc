// The fault soak, short (testing/soak/fault_soak.h): about 10 s under every
// fault, every target asserted, and the checker shown to see wrong answers.

#include "testing/soak/fault_soak.h"

#include <cstdint>
#include <cstdio>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace {

namespace soak = ::cache_alchemy::testing::soak;
using ::testing::IsEmpty;

// The figures to assert, summed over the backends.
struct Sums {
  int64_t calls = 0, hits = 0, wrong = 0, read_exceptions = 0, clears = 0,
          refused_clears = 0, other = 0, fail_open = 0;
};

Sums Sum(const soak::FaultSoakReport& r) {
  Sums s;
  for (const soak::BackendCounts& c : r.totals) {
    s.calls += c.calls;
    s.hits += c.hits;
    s.wrong += c.wrong;
    s.read_exceptions += c.read_exceptions;
    s.clears += c.clears;
    s.refused_clears += c.refused_clears;
    s.other += c.clear_other_exceptions;
    s.fail_open += c.fail_open_errors;
  }
  return s;
}

soak::FaultSoakOptions Short() {
  soak::FaultSoakOptions o;
  o.processes = 2;
  o.threads = 3;
  o.keys = 500;
  o.warmup_ms = 2000;
  o.timeout_ms = 250;
  o.down_ms = 300;
  o.pause_ms = 1200;
  o.quiet_ms = 2200;
  o.full_clear_every = 50;
  return o;
}

TEST(FaultSoakTest, EveryFaultInTurnMeetsEveryTarget) {
  soak::FaultSoakOptions o = Short();
  o.duration_ms = 13'500;  // warm-up, then the four faults each followed by
                           // its quiet period
#if defined(__SANITIZE_ADDRESS__)
  // Under ASan (CI's second run, beside other tests on 2 cores) a call is
  // several times slower: in one CI run the caches were only 55% warm after
  // 2 s, and refilling 500 keys after a kill took more than the 2.2 s quiet
  // period (the default build: 95% warm, recovered in 0.1-0.9 s). The
  // correctness targets are the same; the timing ones get the room the
  // slower calls need, and are still asserted.
  o.warmup_ms = 5'000;
  o.quiet_ms = 5'000;
  o.recovery_ms = 4'500;
  o.duration_ms = 31'000;  // 5 + (0.3 + 5) + (1.2 + 5) + 5 + 5 s, and room
#endif
  const soak::FaultSoakReport r = soak::RunFaultSoak(o);
  soak::PrintFaultSoakReport(r, stdout);
  ASSERT_THAT(r.harness_error, IsEmpty());
  const Sums s = Sum(r);
  // The targets.
  EXPECT_EQ(s.wrong, 0) << "stale or misrouted answers (listed above)";
  EXPECT_EQ(s.read_exceptions, 0) << "reads must fail open";
  EXPECT_THAT(r.crashes, IsEmpty());
  EXPECT_EQ(s.other, 0) << "a clear threw something else than ClearError";
  ASSERT_GE(r.worst_hang_call_ms, 0) << "no hang was injected";
  EXPECT_LE(r.worst_hang_call_ms, 2 * o.timeout_ms);
  EXPECT_GE(r.worst_hang_call_ms, o.timeout_ms / 2)
      << "no call waited on the hung server: the hang was not felt";
  // The hit rate: back at 90% within 2 s of every fault. 500 keys (not the
  // soak's 2000) so that a refill from cold fits in 2 s even while the
  // rest of the suite loads the machine (with 1000, a kill's refill took
  // 1.8 s to more than 2.2 s on a load average of 3).
  ASSERT_EQ(r.events.size(), 4u) << "every fault once";
  for (const soak::FaultEvent& e : r.events) {
    EXPECT_GE(e.recovery_ms, 0) << soak::FaultName(e.kind);
    EXPECT_LE(e.recovery_ms, o.recovery_ms) << soak::FaultName(e.kind);
  }
  // The faults were felt, and the load did something meanwhile.
  EXPECT_GT(s.fail_open, 0) << "no read failed open: the faults missed";
  EXPECT_GT(s.refused_clears, 0) << "no clear failed during the faults";
  EXPECT_GT(s.clears, 300);
  EXPECT_GT(s.calls, 10'000);
  EXPECT_GT(r.baseline_hit_rate, 0.5) << "caching never worked";
  EXPECT_TRUE(r.passed);
}

// The checker sees a wrong answer: here the cached function itself returns
// the previous version now and then, and nothing else is broken.
TEST(FaultSoakTest, CheckerCountsStaleAnswers) {
  soak::FaultSoakOptions o = Short();
  o.duration_ms = 2500;
  o.warmup_ms = 500;
  o.faults = {};
  o.keys = 100;  // so that versions move past 1 quickly
  o.write_interval_ms = 1;
  o.stale_every = 50;
  const soak::FaultSoakReport r = soak::RunFaultSoak(o);
  ASSERT_THAT(r.harness_error, IsEmpty());
  const Sums s = Sum(r);
  EXPECT_GT(s.wrong, 0);
  ASSERT_FALSE(r.wrong.empty());
  EXPECT_LT(r.wrong[0].got_version, r.wrong[0].floor_version);
  EXPECT_FALSE(r.passed);
}

}  // namespace
