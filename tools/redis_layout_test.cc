#include "tools/redis_layout.h"

#include "cache_alchemy/cache_alchemy.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/redis_admin.h"
#include "testing/redis_cluster.h"
#include "testing/redis_server.h"

namespace cache_alchemy {
namespace tools {
namespace {

using ::testing::UnorderedElementsAre;

TEST(RedisLayoutTest, PatternEscapesGlobCharacters) {
  EXPECT_EQ(ValueKeyPattern("t*:", "DistributedJsonCache", "f[1]?"),
            "t\\*:DistributedJsonCache:f\\[1\\]\\?@*}:*");
  EXPECT_EQ(ValueKeyPattern("", "C", ""), "C:*}:*");
}

TEST(RedisLayoutTest, TakesAValueKeyApart) {
  auto key = ParseValueKey(
      "t1:DistributedJsonCache:app.price@232e543c:{5q}:\"ab-1\",2",
      "t1:", "DistributedJsonCache", "app.price");
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(key->id, "app.price@232e543c");
  EXPECT_EQ(key->bucket, "5q");
  EXPECT_EQ(key->key, "\"ab-1\",2");
  // Any function when the name is empty; a name holding '@' and "}:".
  key = ParseValueKey("C:a@b}:c@0000000f:{0}:1", "", "C", "");
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(key->id, "a@b}:c@0000000f");
  EXPECT_EQ(key->key, "1");
}

TEST(RedisLayoutTest, RefusesOtherKeys) {
  // Index and generation keys, another function, another prefix or class.
  EXPECT_FALSE(ParseValueKey("C:f@0000000f:{0}#i", "", "C", "f"));
  EXPECT_FALSE(ParseValueKey("C:f@0000000f:{0}#g", "", "C", ""));
  EXPECT_FALSE(ParseValueKey("C:fg@0000000f:{0}:1", "", "C", "f"));
  EXPECT_FALSE(ParseValueKey("C:f@b@0000000f:{0}:1", "", "C", "f"));
  EXPECT_FALSE(ParseValueKey("t:C:f@0000000f:{0}:1", "", "C", "f"));
  EXPECT_FALSE(ParseValueKey("D:f@0000000f:{0}:1", "", "C", "f"));
  EXPECT_FALSE(ParseValueKey("C:f@0000000g:{0}:1", "", "C", "f"));
}

TEST(RedisLayoutTest, ScanFindsEveryMatchingKeyAndOnlyThose) {
  ::cache_alchemy::testing::RedisServer server;
  auto redis = RedisClient::FromUrl(server.url());
  for (int i = 0; i < 2500; ++i) {
    redis->Command({"SET", "C:f@0000000f:{0}:" + std::to_string(i), "v"});
  }
  redis->Command({"SET", "C:f*x@0000000f:{0}:1", "v"});
  redis->Command({"SET", "C:fx@0000000f:{0}:1", "v"});
  EXPECT_EQ(ScanKeys(*redis, ValueKeyPattern("", "C", "f")).size(), 2500u);
  EXPECT_THAT(ScanKeys(*redis, ValueKeyPattern("", "C", "f*x")),
              UnorderedElementsAre("C:f*x@0000000f:{0}:1"));
}

// SCAN walks one node: on a cluster, `keys` and `stats` saw one master's
// share. Every master's keys are found.
TEST(RedisLayoutTest, ScanFindsTheKeysOfEveryClusterMaster) {
  auto* cluster = ::cache_alchemy::testing::SharedRedisCluster();
  auto redis = RedisClient::FromUrl(cluster->url());
  redis->Command({"FLUSHALL"});
  constexpr int kKeys = 300;
  for (int i = 0; i < kKeys; ++i) {
    // The hash tag spreads the keys over the slots, so over every master.
    redis->Command({"SET", "C:f@0000000f:{" + std::to_string(i) + "}:1", "v"});
  }
  for (int port : cluster->MasterPorts()) {
    EXPECT_GT(::cache_alchemy::testing::AdminCommand(port, {"DBSIZE"}).integer,
              kKeys / 10)
        << "master " << port << " holds almost none of the keys";
  }
  EXPECT_EQ(ScanKeys(*redis, ValueKeyPattern("", "C", "f")).size(),
            static_cast<size_t>(kKeys));
}

}  // namespace
}  // namespace tools
}  // namespace cache_alchemy
