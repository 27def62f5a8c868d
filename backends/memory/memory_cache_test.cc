// MemoryCache at the backend interface: S3-FIFO and LRU eviction, TTL with
// an injected clock, partial clear counts, fences, shared stores, flush and
// namespaces.

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
      [](void* ctx, const ValueView& v) {
        *static_cast<int*>(ctx) = *static_cast<const int*>(v.object);
      },
      &out, nullptr);
  return out;
}

class MemoryCacheTest : public ::testing::Test {
 protected:
  std::unique_ptr<CacheNamespace> Open(
      const std::string& name, int64_t limit, int64_t expire,
      bool strict = false, const std::string& prefix = "",
      EvictionPolicy eviction = EvictionPolicy::kDefault) {
    HostContext host;
    host.clock = &clock_;
    return std::unique_ptr<CacheNamespace>(
        backend_.Open({prefix, name, limit, expire, strict, eviction}, host));
  }
  HostContext Host() {
    HostContext host;
    host.clock = &clock_;
    return host;
  }

  testing::FakeClock clock_;
  MemoryCache backend_;
};

TEST_F(MemoryCacheTest, LruEvictsInLeastRecentlyUsedOrder) {
  auto ns = Open("lru", 3, -1, false, "", EvictionPolicy::kLru);
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

// S3-FIFO (the default): an entry that was hit outlives entries that never
// were, even with a small limit, and a one-pass scan of new keys does not
// push the hit entries out.
TEST_F(MemoryCacheTest, S3FifoKeepsWhatWasHitOverWhatNeverWas) {
  auto tiny = Open("s3fifo-tiny", 2, -1);
  tiny->Store("hit", Value(1), nullptr);
  EXPECT_EQ(Get(*tiny, "hit"), 1);
  tiny->Store("once", Value(2), nullptr);
  tiny->Store("new", Value(3), nullptr);  // evicts "once", never hit
  EXPECT_EQ(Get(*tiny, "hit"), 1);
  EXPECT_EQ(Get(*tiny, "once"), -1);
  EXPECT_EQ(Get(*tiny, "new"), 3);
  EXPECT_EQ(tiny->Size(), 2);

  auto ns = Open("s3fifo-scan", 100, -1);
  for (int i = 0; i < 50; ++i) {
    ns->Store("hot" + std::to_string(i), Value(i), nullptr);
    EXPECT_EQ(Get(*ns, "hot" + std::to_string(i)), i);
  }
  for (int i = 0; i < 1000; ++i) {  // a scan: each key once, never hit
    ns->Store("scan" + std::to_string(i), Value(i), nullptr);
  }
  int kept = 0;
  for (int i = 0; i < 50; ++i) kept += Get(*ns, "hot" + std::to_string(i)) == i;
  EXPECT_EQ(kept, 50) << "the scan evicted entries that were hit";
  EXPECT_EQ(ns->Size(), 100);
}

// A key evicted without a hit and soon stored again goes straight to the
// main queue (the ghost), so it is not the next victim again.
TEST_F(MemoryCacheTest, S3FifoGhostRemembersRecentlyEvictedKeys) {
  auto ns = Open("s3fifo-ghost", 10, -1);
  for (int i = 0; i < 10; ++i)
    ns->Store("k" + std::to_string(i), Value(i), nullptr);
  ns->Store("k10", Value(10), nullptr);  // evicts k0 (never hit) to the ghost
  EXPECT_EQ(Get(*ns, "k0"), -1);
  ns->Store("k0", Value(0), nullptr);  // back, into the main queue
  for (int i = 11; i < 20; ++i)
    ns->Store("k" + std::to_string(i), Value(i), nullptr);
  EXPECT_EQ(Get(*ns, "k0"), 0);
}

TEST_F(MemoryCacheTest, FencedStoresAreRefusedAfterAClear) {
  auto ns = Open("fence", 10, -1, /*strict=*/true);
  std::string k;
  AppendStrictSegment("x", &k);
  Fence before;
  ns->Lookup(
      k, [](void*, const ValueView&) {}, nullptr, &before);
  ns->ClearMatching(KeyPattern{{std::string("other")}});  // any clear fences
  EXPECT_FALSE(ns->Store(k, Value(1), &before));
  EXPECT_EQ(Get(*ns, k), -1);
  Fence after;
  ns->Lookup(
      k, [](void*, const ValueView&) {}, nullptr, &after);
  EXPECT_TRUE(ns->Store(k, Value(2), &after));
  EXPECT_EQ(Get(*ns, k), 2);
  // A flush fences too.
  ns->Lookup(
      k, [](void*, const ValueView&) {}, nullptr, &before);
  backend_.Flush(Host(), "");
  EXPECT_FALSE(ns->Store(k, Value(3), &before));
  EXPECT_TRUE(ns->Store(k, Value(4), nullptr));  // a put is unconditional
  EXPECT_EQ(Get(*ns, k), 4);
}

// Small trivially copyable values travel as bytes (no object per entry).
TEST_F(MemoryCacheTest, KeepsInlineBytesAsGiven) {
  auto ns = Open("inline", 10, -1);
  StoredValue value;
  value.bytes = std::string("\x01\x02\x03\x04", 4);
  ns->Store("k", std::move(value), nullptr);
  std::string seen;
  const void* object = &seen;
  struct Seen {
    std::string* bytes;
    const void** object;
  } out{&seen, &object};
  ns->Lookup(
      "k",
      [](void* ctx, const ValueView& v) {
        auto* o = static_cast<Seen*>(ctx);
        o->bytes->assign(v.bytes);
        *o->object = v.object;
      },
      &out, nullptr);
  EXPECT_EQ(seen, std::string("\x01\x02\x03\x04", 4));
  EXPECT_EQ(object, nullptr);
}

// Keys and values of every length (the node keeps short lengths in its
// header and long ones beside it).
TEST_F(MemoryCacheTest, KeysAndValuesOfAnyLength) {
  auto ns = Open("lengths", -1, -1);
  for (size_t n : {0u, 1u, 254u, 255u, 256u, 70000u}) {
    const std::string key(n, 'k');
    StoredValue value;
    value.bytes = std::string(n, 'v');
    ns->Store(key + "#", std::move(value), nullptr);
    std::string seen = "unset";
    ns->Lookup(
        key + "#",
        [](void* ctx, const ValueView& v) {
          static_cast<std::string*>(ctx)->assign(v.bytes);
        },
        &seen, nullptr);
    EXPECT_EQ(seen, std::string(n, 'v')) << n;
  }
  EXPECT_EQ(ns->Size(), 6);
}

// Short keys are hashed and compared a word at a time (overlapping reads):
// keys of one length that differ in any single byte stay distinct entries.
TEST_F(MemoryCacheTest, KeysDifferingInOneByteAreDistinct) {
  auto ns = Open("bytes", -1, -1);
  for (size_t n = 1; n <= 24; ++n) {
    const std::string base(n, 'a');
    ns->Store(base, Value(-7), nullptr);
    for (size_t i = 0; i < n; ++i) {
      std::string other = base;
      other[i] = 'b';
      ns->Store(other, Value(static_cast<int>(i)), nullptr);
    }
    EXPECT_EQ(Get(*ns, base), -7) << n;
    for (size_t i = 0; i < n; ++i) {
      std::string other = base;
      other[i] = 'b';
      EXPECT_EQ(Get(*ns, other), static_cast<int>(i)) << n << " " << i;
    }
  }
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

// A clear removes entries while it looks for matches: it must still find
// every match, at every load and with keys that wrap around the table's
// end. (It caught a clear that moved keys back into the slots it had
// already scanned.)
TEST_F(MemoryCacheTest, ClearsFindEveryMatchWhileRemoving) {
  for (int n : {10, 1000, 20000}) {
    auto ns = Open("shift" + std::to_string(n), -1, -1, /*strict=*/true);
    auto key = [](int group, int i) {
      std::string k;
      AppendStrictSegment(std::to_string(group), &k);
      AppendStrictSegment(std::to_string(i), &k);
      return k;
    };
    for (int i = 0; i < n; ++i) {
      for (int group = 0; group < 3; ++group) {
        ns->Store(key(group, i), Value(group), nullptr);
      }
    }
    EXPECT_EQ(ns->ClearMatching(KeyPattern{{std::string("0"), std::nullopt}}),
              n);
    int left = 0;
    for (int i = 0; i < n; ++i) {
      if (Get(*ns, key(0, i)) != -1) ++left;
      EXPECT_EQ(Get(*ns, key(1, i)), 1) << n << " " << i;
      EXPECT_EQ(Get(*ns, key(2, i)), 2) << n << " " << i;
    }
    EXPECT_EQ(left, 0) << n;
    EXPECT_EQ(ns->Size(), 2 * n);
    EXPECT_EQ(ns->Clear(), 2 * n);
    EXPECT_EQ(ns->Size(), 0);
  }
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
