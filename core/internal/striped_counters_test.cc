// StripedCounters: exact sums with more threads than stripes, stripes
// handed on when threads exit, and no stripe owned by two live threads
// (an owner adds without a locked instruction, so a second owner would lose
// counts).

#include "core/internal/striped_counters.h"

#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "absl/synchronization/barrier.h"
#include "gtest/gtest.h"

namespace cache_alchemy {
namespace internal {
namespace {

constexpr int kAdds = 20000;

// Runs `threads` threads at once (a barrier holds them until all started),
// each adding kAdds to both counters; returns each thread's stripe code.
std::vector<uint32_t> AddFromThreads(StripedCounters<2>& counters,
                                     int threads) {
  absl::Barrier start(threads);
  absl::Barrier done(threads);
  std::vector<uint32_t> codes(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      start.Block();
      for (int i = 0; i < kAdds; ++i) {
        counters.Add(0);
        counters.Add(1, 2);
      }
      codes[t] = ThisThreadStripe();
      done.Block();  // every thread is alive while the others read codes
    });
  }
  for (std::thread& t : pool) t.join();
  return codes;
}

// On the heap: the stripes are 64-byte aligned, which ASan's fake stack
// frames do not keep.
TEST(StripedCountersTest, NoStripeHasTwoLiveOwners) {
  auto owned_counters = std::make_unique<StripedCounters<2>>();
  StripedCounters<2>& counters = *owned_counters;
  const std::vector<uint32_t> codes = AddFromThreads(counters, 24);
  std::set<uint32_t> owned;
  int shared = 0;
  for (const uint32_t code : codes) {
    ASSERT_NE(code, 0u);
    if (code & kStripeOwned) {
      EXPECT_TRUE(owned.insert(code & kStripeIndexMask).second)
          << "stripe " << (code & kStripeIndexMask) << " has two owners";
      EXPECT_LT(code & kStripeIndexMask, kCounterStripes - 1);
    } else {
      EXPECT_EQ(code & kStripeIndexMask, kCounterStripes - 1);
      ++shared;
    }
  }
  // This thread may own one, and the test's other threads are gone.
  EXPECT_GE(owned.size(), kCounterStripes - 2);
  EXPECT_EQ(owned.size() + shared, codes.size());
  EXPECT_EQ(counters.Sum(0), 24 * kAdds);
  EXPECT_EQ(counters.Sum(1), 24 * 2 * kAdds);
}

TEST(StripedCountersTest, StripesPassToNewThreadsWithTheirCounts) {
  auto owned_counters = std::make_unique<StripedCounters<2>>();
  StripedCounters<2>& counters = *owned_counters;
  for (int wave = 1; wave <= 4; ++wave) {
    const std::vector<uint32_t> codes = AddFromThreads(counters, 12);
    int owned = 0;
    for (const uint32_t code : codes) owned += (code & kStripeOwned) ? 1 : 0;
    // The previous wave's threads have exited and given their stripes back.
    EXPECT_GE(owned, 11) << "wave " << wave;
    EXPECT_EQ(counters.Sum(0), wave * 12 * kAdds);
    EXPECT_EQ(counters.Sum(1), wave * 12 * 2 * kAdds);
  }
}

}  // namespace
}  // namespace internal
}  // namespace cache_alchemy
