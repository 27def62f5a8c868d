// The test topologies start as documented: a cluster of 3 masters with one
// replica each, a Sentinel deployment whose sentinels agree on the master
// and know each other and the replica (ready for a failover).

#include <chrono>
#include <cstdio>
#include <set>

#include "gtest/gtest.h"
#include "testing/redis_admin.h"
#include "testing/redis_cluster.h"
#include "testing/redis_sentinel.h"

namespace cache_alchemy {
namespace testing {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

TEST(RedisClusterTest, ThreeMastersWithAReplicaEach) {
  const auto start = std::chrono::steady_clock::now();
  RedisCluster cluster;
  std::printf("cluster ready in %.2f s\n", SecondsSince(start));
  ASSERT_EQ(cluster.size(), 6);
  const std::vector<int> masters = cluster.MasterPorts();
  ASSERT_EQ(masters.size(), 3u);
  std::set<int> replicas;
  for (int master : masters) {
    const int replica = cluster.ReplicaPortOf(master);
    ASSERT_NE(replica, 0) << "master " << master << " has no replica";
    replicas.insert(replica);
    const RedisReply role = AdminCommand(replica, {"ROLE"});
    EXPECT_EQ(role.elements[0].str, "slave");
  }
  EXPECT_EQ(replicas.size(), 3u);
  EXPECT_EQ(cluster.MasterPortOf(0), masters.front());
  EXPECT_EQ(cluster.url().rfind("redis-cluster://127.0.0.1:", 0), 0u);
}

TEST(RedisSentinelsTest, SentinelsAgreeOnTheMaster) {
  const auto start = std::chrono::steady_clock::now();
  RedisSentinels sentinels;
  std::printf("sentinels ready in %.2f s\n", SecondsSince(start));
  EXPECT_EQ(sentinels.MasterPort(), sentinels.data(0).port());
  sentinels.WaitUntilHealthy(/*for_failover=*/true);
  std::printf("ready for a failover in %.2f s\n", SecondsSince(start));
  const RedisReply role = AdminCommand(sentinels.data(1).port(), {"ROLE"});
  EXPECT_EQ(role.elements[0].str, "slave");
  EXPECT_EQ(sentinels.url().rfind("redis-sentinel://127.0.0.1:", 0), 0u);
  // Failovers: //core/redis:sentinel_client_test.
}

}  // namespace
}  // namespace testing
}  // namespace cache_alchemy
