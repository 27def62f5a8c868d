// File: testing/redis_fixture.h
// -----------------------------------------------------------------------------
//
// A GoogleTest fixture for tests of Redis-backed caches: the binary's private
// redis-server (testing/redis_server.h), flushed before each test, and a
// current DefaultConfig whose `cache_redis_client` points at it.
//
//   class JsonCacheTest : public ca::testing::RedisFixture {};
//   TEST_F(JsonCacheTest, Stores) {
//     auto f = ca::json_cache({.name = "f"}, [](int n) { return n; });
//     f(1);
//     EXPECT_FALSE(OnlyValueKey("DistributedJsonCache", "f").empty());
//   }

#ifndef CACHE_ALCHEMY_TESTING_REDIS_FIXTURE_H_
#define CACHE_ALCHEMY_TESTING_REDIS_FIXTURE_H_

#include <memory>
#include <string>

#include "cache_alchemy/cache_alchemy.h"
#include "gtest/gtest.h"
#include "testing/redis_server.h"

namespace cache_alchemy {
namespace testing {

class RedisFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_ = RedisClient::FromUrl(SharedRedisServer()->url());
    redis_->Command({"FLUSHALL"});
    config_.cache_redis_client = redis_;
  }

  // The value key of the only entry function `name` holds in backend class
  // `backend_class` (e.g. "DistributedJsonCache"); a test failure and "" if
  // there is not exactly one. Value keys are "C:name@sig:{tag}:key"
  // (docs/redis.md).
  std::string OnlyValueKey(const std::string& backend_class,
                           const std::string& name) {
    auto keys = redis_->Command({"KEYS", ValueKeyPattern(backend_class, name)});
    EXPECT_EQ(keys.elements.size(), 1u) << "value keys of " << name;
    return keys.elements.size() == 1 ? keys.elements[0].str : "";
  }

  // A KEYS pattern of the value keys of function `name`.
  static std::string ValueKeyPattern(const std::string& backend_class,
                                     const std::string& name) {
    return backend_class + ":" + name + "@*}:*";
  }

  std::shared_ptr<RedisClient> redis_;
  config::DefaultConfig config_;
};

}  // namespace testing
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_TESTING_REDIS_FIXTURE_H_
