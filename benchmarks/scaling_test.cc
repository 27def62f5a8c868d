// The pinned-trial harness of the scaling benchmark, at small sizes: every
// call runs, on the right number of threads, and a trial says whether the
// threads overlapped. Also runs the benchmark's subject (a MemoryCache hit)
// from two pinned threads and checks every answer.

#include "benchmarks/scaling.h"

#include <atomic>
#include <chrono>
#include <thread>

#include "cache_alchemy/cache_alchemy.h"
#include "gtest/gtest.h"

namespace ca = cache_alchemy;

namespace {

TEST(ScalingHarnessTest, RunsEveryCallOnItsThread) {
  std::atomic<int64_t> calls[2] = {0, 0};
  const ca::bench::Trial trial = ca::bench::RunPinnedTrial(
      2, 10'000, [&](int t, int64_t) { calls[t].fetch_add(1); });
  EXPECT_EQ(calls[0].load(), 10'000);
  EXPECT_EQ(calls[1].load(), 10'000);
  EXPECT_EQ(trial.calls, 20'000);
  EXPECT_GT(trial.wall_seconds, 0);
  EXPECT_GE(trial.overlap, 0);
  EXPECT_LE(trial.overlap, 1.0 + 1e-9);
  EXPECT_EQ(trial.pinned, ca::bench::AllowedCpus().size() >= 2);
}

TEST(ScalingHarnessTest, OverlapTellsTogetherFromTakingTurns) {
  using T = std::chrono::steady_clock::time_point;
  auto at = [](int ms) { return T(std::chrono::milliseconds(ms)); };
  // Side by side.
  EXPECT_DOUBLE_EQ(ca::bench::Overlap<T>({at(0), at(0)}, {at(100), at(100)}),
                   1.0);
  // One after the other (the second thread waited for a CPU).
  EXPECT_DOUBLE_EQ(ca::bench::Overlap<T>({at(0), at(100)}, {at(100), at(200)}),
                   0.0);
  // Half of the shorter run alone.
  EXPECT_DOUBLE_EQ(ca::bench::Overlap<T>({at(0), at(50)}, {at(100), at(150)}),
                   0.5);
  EXPECT_LT(0.5, ca::bench::kRequiredOverlap);
}

TEST(ScalingHarnessTest, MemoryCacheHitsFromTwoPinnedThreadsAreRight) {
  auto add = ca::cache({.limit = -1,
                        .backend = "cache_alchemy.backends.memory.MemoryCache",
                        .name = "scaling-test"},
                       [](int a, int b) { return a + b; });
  for (int k = 0; k < 100; ++k) add(k, 2);
  std::atomic<int> wrong{0};
  ca::bench::RunPinnedTrial(2, 20'000, [&](int t, int64_t i) {
    const int k = static_cast<int>((i + t * 37) % 100);
    if (add(k, 2) != k + 2) wrong.fetch_add(1);
  });
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(add.misses(), 100);
  EXPECT_EQ(add.hits(), 40'000);
}

}  // namespace
