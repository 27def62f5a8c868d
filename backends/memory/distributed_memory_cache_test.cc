// ca::memory_cache over DistributedMemoryCache (the config's default memory
// backend) against a private redis-server. Cross-process behaviour is in
// //backends/redis_common:distributed_cache_test.

#include <memory>
#include <string>

#include "cache_alchemy/cache_alchemy.h"
#include "gtest/gtest.h"
#include "testing/redis_server.h"

namespace ca = cache_alchemy;

namespace {

using ::cache_alchemy::testing::SharedRedisServer;

// Not serializable: fine for an in-process backend.
struct Handle {
  std::shared_ptr<int> resource;
};

class DistributedMemoryCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_ = ca::RedisClient::FromUrl(SharedRedisServer()->url());
    redis_->Command({"FLUSHALL"});
    config_.cache_redis_client = redis_;
  }
  std::shared_ptr<ca::RedisClient> redis_;
  ca::config::DefaultConfig config_;
};

TEST_F(DistributedMemoryCacheTest, KeepsTheObjectAndATimestampInRedis) {
  int calls = 0;
  auto open = ca::memory_cache({.name = "open"}, [&calls](int n) {
    ++calls;
    return Handle{std::make_shared<int>(n)};
  });
  Handle first = open(5);
  Handle again = open(5);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(first.resource, again.resource);  // the same object, not a copy
  auto keys = redis_->Command({"KEYS", "DistributedMemoryCache:open@*}:*"});
  ASSERT_EQ(keys.elements.size(), 1u);
  const std::string stamp = redis_->Command({"GET", keys.elements[0].str}).str;
  EXPECT_NE(stamp.find('.'), std::string::npos) << stamp;  // "sec.usec"
}

constexpr char kBackend[] =
    "cache_alchemy.backends.memory.DistributedMemoryCache";

TEST_F(DistributedMemoryCacheTest, LocalHitCostsNoRoundTripMissOne) {
  auto f = ca::memory_cache({.name = "rt"}, [](int n) { return n; });
  f(0);  // loads the store script
  // Wrapping waited for the subscription (the first function of a client).
  EXPECT_GE(ca::backend_stats(kBackend)["live_channels"], 1);
  const int64_t local_hits = ca::backend_stats(kBackend)["local_hits"];
  const int64_t start = redis_->round_trips();
  f(1);  // local miss: no lookup in Redis, one store
  EXPECT_EQ(redis_->round_trips() - start, 1);
  for (int i = 0; i < 100; ++i) f(1);  // hits: local memory only
  EXPECT_EQ(redis_->round_trips() - start, 1);
  EXPECT_EQ(f.hits(), 100);
  EXPECT_EQ(ca::backend_stats(kBackend)["local_hits"] - local_hits, 100);
}

TEST_F(DistributedMemoryCacheTest, PartialClearDropsExactlyTheMatches) {
  int calls = 0;
  auto f = ca::memory_cache({.strict = true, .name = "partial"},
                            [&calls](int a, std::string b) {
                              ++calls;
                              return b + std::to_string(a);
                            });
  f(1, "x");
  f(2, "x");
  f(1, "y");
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(f.cache_clear(1, ca::any), 2);
  f(2, "x");  // survived
  EXPECT_EQ(calls, 3);
  f(1, "x");
  f(1, "y");
  EXPECT_EQ(calls, 5);
}

TEST_F(DistributedMemoryCacheTest, StatsNameEveryCounter) {
  auto f = ca::memory_cache({.name = "stats"}, [](int n) { return n; });
  f(1);
  std::map<std::string, int64_t> stats = ca::backend_stats(kBackend);
  for (const char* name :
       {"local_hits", "verified_hits", "invalidations_received",
        "subscriptions", "resubscriptions", "disconnects", "refused_stores",
        "live_channels"}) {
    EXPECT_EQ(stats.count(name), 1u) << name;
  }
  // MemoryCache counts only its evictions.
  std::map<std::string, int64_t> memory =
      ca::backend_stats("cache_alchemy.backends.memory.MemoryCache");
  EXPECT_EQ(memory.size(), 1u);
  EXPECT_EQ(memory.count("evictions"), 1u);
}

TEST_F(DistributedMemoryCacheTest, FlushClearsRedisAndThisProcess) {
  int calls = 0;
  auto f = ca::memory_cache({.name = "flushed"},
                            [&calls](int n) { return ++calls, n; });
  f(1);
  f(2);
  const char* backend = "cache_alchemy.backends.memory.DistributedMemoryCache";
  EXPECT_EQ(ca::get_all_namespace(backend).count("flushed"), 1u);
  EXPECT_EQ(ca::flush_cache(backend), 2);
  f(1);
  EXPECT_EQ(calls, 3);
}

}  // namespace
