// File: testing/redis_deployment.h
// -----------------------------------------------------------------------------
//
// The three ways the Redis backends are deployed, for tests that must hold
// on each: a single redis-server, a Redis Cluster (3 masters, 3 replicas)
// and a Sentinel deployment (1 master, 1 replica, 3 sentinels). Each is
// started once per test binary, on first use (testing/redis_server.h,
// redis_cluster.h, redis_sentinel.h), and stopped at exit.
//
//   class MyTest : public ::testing::TestWithParam<ca::testing::Deployment> {};
//   TEST_P(MyTest, Works) {
//     auto redis = ca::RedisClient::FromUrl(SharedDeploymentUrl(GetParam()));
//     ...
//   }
//   INSTANTIATE_TEST_SUITE_P(Deployments, MyTest, AllDeployments(),
//                            DeploymentTestName());

#ifndef CACHE_ALCHEMY_TESTING_REDIS_DEPLOYMENT_H_
#define CACHE_ALCHEMY_TESTING_REDIS_DEPLOYMENT_H_

#include <string>
#include <utility>

#include "core/redis_key_slot.h"
#include "gtest/gtest.h"

namespace cache_alchemy {
namespace testing {

enum class Deployment { kSingle, kCluster, kSentinel };

// "Single", "Cluster", "Sentinel".
std::string DeploymentName(Deployment deployment);

// The URL of this binary's shared deployment of that kind (started on first
// call). Throws std::runtime_error if it cannot start.
std::string SharedDeploymentUrl(Deployment deployment);

// "<suite>.<test>:" of the running test: a cache key prefix (so a pub/sub
// channel) of its own, so that a message of an earlier test still crossing
// a cluster's bus cannot pass for this test's.
inline std::string TestPrefix() {
  const ::testing::TestInfo* test =
      ::testing::UnitTest::GetInstance()->current_test_info();
  return std::string(test->test_suite_name()) + "." + test->name() + ":";
}

// Two int arguments whose keys share a bucket of a function spread over
// `buckets` (the key's CRC16 mod the count, docs/redis.md), the first one's
// key bytes greater than the second's ("1"): `limit` applies per bucket on
// a cluster, and eviction by key bytes would get this order wrong.
inline std::pair<int, int> TwoArgumentsInOneBucket(int buckets) {
  for (int a = 2;; ++a) {
    const std::string key = std::to_string(a);
    if (key > "1" && RedisCrc16(key) % buckets == RedisCrc16("1") % buckets) {
      return {a, 1};
    }
  }
}

// Every deployment, for INSTANTIATE_TEST_SUITE_P / ::testing::Combine.
inline auto AllDeployments() {
  return ::testing::Values(Deployment::kSingle, Deployment::kCluster,
                           Deployment::kSentinel);
}

// A test-name generator for a parameter that is a Deployment.
struct DeploymentTestName {
  std::string operator()(
      const ::testing::TestParamInfo<Deployment>& info) const {
    return DeploymentName(info.param);
  }
};

}  // namespace testing
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_TESTING_REDIS_DEPLOYMENT_H_
