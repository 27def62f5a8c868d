// DistributedJsonCache and DistributedPickleCache at the plugin ABI level,
// loaded by dotted name, against a private redis-server.

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/redis_client.h"
#include "core/registry.h"
#include "core/strict_key.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/redis_server.h"

namespace cache_alchemy {
namespace {

using ::cache_alchemy::testing::SharedRedisServer;
using ::testing::UnorderedElementsAre;

struct Param {
  std::string dotted;
  std::string module;
  std::string class_name;
  ValueFormat format;
};

// A strict key in the text format these backends ask for.
std::string Strict(std::vector<std::string> segments) {
  std::string key;
  for (const auto& s : segments) {
    AppendStrictSegment(s, &key, KeyFormat::kText);
  }
  return key;
}

class SerializedBackendTest : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override {
    client_ = RedisClient::FromUrl(SharedRedisServer()->url());
    client_->Command({"FLUSHALL"});
    backend_ = BackendRegistry::Global().Get(GetParam().dotted, {});
    host_.clock = &clock_;
    host_.redis = client_;
  }

  std::unique_ptr<CacheNamespace> Open(const std::string& name,
                                       int64_t limit = -1, int64_t expire = -1,
                                       const std::string& prefix = "",
                                       bool strict = false) {
    return std::unique_ptr<CacheNamespace>(
        backend_->Open({prefix, name, limit, expire, strict}, host_));
  }

  static std::optional<std::string> Get(CacheNamespace& ns,
                                        const std::string& key) {
    std::optional<std::string> out;
    bool found = ns.Lookup(
        key,
        [](void* ctx, const ValueView& v) {
          *static_cast<std::optional<std::string>*>(ctx) = std::string(v.bytes);
        },
        &out, nullptr);
    EXPECT_EQ(found, out.has_value());
    return out;
  }

  static StoredValue Bytes(std::string b) {
    StoredValue v;
    v.bytes = std::move(b);
    return v;
  }

  // The layout of docs/redis.md, found in Redis: the function's bucket
  // ("P C:name:{tag}"), known from its index key once something was stored.
  std::string Bucket(const std::string& name, const std::string& prefix = "") {
    RedisReply keys = client_->Command(
        {"KEYS", prefix + GetParam().class_name + ":" + name + ":{*}#i"});
    EXPECT_EQ(keys.elements.size(), 1u) << "buckets of " << name;
    if (keys.elements.size() != 1) return "";
    const std::string& index = keys.elements[0].str;
    return index.substr(0, index.size() - 2);
  }
  std::string ValueKey(const std::string& name, const std::string& key,
                       const std::string& prefix = "") {
    return Bucket(name, prefix) + ":" + key;
  }
  std::string KeysSet(const std::string& name, const std::string& prefix = "") {
    return Bucket(name, prefix) + "#i";
  }

  CoarseMonotonicClock clock_;
  HostContext host_;
  std::shared_ptr<RedisClient> client_;
  std::shared_ptr<Backend> backend_;
};

TEST_P(SerializedBackendTest, DeclaresFormatRedisStableNamesAndTextKeys) {
  EXPECT_EQ(backend_->format(), GetParam().format);
  EXPECT_EQ(backend_->requirements(),
            Backend::kRequiresRedis | Backend::kRequiresStableName);
  EXPECT_EQ(backend_->key_format(), KeyFormat::kText);
}

TEST_P(SerializedBackendTest, MissThenHitWithTheDocumentedLayout) {
  auto ns = Open("mod:f");
  const std::string key("k\0\x01", 3);
  EXPECT_FALSE(Get(*ns, key).has_value());
  const std::string bytes("\0binary\xff", 8);
  ns->Store(key, Bytes(bytes), nullptr);
  EXPECT_EQ(Get(*ns, key), bytes);
  const std::string bucket = Bucket("mod:f");
  // "C:name:{tag}", the tag a short [0-9a-z] hash tag.
  EXPECT_THAT(bucket, ::testing::MatchesRegex(GetParam().class_name +
                                              ":mod:f:\\{[0-9a-z]{1,4}\\}"));
  EXPECT_EQ(client_->Command({"GET", bucket + ":" + key}).str, bytes);
  EXPECT_EQ(client_->Command({"ZSCORE", bucket + "#i", key}).type,
            RedisReply::Type::kString);
  EXPECT_EQ(client_
                ->Command({"SISMEMBER", GetParam().class_name + ":functions",
                           "mod:f"})
                .integer,
            1);
  EXPECT_EQ(ns->Size(), 1);
}

TEST_P(SerializedBackendTest, HitIsOneRoundTripAndStoreIsOne) {
  auto ns = Open("rt", 10, 60);
  // Loads the script once per process and registers the function.
  ns->Store("warm", Bytes("x"), nullptr);
  const int64_t before = client_->round_trips();
  ns->Store("k", Bytes("v"), nullptr);
  EXPECT_EQ(client_->round_trips() - before, 1);
  EXPECT_TRUE(Get(*ns, "k").has_value());
  EXPECT_EQ(client_->round_trips() - before, 2);
  EXPECT_FALSE(Get(*ns, "absent").has_value());
  EXPECT_EQ(client_->round_trips() - before, 3);
}

TEST_P(SerializedBackendTest, ScriptsSurviveScriptFlush) {
  auto ns = Open("noscript");
  ns->Store("a", Bytes("1"), nullptr);
  client_->Command({"SCRIPT", "FLUSH"});  // as after a server restart
  ns->Store("b", Bytes("2"), nullptr);
  EXPECT_EQ(Get(*ns, "b"), "2");
  EXPECT_EQ(ns->Size(), 2);
}

TEST_P(SerializedBackendTest, LimitOneKeepsTheNewest) {
  auto ns = Open("limited", 1);
  ns->Store("a", Bytes("1"), nullptr);
  ns->Store("b", Bytes("2"), nullptr);
  EXPECT_FALSE(Get(*ns, "a").has_value());
  EXPECT_EQ(Get(*ns, "b"), "2");
  EXPECT_EQ(client_->Command({"EXISTS", ValueKey("limited", "a")}).integer, 0);
  EXPECT_EQ(client_->Command({"ZCARD", KeysSet("limited")}).integer, 1);
  EXPECT_EQ(ns->Size(), 1);
}

TEST_P(SerializedBackendTest, ExpireSetsTtlAndNeverMeansNone) {
  auto expiring = Open("expiring", -1, 30);
  expiring->Store("k", Bytes("v"), nullptr);
  int64_t pttl = client_->Command({"PTTL", ValueKey("expiring", "k")}).integer;
  EXPECT_GT(pttl, 29000);
  EXPECT_LE(pttl, 30000);
  auto forever = Open("forever", -1, -1);
  forever->Store("k", Bytes("v"), nullptr);
  EXPECT_EQ(client_->Command({"PTTL", ValueKey("forever", "k")}).integer, -1);
}

TEST_P(SerializedBackendTest, ExpiredEntriesDoNotCountAgainstLimit) {
  auto ns = Open("pruned", 2, 30);
  ns->Store("old", Bytes("1"), nullptr);
  ns->Store("young", Bytes("2"), nullptr);
  // Make "old" look stored 60 s ago (its value key gone, as after its TTL).
  client_->Command({"DEL", ValueKey("pruned", "old")});
  client_->Command({"ZADD", KeysSet("pruned"), "1", "old"});
  ns->Store("new", Bytes("3"), nullptr);
  // "old" was pruned by time, so "young" was not evicted to make room.
  EXPECT_EQ(Get(*ns, "young"), "2");
  EXPECT_EQ(Get(*ns, "new"), "3");
  EXPECT_EQ(client_->Command({"ZCARD", KeysSet("pruned")}).integer, 2);
  // A member whose value vanished otherwise is dropped by Size().
  client_->Command({"DEL", ValueKey("pruned", "young")});
  EXPECT_EQ(ns->Size(), 1);
  EXPECT_EQ(client_->Command({"ZCARD", KeysSet("pruned")}).integer, 1);
}

TEST_P(SerializedBackendTest, ClearAndPartialClear) {
  auto ns = Open("strict", -1, -1, "", /*strict=*/true);
  ns->Store(Strict({"1", "x"}), Bytes("a"), nullptr);
  ns->Store(Strict({"1", "y"}), Bytes("b"), nullptr);
  ns->Store(Strict({"2", "x"}), Bytes("c"), nullptr);
  ns->Store(Strict({"x.*", "x"}), Bytes("d"), nullptr);
  KeyPattern first_is_1{{std::string("1"), std::nullopt}};
  EXPECT_EQ(ns->ClearMatching(first_is_1), 2);
  EXPECT_FALSE(Get(*ns, Strict({"1", "x"})).has_value());
  EXPECT_TRUE(Get(*ns, Strict({"2", "x"})).has_value());
  // A pattern is compared byte for byte, never as a regular expression.
  KeyPattern regexy{{std::string("x.*"), std::nullopt}};
  EXPECT_EQ(ns->ClearMatching(regexy), 1);
  EXPECT_TRUE(Get(*ns, Strict({"2", "x"})).has_value());
  EXPECT_EQ(ns->Clear(), 1);
  EXPECT_EQ(ns->Size(), 0);
  EXPECT_EQ(client_->Command({"KEYS", "*strict:{*}#i"}).elements.size(), 0u);
}

// A fenced store (the fence from a lookup) is refused once a clear of the
// function came in between; a later lookup's fence stores again.
TEST_P(SerializedBackendTest, ClearsFenceStoresThatLookedUpBefore) {
  auto ns = Open("fenced", -1, -1, "", /*strict=*/true);
  auto fence_of = [&](const std::string& key) {
    Fence fence;
    ns->Lookup(
        key, [](void*, const ValueView&) {}, nullptr, &fence);
    return fence;
  };
  const std::string k1 = Strict({"1"});
  const std::string k2 = Strict({"2"});
  Fence before = fence_of(k1);
  EXPECT_EQ(ns->Clear(), 0);
  EXPECT_FALSE(ns->Store(k1, Bytes("stale"), &before));
  EXPECT_FALSE(Get(*ns, k1).has_value());
  Fence after = fence_of(k1);
  EXPECT_TRUE(ns->Store(k1, Bytes("fresh"), &after));
  EXPECT_EQ(Get(*ns, k1), "fresh");
  // A partial clear fences too, even for keys it did not match.
  before = fence_of(k2);
  EXPECT_EQ(ns->ClearMatching(KeyPattern{{std::string("1")}}), 1);
  EXPECT_FALSE(ns->Store(k2, Bytes("stale"), &before));
  // So does a flush.
  before = fence_of(k2);
  backend_->Flush(host_, "");
  EXPECT_FALSE(ns->Store(k2, Bytes("stale"), &before));
  // Without a fence (a put), a store is unconditional.
  EXPECT_TRUE(ns->Store(k2, Bytes("put"), nullptr));
  EXPECT_EQ(Get(*ns, k2), "put");
}

TEST_P(SerializedBackendTest, FlushAndNamespacesPerPrefix) {
  auto a = Open("fa", -1, -1, "tenant1:");
  auto b = Open("fb", -1, -1, "tenant1:");
  auto c = Open("fa", -1, -1, "tenant2:");
  a->Store("k1", Bytes("1"), nullptr);
  a->Store("k2", Bytes("2"), nullptr);
  b->Store("k", Bytes("3"), nullptr);
  c->Store("k", Bytes("4"), nullptr);
  EXPECT_THAT(backend_->Namespaces(host_, "tenant1:"),
              UnorderedElementsAre("fa", "fb"));
  EXPECT_THAT(backend_->Namespaces(host_, "tenant2:"),
              UnorderedElementsAre("fa"));
  EXPECT_EQ(backend_->Flush(host_, "tenant1:"), 3);
  EXPECT_TRUE(backend_->Namespaces(host_, "tenant1:").empty());
  EXPECT_FALSE(Get(*a, "k1").has_value());
  EXPECT_EQ(Get(*c, "k"), "4");
}

TEST_P(SerializedBackendTest, NonStringValueUnderOurKeyIsAMiss) {
  auto ns = Open("wrongtype");
  ns->Store("other", Bytes("v"), nullptr);  // makes the bucket known
  client_->Command({"RPUSH", ValueKey("wrongtype", "k"), "x"});
  EXPECT_FALSE(Get(*ns, "k").has_value());
}

TEST_P(SerializedBackendTest, DownServerThrowsRuntimeError) {
  testing::RedisServer server;
  host_.redis = RedisClient::FromUrl(server.url());
  auto ns = Open("down");
  ns->Store("k", Bytes("v"), nullptr);
  server.Stop();
  EXPECT_THROW(Get(*ns, "k"), std::runtime_error);
  EXPECT_THROW(ns->Store("k", Bytes("v"), nullptr), std::runtime_error);
}

// Invalidate (plugin ABI v5): one entry and its index member go, in one
// script on the bucket's slot, and the bucket's generation moves, so a store
// of any process whose lookup came before is refused.
TEST_P(SerializedBackendTest, InvalidateRemovesOneEntryAndFences) {
  auto ns = Open("mod:inv");
  auto other = Open("mod:inv");  // as another process would
  ns->Store("a", Bytes("1"), nullptr);
  ns->Store("b", Bytes("2"), nullptr);
  EXPECT_EQ(other->Invalidate("a"), 1);
  EXPECT_EQ(other->Invalidate("a"), 0);
  EXPECT_EQ(Get(*ns, "a"), std::nullopt);
  EXPECT_EQ(Get(*ns, "b"), "2");
  EXPECT_EQ(client_->Command({"ZCARD", KeysSet("mod:inv")}).integer, 1);

  Fence before;
  ns->Lookup(
      "c", [](void*, const ValueView&) {}, nullptr, &before);
  EXPECT_EQ(other->Invalidate("c"), 0);
  EXPECT_FALSE(ns->Store("c", Bytes("stale"), &before));
  EXPECT_EQ(Get(*ns, "c"), std::nullopt);
  Fence after;
  ns->Lookup(
      "c", [](void*, const ValueView&) {}, nullptr, &after);
  EXPECT_TRUE(ns->Store("c", Bytes("fresh"), &after));
  EXPECT_EQ(Get(*ns, "c"), "fresh");
}

// StoredValue::ttl_ms: the entry's PX, capped at the function's expire. A
// short-lived entry must not trim the index members of longer-lived ones
// (the store script trims members older than the function's expire, not
// the entry's): a clear would otherwise miss their values.
TEST_P(SerializedBackendTest, AnEntryTtlIsItsOwnAndNeverHidesOthersFromAClear) {
  auto ns = Open("mod:ttl", -1, /*expire=*/60);
  ns->Store("long", Bytes("1"), nullptr);
  StoredValue brief = Bytes("2");
  brief.ttl_ms = 1;
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ns->Store("brief", std::move(brief), nullptr);
  StoredValue capped = Bytes("3");
  capped.ttl_ms = 3'600'000;
  ns->Store("capped", std::move(capped), nullptr);
  const int64_t long_ttl =
      client_->Command({"PTTL", ValueKey("mod:ttl", "long")}).integer;
  EXPECT_GT(long_ttl, 50'000);
  EXPECT_LE(long_ttl, 60'000);
  EXPECT_LE(client_->Command({"PTTL", ValueKey("mod:ttl", "capped")}).integer,
            60'000);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(ns->Clear(), 2);  // "long" and "capped"; "brief" expired
  EXPECT_EQ(Get(*ns, "long"), std::nullopt);
}

const Param kBackends[] = {
    {"cache_alchemy.backends.json.DistributedJsonCache",
     "cache_alchemy.backends.json", "DistributedJsonCache", ValueFormat::kJson},
    {"cache_alchemy.backends.pickle.DistributedPickleCache",
     "cache_alchemy.backends.pickle", "DistributedPickleCache",
     ValueFormat::kBinary}};

// With `deferred_stores=1` a fenced store is sent without waiting: the
// miss costs the lookup's round trip only, and the fence holds on the
// server (a store whose lookup came before a clear is refused there).
class DeferredStoresTest : public SerializedBackendTest {
 protected:
  void SetUp() override {
    SerializedBackendTest::SetUp();
    deferred_ =
        RedisClient::FromUrl(SharedRedisServer()->url() + "?deferred_stores=1");
    host_.redis = deferred_;
  }
  Fence FenceOf(CacheNamespace& ns, const std::string& key) {
    Fence fence;
    ns.Lookup(
        key, [](void*, const ValueView&) {}, nullptr, &fence);
    return fence;
  }
  std::shared_ptr<RedisClient> deferred_;
};

TEST_P(DeferredStoresTest, AStoreCostsNoRoundTripAndStaysFenced) {
  auto ns = Open("deferred", -1, -1, "", /*strict=*/true);
  const std::string k = Strict({"1"});
  Fence fence = FenceOf(*ns, k);  // registers the function, loads scripts
  const int64_t trips = deferred_->round_trips();
  EXPECT_TRUE(ns->Store(k, Bytes("v1"), &fence));
  EXPECT_EQ(deferred_->round_trips(), trips);
  EXPECT_EQ(Get(*ns, k), "v1");
  // A clear between the lookup and the store: Store can only say "sent",
  // the server refuses the value.
  Fence before = FenceOf(*ns, k);
  EXPECT_EQ(ns->Clear(), 1);
  EXPECT_TRUE(ns->Store(k, Bytes("stale"), &before));
  EXPECT_FALSE(Get(*ns, k).has_value());
  before = FenceOf(*ns, k);
  EXPECT_EQ(ns->ClearMatching(KeyPattern{{std::string("1")}}), 0);
  EXPECT_TRUE(ns->Store(k, Bytes("stale"), &before));
  EXPECT_FALSE(Get(*ns, k).has_value());
  // A store whose caller needs the answer (put) waits for it.
  StoredValue confirmed = Bytes("stale");
  confirmed.confirm = true;
  EXPECT_FALSE(ns->Store(k, confirmed, &before));
  Fence after = FenceOf(*ns, k);
  confirmed.bytes = "fresh";
  EXPECT_TRUE(ns->Store(k, confirmed, &after));
  EXPECT_EQ(Get(*ns, k), "fresh");
  EXPECT_EQ(deferred_->deferred_errors(), 0);
}

TEST_P(DeferredStoresTest, AFlushedScriptCacheCostsOneStore) {
  auto ns = Open("noscript");
  Fence fence = FenceOf(*ns, "a");
  EXPECT_TRUE(ns->Store("a", Bytes("1"), &fence));
  client_->Command({"SCRIPT", "FLUSH"});  // as a restart that kept the data
  fence = FenceOf(*ns, "b");
  EXPECT_TRUE(ns->Store("b", Bytes("2"), &fence));  // NOSCRIPT: lost
  EXPECT_FALSE(Get(*ns, "b").has_value());
  EXPECT_EQ(deferred_->deferred_errors(), 1);
  // The next store waits for its reply (and loads the script again).
  fence = FenceOf(*ns, "b");
  int64_t trips = deferred_->round_trips();
  EXPECT_TRUE(ns->Store("b", Bytes("2"), &fence));
  EXPECT_GT(deferred_->round_trips(), trips);
  EXPECT_EQ(Get(*ns, "b"), "2");
  // Then stores go without waiting again.
  fence = FenceOf(*ns, "c");
  trips = deferred_->round_trips();
  EXPECT_TRUE(ns->Store("c", Bytes("3"), &fence));
  EXPECT_EQ(deferred_->round_trips(), trips);
  EXPECT_EQ(Get(*ns, "c"), "3");
}

TEST_P(DeferredStoresTest, AServerThatLostItsDataSeesTheFunctionAgain) {
  auto ns = Open("lost");
  Fence fence = FenceOf(*ns, "a");
  // The server loses its data (a restart without persistence) between the
  // lookup and the store: the store is refused and must not leave the
  // bucket with a generation while the function is missing from the
  // backend's set (a flush elsewhere would not find its values).
  client_->Command({"FLUSHALL"});
  EXPECT_TRUE(ns->Store("a", Bytes("lost"), &fence));
  bool stored = false;
  for (int attempt = 0; attempt < 4 && !stored; ++attempt) {
    fence = FenceOf(*ns, "a");
    ns->Store("a", Bytes("1"), &fence);
    stored = Get(*ns, "a") == "1";
  }
  ASSERT_TRUE(stored);
  EXPECT_THAT(backend_->Namespaces(host_, ""), UnorderedElementsAre("lost"));
  EXPECT_EQ(backend_->Flush(host_, ""), 1);
  EXPECT_FALSE(Get(*ns, "a").has_value());
}

INSTANTIATE_TEST_SUITE_P(Backends, DeferredStoresTest,
                         ::testing::ValuesIn(kBackends), [](const auto& info) {
                           return info.param.class_name;
                         });

INSTANTIATE_TEST_SUITE_P(Backends, SerializedBackendTest,
                         ::testing::ValuesIn(kBackends), [](const auto& info) {
                           return info.param.class_name;
                         });

}  // namespace
}  // namespace cache_alchemy
