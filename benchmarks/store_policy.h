// File: benchmarks/store_policy.h
// -----------------------------------------------------------------------------
//
// The in-process store (backends/memory/concurrent_store.h), the one
// MemoryCache and DistributedMemoryCache use, driven as a `sim::Policy` so
// the hit-ratio simulation measures the real thing next to the references.
//
//   StorePolicy s3fifo(10'000, EvictionPolicy::kS3Fifo);
//   double ratio = sim::HitRatio(s3fifo, trace);

#ifndef CACHE_ALCHEMY_BENCHMARKS_STORE_POLICY_H_
#define CACHE_ALCHEMY_BENCHMARKS_STORE_POLICY_H_

#include <cstdint>
#include <cstring>
#include <string>

#include "backends/memory/concurrent_store.h"
#include "benchmarks/cache_sim.h"

namespace cache_alchemy {
namespace sim {

class StorePolicy final : public Policy {
 public:
  StorePolicy(int64_t capacity, EvictionPolicy policy)
      : store_(memory::ConcurrentStore::Options{.limit = capacity,
                                                .expire_seconds = -1,
                                                .clock = &clock_,
                                                .policy = policy}) {}

  bool Access(uint64_t key) override {
    char bytes[sizeof(key)];
    std::memcpy(bytes, &key, sizeof(key));
    const std::string_view k(bytes, sizeof(bytes));
    Fence fence;
    if (store_.Lookup(
            k, [](void*, const ValueView&) {}, nullptr, &fence)) {
      return true;
    }
    StoredValue value;
    value.bytes.assign(bytes, sizeof(bytes));
    store_.Store(k, std::move(value), &fence);
    return false;
  }

 private:
  class ZeroClock final : public Clock {
   public:
    int64_t NowMillis() const override { return 0; }
  };
  ZeroClock clock_;
  memory::ConcurrentStore store_;
};

}  // namespace sim
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_BENCHMARKS_STORE_POLICY_H_
