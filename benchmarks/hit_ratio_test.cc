// The hit-ratio simulation at small sizes, as a test: the in-process store's
// S3-FIFO is within a point of the best reference policy on Zipf traces, a
// one-pass scan mixed in does not lower it, and LRU stays what it was.

#include <algorithm>
#include <string>

#include "benchmarks/cache_sim.h"
#include "benchmarks/store_policy.h"
#include "gtest/gtest.h"

namespace cache_alchemy {
namespace sim {
namespace {

constexpr int64_t kCapacity = 1000;

Trace Zipf(double alpha, uint64_t scan_every = 0) {
  return ZipfTrace({.keys = 50'000,
                    .requests = 200'000,
                    .alpha = alpha,
                    .seed = 7,
                    .scan_every = scan_every,
                    .scan_length = scan_every ? uint64_t{2} * kCapacity : 0});
}

double Best(const Trace& trace) {
  S3FifoPolicy s3fifo(kCapacity);
  WTinyLfuPolicy tinylfu(kCapacity);
  return std::max(HitRatio(s3fifo, trace), HitRatio(tinylfu, trace));
}

TEST(HitRatioTest, S3FifoStoreIsWithinAPointOfTheBestReference) {
  for (double alpha : {0.9, 1.1}) {
    const Trace trace = Zipf(alpha);
    StorePolicy store(kCapacity, EvictionPolicy::kS3Fifo);
    StorePolicy store_lru(kCapacity, EvictionPolicy::kLru);
    LruPolicy lru(kCapacity);
    const double ours = HitRatio(store, trace);
    const double best = Best(trace);
    EXPECT_GE(ours, best - 0.01) << "alpha " << alpha;
    // The LRU option is LRU: the same hits as the reference LRU.
    EXPECT_NEAR(HitRatio(store_lru, trace), HitRatio(lru, trace), 1e-9)
        << "alpha " << alpha;
  }
}

TEST(HitRatioTest, ScansMixedInDoNotLowerIt) {
  const Trace plain = Zipf(0.9);
  const Trace scanned = Zipf(0.9, /*scan_every=*/5'000);
  StorePolicy a(kCapacity, EvictionPolicy::kS3Fifo);
  StorePolicy b(kCapacity, EvictionPolicy::kS3Fifo);
  const double without = HitRatio(a, plain);
  const double with = HitRatio(b, scanned);
  EXPECT_GE(with, without - 0.01);
  // LRU, for contrast, loses its working set to each scan.
  LruPolicy lru_plain(kCapacity), lru_scanned(kCapacity);
  EXPECT_LT(HitRatio(lru_scanned, scanned), HitRatio(lru_plain, plain) - 0.02);
}

}  // namespace
}  // namespace sim
}  // namespace cache_alchemy
