// MemoryCache at the backend interface, plugin ABI v5: `Invalidate` removes
// one entry and fences like a clear, and `StoredValue::ttl_ms` gives an
// entry a lifetime of its own (never longer than the function's expire).

#include <chrono>
#include <memory>
#include <string>

#include "backends/memory/memory_cache.h"
#include "gtest/gtest.h"
#include "testing/fake_clock.h"

namespace cache_alchemy {
namespace memory {
namespace {

StoredValue Value(int v, int64_t ttl_ms = 0) {
  StoredValue s;
  s.object = std::make_shared<const int>(v);
  s.ttl_ms = ttl_ms;
  return s;
}

int Get(CacheNamespace& ns, const std::string& key, Fence* fence = nullptr) {
  int out = -1;
  ns.Lookup(
      key,
      [](void* ctx, const ValueView& v) {
        *static_cast<int*>(ctx) = *static_cast<const int*>(v.object);
      },
      &out, fence);
  return out;
}

class EntryTtlInvalidateTest : public ::testing::Test {
 protected:
  std::unique_ptr<CacheNamespace> Open(const std::string& name,
                                       int64_t expire) {
    HostContext host;
    host.clock = &clock_;
    return std::unique_ptr<CacheNamespace>(backend_.Open(
        {"", name, -1, expire, false, EvictionPolicy::kDefault}, host));
  }

  testing::FakeClock clock_;
  MemoryCache backend_;
};

TEST_F(EntryTtlInvalidateTest, InvalidateRemovesOneLiveEntry) {
  auto ns = Open("one", 60);
  ns->Store("a", Value(1), nullptr);
  ns->Store("b", Value(2), nullptr);
  EXPECT_EQ(ns->Invalidate("a"), 1);
  EXPECT_EQ(ns->Invalidate("a"), 0);
  EXPECT_EQ(Get(*ns, "a"), -1);
  EXPECT_EQ(Get(*ns, "b"), 2);
  EXPECT_EQ(ns->Size(), 1);
  // An expired entry is removed but not counted as live.
  ns->Store("c", Value(3), nullptr);
  clock_.Advance(std::chrono::seconds(61));
  EXPECT_EQ(ns->Invalidate("c"), 0);
}

TEST_F(EntryTtlInvalidateTest, InvalidateFencesAStoreWhoseLookupCameBefore) {
  auto ns = Open("fence", 60);
  Fence fence;
  EXPECT_EQ(Get(*ns, "a", &fence), -1);  // a miss: computing
  EXPECT_EQ(ns->Invalidate("a"), 0);     // nothing stored yet, still fenced
  EXPECT_FALSE(ns->Store("a", Value(1), &fence));
  EXPECT_EQ(Get(*ns, "a"), -1);
  // A lookup after the invalidation stores.
  EXPECT_EQ(Get(*ns, "a", &fence), -1);
  EXPECT_TRUE(ns->Store("a", Value(2), &fence));
  EXPECT_EQ(Get(*ns, "a"), 2);
  // The generation the core joins flights on moved too.
  const uint64_t before = ns->InvalidationGeneration();
  ns->Invalidate("zzz");
  EXPECT_NE(ns->InvalidationGeneration(), before);
}

TEST_F(EntryTtlInvalidateTest, AnEntryLivesItsOwnTtl) {
  auto ns = Open("ttl", 60);
  ns->Store("short", Value(1, 5'000), nullptr);
  ns->Store("plain", Value(2), nullptr);
  ns->Store("longer", Value(3, 120'000), nullptr);  // capped at expire
  clock_.Advance(std::chrono::milliseconds(4'999));
  EXPECT_EQ(Get(*ns, "short"), 1);
  clock_.Advance(std::chrono::milliseconds(1));
  EXPECT_EQ(Get(*ns, "short"), -1);
  EXPECT_EQ(Get(*ns, "plain"), 2);
  clock_.Advance(std::chrono::seconds(55));
  EXPECT_EQ(Get(*ns, "plain"), -1);
  EXPECT_EQ(Get(*ns, "longer"), -1);
}

TEST_F(EntryTtlInvalidateTest, AnEntryTtlWhereNothingElseExpires) {
  auto ns = Open("never", -1);
  ns->Store("short", Value(1, 5'000), nullptr);
  ns->Store("plain", Value(2), nullptr);
  clock_.Advance(std::chrono::seconds(5));
  EXPECT_EQ(Get(*ns, "short"), -1);
  clock_.Advance(std::chrono::hours(24 * 365));
  EXPECT_EQ(Get(*ns, "plain"), 2);
}

}  // namespace
}  // namespace memory
}  // namespace cache_alchemy
