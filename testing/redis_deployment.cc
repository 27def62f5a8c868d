// The shared deployments of a test binary.

#include "testing/redis_deployment.h"

#include "testing/redis_cluster.h"
#include "testing/redis_sentinel.h"
#include "testing/redis_server.h"

namespace cache_alchemy {
namespace testing {

std::string DeploymentName(Deployment deployment) {
  switch (deployment) {
    case Deployment::kSingle:
      return "Single";
    case Deployment::kCluster:
      return "Cluster";
    case Deployment::kSentinel:
      return "Sentinel";
  }
  return "Unknown";
}

std::string SharedDeploymentUrl(Deployment deployment) {
  switch (deployment) {
    case Deployment::kSingle:
      return SharedRedisServer()->url();
    case Deployment::kCluster:
      return SharedRedisCluster()->url();
    case Deployment::kSentinel:
      return SharedRedisSentinels()->url();
  }
  return "";
}

}  // namespace testing
}  // namespace cache_alchemy
