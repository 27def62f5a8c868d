// MemoryCache at the backend interface: LRU order, TTL with an injected
// clock, partial clear counts, shared stores, flush and namespaces.

#include "backends/memory/memory_cache.h"

#include <chrono>
#include <memory>
#include <string>

#include "core/strict_key.h"
#include "gtest/gtest.h"
#include "testing/fake_clock.h"

namespace cache_alchemy {
namespace memory {
namespace {

StoredValue Value(int v) {
  StoredValue s;
  s.object = std::make_shared<const int>(v);
  return s;
}

// Reads `key`; returns -1 on a miss.
int Get(CacheNamespace& ns, const std::string& key) {
  int out = -1;
  ns.Lookup(
      key,
      [](void* ctx, const StoredValue& v) {
        *static_cast<int*>(ctx) = *static_cast<const int*>(v.object.get());
      },
      &out, nullptr);
  return out;
}

class MemoryCacheTest : public ::testing::Test {
 protected:
  std::unique_ptr<CacheNamespace> Open(const std::string& name, int64_t limit,
                                       int64_t expire, bool strict = false,
                                       const std::string& prefix = "") {
    HostContext host;
    host.clock = &clock_;
    return std::unique_ptr<CacheNamespace>(
        backend_.Open({prefix, name, limit, expire, strict}, host));
  }
  HostContext Host() {
    HostContext host;
    host.clock = &clock_;
    return host;
  }

  testing::FakeClock clock_;
  MemoryCache backend_;
};

TEST_F(MemoryCacheTest, EvictsInLeastRecentlyUsedOrder) {
  auto ns = Open("lru", 3, -1);
  ns->Store("a", Value(1), nullptr);
  ns->Store("b", Value(2), nullptr);
  ns->Store("c", Value(3), nullptr);
  EXPECT_EQ(Get(*ns, "a"), 1);        // order now (newest first): a c b
  ns->Store("d", Value(4), nullptr);  // evicts b: d a c
  EXPECT_EQ(Get(*ns, "b"), -1);
  ns->Store("c", Value(30), nullptr);  // an update refreshes c: c d a
  ns->Store("e", Value(5), nullptr);   // evicts a: e c d
  EXPECT_EQ(Get(*ns, "a"), -1);
  EXPECT_EQ(Get(*ns, "d"), 4);
  EXPECT_EQ(Get(*ns, "c"), 30);
  EXPECT_EQ(Get(*ns, "e"), 5);
  EXPECT_EQ(ns->Size(), 3);
}

TEST_F(MemoryCacheTest, ExpiresOnTheClock) {
  auto ns = Open("ttl", -1, 5);
  ns->Store("k", Value(1), nullptr);
  clock_.Advance(std::chrono::milliseconds(4999));
  EXPECT_EQ(Get(*ns, "k"), 1);
  clock_.Advance(std::chrono::milliseconds(1));
  EXPECT_EQ(Get(*ns, "k"), -1);
  EXPECT_EQ(ns->Size(), 0);
  // A store restarts the TTL.
  ns->Store("k", Value(2), nullptr);
  clock_.Advance(std::chrono::seconds(3));
  ns->Store("k", Value(3), nullptr);
  clock_.Advance(std::chrono::seconds(3));
  EXPECT_EQ(Get(*ns, "k"), 3);
}

TEST_F(MemoryCacheTest, ClearCountsOnlyLiveEntries) {
  auto ns = Open("clear", -1, 10);
  ns->Store("old", Value(1), nullptr);
  clock_.Advance(std::chrono::seconds(11));
  ns->Store("new1", Value(2), nullptr);
  ns->Store("new2", Value(3), nullptr);
  EXPECT_EQ(ns->Clear(), 2);
  EXPECT_EQ(ns->Size(), 0);
  EXPECT_EQ(ns->Clear(), 0);
}

TEST_F(MemoryCacheTest, PartialClearMatchesSegments) {
  auto ns = Open("partial", -1, -1, /*strict=*/true);
  auto key = [](const std::string& a, const std::string& b) {
    std::string k;
    AppendStrictSegment(a, &k);
    AppendStrictSegment(b, &k);
    return k;
  };
  ns->Store(key("x", "1"), Value(1), nullptr);
  ns->Store(key("x", "2"), Value(2), nullptr);
  ns->Store(key("y", "1"), Value(3), nullptr);
  EXPECT_EQ(ns->ClearMatching(KeyPattern{{std::string("x"), std::nullopt}}), 2);
  EXPECT_EQ(ns->ClearMatching(KeyPattern{{std::nullopt, std::string("2")}}), 0);
  EXPECT_EQ(ns->ClearMatching(KeyPattern{{std::nullopt, std::string("1")}}), 1);
  EXPECT_EQ(ns->Size(), 0);
}

TEST_F(MemoryCacheTest, SamePrefixAndNameShareAStore) {
  auto a = Open("shared", 10, -1);
  auto b = Open("shared", 10, -1);
  auto other_tenant = Open("shared", 10, -1, false, "t2:");
  a->Store("k", Value(7), nullptr);
  EXPECT_EQ(Get(*b, "k"), 7);
  EXPECT_EQ(Get(*other_tenant, "k"), -1);
  // The store lives while any namespace holds it.
  a.reset();
  b.reset();
  auto fresh = Open("shared", 10, -1);
  EXPECT_EQ(Get(*fresh, "k"), -1);
}

TEST_F(MemoryCacheTest, FlushAndNamespacesByPrefix) {
  auto a = Open("fa", -1, -1, false, "p:");
  auto b = Open("fb", -1, -1, false, "p:");
  auto empty = Open("fc", -1, -1, false, "p:");
  auto elsewhere = Open("fa", -1, -1, false, "q:");
  a->Store("1", Value(1), nullptr);
  a->Store("2", Value(2), nullptr);
  b->Store("1", Value(1), nullptr);
  elsewhere->Store("1", Value(1), nullptr);
  EXPECT_EQ(backend_.Namespaces(Host(), "p:"),
            (std::set<std::string>{"fa", "fb"}));
  EXPECT_EQ(backend_.Flush(Host(), "p:"), 3);
  EXPECT_TRUE(backend_.Namespaces(Host(), "p:").empty());
  EXPECT_EQ(elsewhere->Size(), 1);
}

}  // namespace
}  // namespace memory
}  // namespace cache_alchemy
