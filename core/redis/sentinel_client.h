// File: core/redis/sentinel_client.h
// -----------------------------------------------------------------------------
//
// `ca::RedisClient` for a master watched by Redis Sentinel
// (`redis-sentinel://` URLs): every command goes to the current master,
// found the way the Sentinel client guidelines say
// (https://redis.io/docs/reference/sentinel-clients/):
// 1. ask the sentinels in turn (the last one that answered first)
//    `SENTINEL get-master-addr-by-name <name>`;
// 2. connect to that address and check with `ROLE` that it is a master (a
//    sentinel may still name the old master during a failover); otherwise
//    try the next sentinel;
// 3. after a failover, find it again: when a command cannot reach the
//    master (connection refused or lost, a timeout) or is refused with
//    `READONLY` (the old master was demoted), ask the sentinels again (at
//    most every 100 ms) and, if they name another master, send the command
//    once more there.
// Subscriptions follow the master too: each (re)connection asks the
// sentinels (a demoted master's clients are killed by the sentinels, and a
// dead one's connections drop), and OnDisconnected / OnSubscribed report
// the gap as for a single server.
//
//   auto client = std::make_shared<SentinelClient>(ParseSentinelUrl(
//       "redis-sentinel://10.0.0.1:26379,10.0.0.2:26379/cache"));
//   client->Command({"GET", "k"});  // on the master the sentinels name
//
// Host code only (part of //core/redis:hiredis_client).

#ifndef CACHE_ALCHEMY_CORE_REDIS_SENTINEL_CLIENT_H_
#define CACHE_ALCHEMY_CORE_REDIS_SENTINEL_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/redis/cluster_url.h"
#include "core/redis_client.h"

namespace cache_alchemy {
namespace redis {

// Thread safety: every method may be called from any thread. Safe across
// fork() as HiredisClient is.
class SentinelClient final : public RedisClient {
 public:
  explicit SentinelClient(SentinelUrl options);
  ~SentinelClient() override;

  // Throw std::runtime_error when no sentinel names a reachable master, or
  // when the master fails and the sentinels name no other one.
  RedisReply Command(const std::vector<std::string>& argv) override;
  std::vector<RedisReply> Pipeline(
      const std::vector<std::vector<std::string>>& commands) override;
  // Exchanges with the masters used so far (not with the sentinels).
  int64_t round_trips() const override;
  std::unique_ptr<RedisSubscription> Subscribe(
      const std::vector<std::string>& channels,
      RedisSubscriptionListener* listener) override;
  // Command, then WAIT for the master's replicas (HiredisClient).
  RedisReply DurableCommand(const std::vector<std::string>& argv) override;
  // Sends to the master in use (to the one the sentinels name now if it
  // does not answer). A READONLY reply (a demoted master) is a deferred
  // error: the caller's next Command finds the new master.
  bool Send(const std::vector<std::string>& argv) override;
  // Summed over the masters used so far.
  int64_t deferred_errors() const override;
  // Settles the client of every master used so far, within one timeout_ms
  // in all.
  bool Settle() override;

  // "host:port" of the master in use; "" before the first command.
  std::string master() const;
  // Masters found (the first one included).
  int64_t discoveries() const;

  struct State;  // shared with subscriptions (sentinel_client.cc)

 private:
  template <typename Reply, typename Fn>
  Reply Run(Fn fn);

  const std::shared_ptr<State> state_;
};

}  // namespace redis
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_REDIS_SENTINEL_CLIENT_H_
