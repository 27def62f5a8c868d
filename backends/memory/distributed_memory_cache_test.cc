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
  auto keys = redis_->Command({"KEYS", "DistributedMemoryCache:open:*"});
  ASSERT_EQ(keys.elements.size(), 1u);
  const std::string stamp = redis_->Command({"GET", keys.elements[0].str}).str;
  EXPECT_NE(stamp.find('.'), std::string::npos) << stamp;  // "sec.usec"
}

TEST_F(DistributedMemoryCacheTest, HitCostsOneRoundTripLocalMissNone) {
  auto f = ca::memory_cache({.name = "rt"}, [](int n) { return n; });
  f(0);  // loads the store script
  const int64_t start = redis_->round_trips();
  f(1);  // local miss: no lookup in Redis, one store
  EXPECT_EQ(redis_->round_trips() - start, 1);
  f(1);  // hit: one GET of the timestamp
  EXPECT_EQ(redis_->round_trips() - start, 2);
}

TEST_F(DistributedMemoryCacheTest, DeletedOrChangedTimestampInvalidates) {
  int calls = 0;
  auto f = ca::memory_cache({.name = "stamp"},
                            [&calls](int n) { return ++calls, n; });
  f(1);
  auto keys = redis_->Command({"KEYS", "DistributedMemoryCache:stamp:*"});
  ASSERT_EQ(keys.elements.size(), 1u);
  redis_->Command({"SET", keys.elements[0].str, "another.stamp"});
  f(1);
  EXPECT_EQ(calls, 2);
  // The newer stamp (set elsewhere) was adopted: now a hit.
  f(1);
  EXPECT_EQ(calls, 2);
  redis_->Command({"DEL", keys.elements[0].str});
  f(1);
  EXPECT_EQ(calls, 3);
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
