// File: testing/redis_sentinel.h
// -----------------------------------------------------------------------------
//
// A private Sentinel deployment for tests and benchmarks: one master, its
// replicas and `sentinels` sentinels (Debian's redis-sentinel: redis-server
// in sentinel mode), each a `RedisServer` (testing/redis_server.h) on free
// loopback ports. The sentinels watch the master under `master_name` with
// quorum 2, call it down after `down_after_ms` and fail over by themselves.
//
//   ca::testing::RedisSentinels sentinels;   // 1 master, 1 replica, 3
//   sentinels auto client = ca::RedisClient::FromUrl(sentinels.url());
//   sentinels.WaitUntilHealthy(/*for_failover=*/true);
//   int old = sentinels.MasterPort();
//   sentinels.DataAt(old)->Stop();            // the sentinels promote the
//   replica
//
// `SharedRedisSentinels()` starts one per test binary on first use and stops
// it at exit. Thread safety: not thread-safe (one thread steers it).

#ifndef CACHE_ALCHEMY_TESTING_REDIS_SENTINEL_H_
#define CACHE_ALCHEMY_TESTING_REDIS_SENTINEL_H_

#include <memory>
#include <string>
#include <vector>

#include "testing/redis_server.h"

namespace cache_alchemy {
namespace testing {

class RedisSentinels {
 public:
  struct Options {
    int replicas = 1;
    int sentinels = 3;
    int down_after_ms = 1000;
    int failover_timeout_ms = 3000;
    std::string master_name = "cache";
  };

  // Starts the master, the replicas (waiting until their links are up),
  // then the sentinels (waiting until each names the master). Throws
  // std::runtime_error if that fails.
  RedisSentinels() : RedisSentinels(Options{}) {}
  explicit RedisSentinels(Options options);
  ~RedisSentinels();

  RedisSentinels(const RedisSentinels&) = delete;
  RedisSentinels& operator=(const RedisSentinels&) = delete;

  // "redis-sentinel://127.0.0.1:<s1>,.../<master_name>"; `query` is
  // appended after '?'.
  std::string url(const std::string& query = "") const;

  // Data servers: 0 is the first master, then the replicas.
  int data_size() const { return static_cast<int>(data_.size()); }
  RedisServer& data(int i) { return *data_[i]; }
  RedisServer* DataAt(int port);
  int sentinel_size() const { return static_cast<int>(sentinels_.size()); }
  RedisServer& sentinel(int i) { return *sentinels_[i]; }

  // The master's port, as the first sentinel that answers names it.
  int MasterPort();

  // Waits (at most `timeout_ms`) until the named master is a master with
  // every other running data server online as its replica; with
  // `for_failover`, also until every sentinel knows every replica and every
  // other sentinel (without that they cannot agree on a failover). Throws
  // std::runtime_error naming what was still wrong.
  void WaitUntilHealthy(bool for_failover = false, int timeout_ms = 30000);

  // Kills the master (SIGKILL) and waits until the sentinels name another
  // one that says it is a master; returns its port.
  int KillMasterAndWaitForFailover(int timeout_ms = 30000);

 private:
  Options options_;
  std::vector<std::unique_ptr<RedisServer>> data_;
  std::vector<std::unique_ptr<RedisServer>> sentinels_;
};

// One deployment for the whole test binary (default options), started on
// first call, stopped at exit. Never null.
RedisSentinels* SharedRedisSentinels();

}  // namespace testing
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_TESTING_REDIS_SENTINEL_H_
