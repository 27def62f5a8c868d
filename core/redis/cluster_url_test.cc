#include "core/redis/cluster_url.h"

#include <stdexcept>
#include <string>

#include "core/redis_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cache_alchemy {
namespace redis {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ParseClusterUrlTest, SeedsCredentialsAndOptions) {
  ClusterUrl url = ParseClusterUrl(
      "redis-cluster://alice:s%40cret@10.0.0.1:7000,[::1]:7001,node3"
      "?buckets=32&timeout_ms=50&wait_timeout_ms=70&pool_size=2");
  ASSERT_EQ(url.seeds.size(), 3u);
  EXPECT_EQ(url.seeds[0].host, "10.0.0.1");
  EXPECT_EQ(url.seeds[0].port, 7000);
  EXPECT_EQ(url.seeds[1].host, "::1");
  EXPECT_EQ(url.seeds[1].port, 7001);
  EXPECT_EQ(url.seeds[2].host, "node3");
  EXPECT_EQ(url.seeds[2].port, 6379);
  EXPECT_EQ(url.node.user, "alice");
  EXPECT_EQ(url.node.password, "s@cret");
  EXPECT_EQ(url.node.timeout_ms, 50);
  EXPECT_EQ(url.node.wait_timeout_ms, 70);
  EXPECT_EQ(url.node.pool_size, 2);
  EXPECT_TRUE(url.node.durable_writes);
  EXPECT_EQ(url.buckets, 32);
  EXPECT_EQ(url.Describe(),
            "redis-cluster://10.0.0.1:7000,[::1]:7001,node3:6379");
}

TEST(ParseClusterUrlTest, Defaults) {
  ClusterUrl url = ParseClusterUrl("redis-cluster://h:1/");
  EXPECT_EQ(url.buckets, 16);
  EXPECT_EQ(url.node.timeout_ms, 1000);
  EXPECT_EQ(url.node.wait_timeout_ms, 1000);
  EXPECT_TRUE(url.node.password.empty());
}

TEST(ParseSentinelUrlTest, SentinelsMasterDbAndOptions) {
  SentinelUrl url = ParseSentinelUrl(
      "redis-sentinel://:pw@s1:5000,s2/my%2Dcache/3"
      "?sentinel_password=sp&sentinel_user=watcher&connect_timeout_ms=9");
  ASSERT_EQ(url.sentinels.size(), 2u);
  EXPECT_EQ(url.sentinels[0].host, "s1");
  EXPECT_EQ(url.sentinels[0].port, 5000);
  EXPECT_EQ(url.sentinels[1].port, 26379);
  EXPECT_EQ(url.master_name, "my-cache");
  EXPECT_EQ(url.node.db, 3);
  EXPECT_EQ(url.node.password, "pw");
  EXPECT_EQ(url.sentinel_password, "sp");
  EXPECT_EQ(url.sentinel_user, "watcher");
  EXPECT_EQ(url.node.connect_timeout_ms, 9);
  EXPECT_TRUE(url.node.durable_writes);
  EXPECT_EQ(ParseSentinelUrl("redis-sentinel://s1/m").node.db, 0);
}

TEST(ClusterUrlTest, MalformedUrlsNameTheProblemWithoutThePassword) {
  struct Case {
    const char* url;
    const char* says;
  } cases[] = {
      {"redis-cluster://", "host list is empty"},
      {"redis-cluster://:hunter2@", "host list is empty"},
      {"redis-cluster://:hunter2@a:1,,b:2", "empty entry"},
      {"redis-cluster://:hunter2@a:x", "port 'x'"},
      {"redis-cluster://:hunter2@a:70000", "port '70000'"},
      {"redis-cluster://:hunter2@a:", "empty port"},
      {"redis-cluster://:hunter2@[::1", "'[' without ']'"},
      {"redis-cluster://:hunter2@a:1/2", "no path"},
      {"redis-cluster://hunter2@a:1", "':' before the password"},
      {"redis-cluster://:hunter2@a:1?buckets=0", "buckets '0'"},
      {"redis-cluster://:hunter2@a:1?buckets=x", "buckets 'x'"},
      {"redis-cluster://:hunter2@a:1?colour=red", "unknown option 'colour'"},
      {"redis-cluster://:hun%zzter2@a:1", "two hex digits"},
      {"redis-cluster://a:1?password=hunter2&db=2", "unknown option 'db'"},
      {"redis-sentinel://:hunter2@s1", "master name is missing"},
      {"redis-sentinel://:hunter2@s1/", "master name is empty"},
      {"redis-sentinel://:hunter2@s1/m/x", "db 'x'"},
      {"redis-sentinel://s1/m?sentinel_password=hunter2&buckets=4",
       "unknown option 'buckets'"},
      {"redis-sentinel://:hunter2@/m", "host list is empty"},
      // Unescaped '/' and '?' in the password: never echoed either way.
      {"redis-sentinel://:p/ss?w@rd@s1/m?x=1", "not shown"},
  };
  for (const Case& c : cases) {
    const std::string url = c.url;
    try {
      if (IsClusterUrl(url)) {
        ParseClusterUrl(url);
      } else {
        ParseSentinelUrl(url);
      }
      ADD_FAILURE() << url << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_THAT(e.what(), HasSubstr(c.says)) << url;
      EXPECT_THAT(e.what(), Not(HasSubstr("hunter2"))) << url;
      EXPECT_THAT(e.what(), Not(HasSubstr("w@rd"))) << url;
      EXPECT_THAT(e.what(), HasSubstr("redis-")) << url;
    }
  }
}

TEST(ClusterUrlTest, RedactHidesEveryPassword) {
  EXPECT_EQ(RedactRedisUrl("redis-cluster://u:pw@h:1,h:2?password=x&a=1"),
            "redis-cluster://u:***@h:1,h:2?password=***&a=1");
  EXPECT_EQ(RedactRedisUrl("redis-sentinel://:p@ss@h/m?sentinel_password=y"),
            "redis-sentinel://***@h/m?sentinel_password=***");
  EXPECT_EQ(RedactRedisUrl("redis-cluster://h:1"), "redis-cluster://h:1");
}

TEST(ClusterUrlTest, FromUrlDispatchesOnTheScheme) {
  EXPECT_EQ(
      RedisClient::FromUrl("redis-cluster://127.0.0.1:1?buckets=8")->buckets(),
      8);
  EXPECT_EQ(RedisClient::FromUrl("redis-sentinel://127.0.0.1:1/m")->buckets(),
            1);
  EXPECT_EQ(RedisClient::FromUrl("redis://127.0.0.1:1")->buckets(), 1);
  EXPECT_THROW(RedisClient::FromUrl("redis-cluster://"), std::invalid_argument);
}

}  // namespace
}  // namespace redis
}  // namespace cache_alchemy
