// File: testing/redis_cluster.h
// -----------------------------------------------------------------------------
//
// A private Redis Cluster for tests and benchmarks: `masters` masters with
// `replicas_per_master` replicas each, every node a `RedisServer`
// (testing/redis_server.h) on free loopback ports with persistence off,
// joined with `redis-cli --cluster create ... --cluster-replicas N
// --cluster-yes` (Debian's redis-tools) and ready once every node says
// `cluster_state:ok` and every replica's link is up. Nodes time out after
// `node_timeout_ms` and `cluster-require-full-coverage` is off (a dead
// master's slots miss, the others keep serving: the setting this project
// recommends for a cache, docs/redis.md).
//
//   ca::testing::RedisCluster cluster;  // 3 masters, 3 replicas (~2 s)
//   auto client = ca::RedisClient::FromUrl(cluster.url());
//   int master = cluster.MasterPortOf(ca::RedisKeySlot("k"));
//   cluster.NodeAt(master)->Stop();     // a replica takes over its slots
//
// `SharedRedisCluster()` starts one per test binary on first use and stops
// it at exit. Thread safety: not thread-safe (one thread steers it).

#ifndef CACHE_ALCHEMY_TESTING_REDIS_CLUSTER_H_
#define CACHE_ALCHEMY_TESTING_REDIS_CLUSTER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/redis_client.h"
#include "testing/redis_server.h"

namespace cache_alchemy {
namespace testing {

class RedisCluster {
 public:
  struct Options {
    int masters = 3;
    int replicas_per_master = 1;
    int node_timeout_ms = 1000;
  };

  // Starts and joins the nodes; waits until healthy. Throws
  // std::runtime_error (with redis-cli's output) if that fails.
  RedisCluster() : RedisCluster(Options{}) {}
  explicit RedisCluster(Options options);
  ~RedisCluster();

  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  // "redis-cluster://127.0.0.1:<port>,..." with every node as a seed;
  // `query` ("buckets=8&timeout_ms=200") is appended after '?'.
  std::string url(const std::string& query = "") const;

  int size() const { return static_cast<int>(nodes_.size()); }
  RedisServer& node(int i) { return *nodes_[i]; }
  // The node listening on `port`, or nullptr.
  RedisServer* NodeAt(int port);

  // From the first running node that answers CLUSTER SLOTS: the port of the
  // master serving `slot`; the masters serving slots, in slot order; a
  // replica of `master_port` (0 if none is listed).
  int MasterPortOf(uint16_t slot);
  std::vector<int> MasterPorts();
  int ReplicaPortOf(int master_port);

  // Waits (at most `timeout_ms`) until every running node says
  // cluster_state:ok and names the same master for every slot, and every
  // running replica's link to its master is up. Throws std::runtime_error
  // naming what was still wrong.
  void WaitUntilHealthy(int timeout_ms = 30000);

  // Resharding one slot the way `redis-cli --cluster reshard` does
  // (https://redis.io/docs/reference/cluster-spec/, "Live resharding"):
  // Begin marks the slot IMPORTING on `to_port` and MIGRATING on its
  // owner; MigrateKeys MIGRATEs up to `count` of its keys (returns how
  // many; 0 when none is left); End assigns the slot to `to_port` on every
  // master. Between Begin and End clients meet ASK and TRYAGAIN; after it,
  // MOVED. MoveSlot does all three. MigrateTheseKeys MIGRATEs exactly
  // `keys` (of the slot), so a test can split a slot's keys between the two
  // nodes the way an unlucky migration order does.
  struct SlotMigration {
    uint16_t slot = 0;
    int from_port = 0;
    int to_port = 0;
  };
  SlotMigration BeginSlotMigration(uint16_t slot, int to_port);
  int MigrateKeys(const SlotMigration& migration, int count);
  void MigrateTheseKeys(const SlotMigration& migration,
                        const std::vector<std::string>& keys);
  void EndSlotMigration(const SlotMigration& migration);
  void MoveSlot(uint16_t slot, int to_port);

  // Kills the master on `port` (SIGKILL) and waits until a replica took
  // over its slots and every running node agrees (WaitUntilHealthy);
  // returns the new master's port.
  int KillMasterAndWaitForFailover(int port, int timeout_ms = 30000);

 private:
  // CLUSTER SLOTS of the first running node that answers.
  RedisReply Slots();
  // Every (first slot, master port) pair of `slots`, in slot order.
  static std::vector<std::pair<int, int>> Masters(const RedisReply& slots);

  Options options_;
  std::vector<std::unique_ptr<RedisServer>> nodes_;
};

// One cluster for the whole test binary (default options), started on
// first call, stopped at exit. Never null.
RedisCluster* SharedRedisCluster();

}  // namespace testing
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_TESTING_REDIS_CLUSTER_H_
