// MemcachedCache against a private memcached: the backend interface directly,
// with hand-made keys and bytes.

#include "plugins/memcached/memcached_cache.h"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/strict_key.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "plugins/memcached/stable_hash.h"
#include "testing/memcached_server.h"

namespace cache_alchemy {
namespace memcached {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

class MemcachedCacheTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = cache_alchemy::testing::MemcachedServer::Start().release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  // A namespace of this test (prefix + the test's name + `suffix`).
  std::unique_ptr<CacheNamespace> Open(int64_t limit, int64_t expire,
                                       bool strict = false,
                                       const std::string& suffix = "",
                                       MemcachedCache* backend = nullptr) {
    const std::string name =
        std::string(
            ::testing::UnitTest::GetInstance()->current_test_info()->name()) +
        suffix;
    return std::unique_ptr<CacheNamespace>(
        (backend ? backend : &backend_)
            ->Open(NamespaceSpec{"test:", name, limit, expire, strict}, host_));
  }

  static void Put(CacheNamespace& ns, const std::string& key,
                  const std::string& bytes) {
    StoredValue value;
    value.bytes = bytes;
    ns.Store(key, std::move(value), nullptr);
  }

  static std::optional<std::string> Get(CacheNamespace& ns,
                                        const std::string& key) {
    std::optional<std::string> out;
    ns.Lookup(
        key,
        [](void* context, const ValueView& v) {
          static_cast<std::optional<std::string>*>(context)->emplace(v.bytes);
        },
        &out, nullptr);
    return out;
  }

  static std::string Strict(const std::vector<std::string>& segments) {
    std::string key;
    for (const auto& s : segments) AppendStrictSegment(s, &key);
    return key;
  }

  static cache_alchemy::testing::MemcachedServer* server_;
  CoarseMonotonicClock clock_;
  HostContext host_{&clock_, nullptr};
  MemcachedCache backend_{server_->address()};
};

cache_alchemy::testing::MemcachedServer* MemcachedCacheTest::server_ = nullptr;

TEST(StableHashTest, IsFnv1a64) {
  // Published FNV-1a 64 test vectors: the hash never changes.
  EXPECT_EQ(Fnv1a64(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(Fnv1a64("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(Fnv1a64("foobar"), 0x85944171f73967e8ull);
  EXPECT_EQ(HexHash64(0xaf63dc4c8601ec8cull), "af63dc4c8601ec8c");
}

TEST_F(MemcachedCacheTest, FormatIsBinaryNeedsNoRedisButAStableName) {
  EXPECT_EQ(backend_.format(), ValueFormat::kBinary);
  EXPECT_EQ(backend_.requirements(), Backend::kRequiresStableName);
}

TEST_F(MemcachedCacheTest, StoresAndLooksUp) {
  auto ns = Open(10, -1);
  EXPECT_EQ(Get(*ns, "k"), std::nullopt);
  EXPECT_EQ(ns->Size(), 0);
  Put(*ns, "k", "value-1");
  EXPECT_EQ(Get(*ns, "k"), "value-1");
  Put(*ns, "k", "value-2");
  EXPECT_EQ(Get(*ns, "k"), "value-2");
  EXPECT_EQ(ns->Size(), 1);
}

TEST_F(MemcachedCacheTest, KeysAndValuesMayHoldAnyBytes) {
  auto ns = Open(10, -1);
  const std::string key = std::string("sp ace\0nul\r\n", 12) +
                          std::string(5000, 'x');  // > 250 bytes
  const std::string value("\0\1\2\xff binary", 12);
  Put(*ns, key, value);
  EXPECT_EQ(Get(*ns, key), value);
  EXPECT_EQ(Get(*ns, key.substr(0, 12)), std::nullopt);
}

TEST_F(MemcachedCacheTest, SameNameSharesDifferentNameDoesNot) {
  auto a = Open(10, -1);
  auto b = Open(10, -1);
  auto other = Open(10, -1, false, ".other");
  MemcachedCache second_process(server_->address());
  auto c = Open(10, -1, false, "", &second_process);
  Put(*a, "k", "v");
  EXPECT_EQ(Get(*b, "k"), "v");
  EXPECT_EQ(Get(*c, "k"), "v");
  EXPECT_EQ(Get(*other, "k"), std::nullopt);
  auto other_prefix = std::unique_ptr<CacheNamespace>(backend_.Open(
      NamespaceSpec{"other:", "SameNameSharesDifferentNameDoesNot", 10, -1,
                    false},
      host_));
  EXPECT_EQ(Get(*other_prefix, "k"), std::nullopt);
}

TEST_F(MemcachedCacheTest, LimitEvictsTheOldestStored) {
  auto ns = Open(3, -1);
  for (const char* k : {"k1", "k2", "k3", "k4", "k5"}) Put(*ns, k, k);
  EXPECT_EQ(ns->Size(), 3);
  EXPECT_EQ(Get(*ns, "k1"), std::nullopt);
  EXPECT_EQ(Get(*ns, "k2"), std::nullopt);
  EXPECT_EQ(Get(*ns, "k5"), "k5");
  Put(*ns, "k3", "k3 again");  // storing again makes it the newest
  Put(*ns, "k6", "k6");
  EXPECT_EQ(Get(*ns, "k4"), std::nullopt);
  EXPECT_EQ(Get(*ns, "k3"), "k3 again");
  EXPECT_EQ(ns->Size(), 3);
}

TEST_F(MemcachedCacheTest, LimitHoldsUnderConcurrentStores) {
  auto ns = Open(20, -1);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&ns, t] {
      for (int i = 0; i < 40; ++i) {
        Put(*ns, "t" + std::to_string(t) + "-" + std::to_string(i), "v");
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ns->Size(), 20);
}

TEST_F(MemcachedCacheTest, ClearRemovesEverythingAndCounts) {
  auto ns = Open(10, -1);
  auto peer = Open(10, -1);
  for (const char* k : {"a", "b", "c"}) Put(*ns, k, k);
  EXPECT_EQ(ns->Clear(), 3);
  EXPECT_EQ(Get(*ns, "a"), std::nullopt);
  EXPECT_EQ(Get(*peer, "b"), std::nullopt);
  EXPECT_EQ(ns->Size(), 0);
  EXPECT_EQ(ns->Clear(), 0);
  Put(*peer, "a", "after");
  EXPECT_EQ(Get(*ns, "a"), "after");
  EXPECT_EQ(ns->Size(), 1);
}

TEST_F(MemcachedCacheTest, ClearMatchingRemovesOnlyMatchingStrictKeys) {
  auto ns = Open(10, -1, /*strict=*/true);
  Put(*ns, Strict({"a", "1"}), "a1");
  Put(*ns, Strict({"a", "2"}), "a2");
  Put(*ns, Strict({"b", "1"}), "b1");
  Put(*ns, Strict({"a.*", "1"}), "regex-looking");
  // Values match byte for byte, never as patterns.
  EXPECT_EQ(ns->ClearMatching(KeyPattern{{"a", std::nullopt}}), 2);
  EXPECT_EQ(Get(*ns, Strict({"a", "1"})), std::nullopt);
  EXPECT_EQ(Get(*ns, Strict({"a", "2"})), std::nullopt);
  EXPECT_EQ(Get(*ns, Strict({"b", "1"})), "b1");
  EXPECT_EQ(Get(*ns, Strict({"a.*", "1"})), "regex-looking");
  EXPECT_EQ(ns->ClearMatching(KeyPattern{{std::nullopt, "1"}}), 2);
  EXPECT_EQ(ns->Size(), 0);
  EXPECT_EQ(ns->ClearMatching(KeyPattern{{std::nullopt, std::nullopt}}), 0);
}

// A store fenced by a lookup is refused once a clear (full, partial, or a
// flush) came in between, here or through another backend object (another
// process); without a fence (a put) it is unconditional.
TEST_F(MemcachedCacheTest, ClearsFenceStoresThatLookedUpBefore) {
  auto ns = Open(10, -1, /*strict=*/true);
  MemcachedCache elsewhere(server_->address());
  auto other = Open(10, -1, /*strict=*/true, "", &elsewhere);
  auto fence_of = [&](const std::string& key) {
    Fence fence;
    ns->Lookup(
        key, [](void*, const ValueView&) {}, nullptr, &fence);
    return fence;
  };
  auto store = [&](const std::string& key, const std::string& bytes,
                   const Fence* fence) {
    StoredValue value;
    value.bytes = bytes;
    return ns->Store(key, std::move(value), fence);
  };
  const std::string k1 = Strict({"1"});
  const std::string k2 = Strict({"2"});
  // A full clear elsewhere (a fresh namespace: even before any version).
  Fence before = fence_of(k1);
  other->Clear();
  EXPECT_FALSE(store(k1, "stale", &before));
  EXPECT_EQ(Get(*ns, k1), std::nullopt);
  Fence after = fence_of(k1);
  EXPECT_TRUE(store(k1, "fresh", &after));
  EXPECT_EQ(Get(*ns, k1), "fresh");
  // A partial clear elsewhere, matching the key.
  before = fence_of(k2);
  EXPECT_EQ(other->ClearMatching(KeyPattern{{Strict({"2"}).substr(1)}}), 0);
  EXPECT_FALSE(store(k2, "stale", &before));
  EXPECT_EQ(Get(*ns, k2), std::nullopt);
  // A flush.
  before = fence_of(k2);
  elsewhere.Flush(host_, "test:");
  EXPECT_FALSE(store(k2, "stale", &before));
  EXPECT_EQ(Get(*ns, k2), std::nullopt);
  // A put is unconditional.
  EXPECT_TRUE(store(k2, "put", nullptr));
  EXPECT_EQ(Get(*ns, k2), "put");
}

TEST_F(MemcachedCacheTest, EntriesExpireWithMemcachedsTtl) {
  auto ns = Open(10, /*expire=*/1);
  Put(*ns, "k", "v");
  EXPECT_EQ(Get(*ns, "k"), "v");
  // Memcached counts whole seconds: a 1 s TTL ends within about 2 s.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(4);
  while (Get(*ns, "k").has_value() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(Get(*ns, "k"), std::nullopt);
  EXPECT_EQ(ns->Size(), 0);
}

TEST_F(MemcachedCacheTest, FlushAndNamespacesWorkPerPrefix) {
  auto one = Open(10, -1, false, ".one");
  auto two = Open(10, -1, false, ".two");
  auto empty = Open(10, -1, false, ".empty");
  Put(*one, "a", "1");
  Put(*one, "b", "1");
  Put(*two, "a", "2");
  Put(*empty, "a", "gone");
  empty->Clear();
  auto elsewhere = std::unique_ptr<CacheNamespace>(
      backend_.Open(NamespaceSpec{"flush-other:", "f", 10, -1, false}, host_));
  Put(*elsewhere, "a", "kept");

  EXPECT_THAT(backend_.Namespaces(host_, "test:"),
              ::testing::IsSupersetOf({"FlushAndNamespacesWorkPerPrefix.one",
                                       "FlushAndNamespacesWorkPerPrefix.two"}));
  EXPECT_FALSE(backend_.Namespaces(host_, "test:")
                   .contains("FlushAndNamespacesWorkPerPrefix.empty"));
  EXPECT_THAT(backend_.Namespaces(host_, "flush-other:"),
              UnorderedElementsAre("f"));

  EXPECT_GE(backend_.Flush(host_, "test:"), 3);
  EXPECT_EQ(Get(*one, "a"), std::nullopt);
  EXPECT_EQ(Get(*two, "a"), std::nullopt);
  EXPECT_TRUE(backend_.Namespaces(host_, "test:").empty());
  EXPECT_EQ(Get(*elsewhere, "a"), "kept");
  EXPECT_EQ(backend_.Flush(host_, "flush-other:"), 1);
}

TEST_F(MemcachedCacheTest, UnreachableServerThrowsNamingIt) {
  auto server = cache_alchemy::testing::MemcachedServer::Start();
  MemcachedCache backend(server->address());
  auto ns = Open(10, -1, false, "", &backend);
  Put(*ns, "k", "v");
  server->Stop();
  // Opening needs no server; every operation reports it.
  auto late = Open(10, -1, false, ".late", &backend);
  EXPECT_THROW(
      {
        try {
          Get(*ns, "k");
        } catch (const std::runtime_error& e) {
          EXPECT_THAT(e.what(), HasSubstr(server->address()));
          throw;
        }
      },
      std::runtime_error);
  EXPECT_THROW(Put(*late, "k", "v"), std::runtime_error);
  EXPECT_THROW(ns->Clear(), std::runtime_error);
  EXPECT_THROW(ns->ClearMatching(KeyPattern{{std::nullopt}}),
               std::runtime_error);
  EXPECT_THROW(ns->Size(), std::runtime_error);
  EXPECT_THROW(backend.Flush(host_, "test:"), std::runtime_error);
}

// Invalidate (plugin ABI v5): one entry goes, in every process; a store of
// that key whose lookup came before (here or through another backend
// object, as in another process) is refused, whether it raced the index
// update or not.
TEST_F(MemcachedCacheTest, InvalidateRemovesOneEntryAndFences) {
  auto ns = Open(10, -1);
  MemcachedCache elsewhere(server_->address());
  auto other = Open(10, -1, /*strict=*/false, "", &elsewhere);
  Put(*ns, "a", "1");
  Put(*ns, "b", "2");
  EXPECT_EQ(other->Invalidate("a"), 1);
  EXPECT_EQ(other->Invalidate("a"), 0);
  EXPECT_EQ(Get(*ns, "a"), std::nullopt);
  EXPECT_EQ(Get(*ns, "b"), "2");
  EXPECT_EQ(ns->Size(), 1);

  Fence before;
  ns->Lookup(
      "c", [](void*, const ValueView&) {}, nullptr, &before);
  EXPECT_EQ(other->Invalidate("c"), 0);
  StoredValue stale;
  stale.bytes = "stale";
  EXPECT_FALSE(ns->Store("c", std::move(stale), &before));
  EXPECT_EQ(Get(*ns, "c"), std::nullopt);
  Fence after;
  ns->Lookup(
      "c", [](void*, const ValueView&) {}, nullptr, &after);
  StoredValue fresh;
  fresh.bytes = "fresh";
  EXPECT_TRUE(ns->Store("c", std::move(fresh), &after));
  EXPECT_EQ(Get(*ns, "c"), "fresh");
}

// StoredValue::ttl_ms: whole seconds, rounded up, never beyond the
// function's expire.
TEST_F(MemcachedCacheTest, AnEntryLivesItsOwnTtl) {
  auto ns = Open(10, 100);
  StoredValue brief;
  brief.bytes = "brief";
  brief.ttl_ms = 1;  // 1 s
  ns->Store("brief", std::move(brief), nullptr);
  Put(*ns, "plain", "plain");
  EXPECT_EQ(Get(*ns, "brief"), "brief");
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  EXPECT_EQ(Get(*ns, "brief"), std::nullopt);
  EXPECT_EQ(Get(*ns, "plain"), "plain");
}

}  // namespace
}  // namespace memcached
}  // namespace cache_alchemy
