// File: core/redis/cluster_client.h
// -----------------------------------------------------------------------------
//
// `ca::RedisClient` for a Redis Cluster (`redis-cluster://` URLs), written on
// the single-server HiredisClient: hiredis has no cluster support and Debian
// ships no cluster client library. Every behaviour follows the Redis Cluster
// specification (https://redis.io/docs/reference/cluster-spec/); the
// comments in cluster_client.cc name the section each one comes from.
//
//   auto client = std::make_shared<ClusterClient>(
//       ParseClusterUrl("redis-cluster://127.0.0.1:7000,127.0.0.1:7001"));
//   client->Command({"SET", "{user:42}:name", "Ada"});  // to the slot's master
//   client->Pipeline({{"GET", "a"}, {"GET", "b"}});     // split by node
//
// What it does:
// - learns the slot map with CLUSTER SLOTS from any node it knows (the seeds
//   first), on first use and again after a redirection or a node that
//   stopped answering (at most every 100 ms);
// - sends each command to the master of the hash slot of its first key
//   (RoutingOf); keyless commands (PING, PUBLISH, ...) to any master, and
//   the commands about the whole keyspace (FLUSHALL, FLUSHDB, KEYS, DBSIZE,
//   SCRIPT, CLIENT KILL) to every master, merging the replies;
// - follows `MOVED` (updates the slot, refreshes the map) and `ASK` (one
//   `ASKING` + the command on the importing node, map unchanged), and
//   retries `TRYAGAIN` and scripts that met a key already migrated (a slot
//   being resharded) with a short back-off for at most `timeout_ms`;
// - keeps one HiredisClient (its connection pool) per node;
// - subscribes on one master (any; another one when it dies): PUBLISH is
//   propagated to every node of a cluster, so one connection hears every
//   clear (docs/redis.md, "Push invalidation on a cluster").
// Before its first command it checks the bucket count in the cluster
// (`SET cache_alchemy:buckets N NX GET`) and refuses every command if the
// cluster was set up with another one.
//
// Host code only (part of //core/redis:hiredis_client).

#ifndef CACHE_ALCHEMY_CORE_REDIS_CLUSTER_CLIENT_H_
#define CACHE_ALCHEMY_CORE_REDIS_CLUSTER_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/redis/cluster_routing.h"
#include "core/redis/cluster_url.h"
#include "core/redis_client.h"

namespace cache_alchemy {
namespace redis {

// Thread safety: every method may be called from any thread. Safe across
// fork(): a child never uses a connection its parent opened (each node's
// HiredisClient checks its pid).
class ClusterClient final : public RedisClient {
 public:
  explicit ClusterClient(ClusterUrl options);
  ~ClusterClient() override;

  // Throws std::runtime_error when no node is reachable, when the command's
  // node fails (after one retry on the slot's new owner, if the map changed
  // meanwhile) or when the cluster holds another bucket count; error
  // replies (also a redirection still unresolved after 16 hops or a
  // TRYAGAIN after `timeout_ms`) come back as replies.
  RedisReply Command(const std::vector<std::string>& argv) override;
  // Sends each node its commands as one pipeline (one round trip per node,
  // node after node) and reassembles the replies in order; a command
  // redirected (or whose node failed) is sent again alone, as by Command.
  std::vector<RedisReply> Pipeline(
      const std::vector<std::vector<std::string>>& commands) override;
  // Exchanges with every node, including slot-map loads and redirections.
  int64_t round_trips() const override;
  // One pub/sub connection to one master (picked at random), another node
  // after a loss (the next in the map, which is refreshed).
  std::unique_ptr<RedisSubscription> Subscribe(
      const std::vector<std::string>& channels,
      RedisSubscriptionListener* listener) override;
  int buckets() const override;
  // Command, then WAIT for the replicas of the master that ran it
  // (HiredisClient::PipelineDurable, after ASKING when redirected).
  RedisReply DurableCommand(const std::vector<std::string>& argv) override;
  // Sends a command with a key to the master of its slot in the current
  // map, following no redirection (a MOVED, ASK or TRYAGAIN reply is a
  // deferred error). Returns false, having sent nothing, for a command
  // without a key and when the node did not take it (the map is loaded
  // again: the caller's Command finds the slot's new owner).
  bool Send(const std::vector<std::string>& argv) override;
  // Summed over every node.
  int64_t deferred_errors() const override;
  // Settles every node's client, one after the other, within one
  // timeout_ms in all.
  bool Settle() override;

  // What the client did so far (tests, tools).
  struct Counters {
    int64_t moved = 0;          // MOVED redirections followed
    int64_t ask = 0;            // ASK redirections followed
    int64_t retried = 0;        // TRYAGAIN / mid-migration scripts retried
    int64_t map_loads = 0;      // slot maps loaded
    int64_t node_failures = 0;  // commands whose node did not answer
  };
  Counters counters() const;
  // "host:port" of the master of `slot` in the current map; "" when the map
  // is not loaded or the slot is not served. No round trip.
  std::string MasterOf(uint16_t slot) const;

  // "host:port" of every master in the current map (loaded first if it was
  // not yet), in the map's order: for tools that walk each node's keyspace.
  // Throws std::runtime_error when no node is reachable.
  std::vector<std::string> Masters();
  // Runs `argv` on the node `address` (one of Masters()) as it is, with no
  // routing and no redirection followed: for commands whose state is the
  // node's own, such as SCAN's cursor. Throws std::invalid_argument for an
  // address that is not a node of the map, std::runtime_error when the
  // node does not answer; error replies come back as replies.
  RedisReply CommandOn(const std::string& address,
                       const std::vector<std::string>& argv);

  struct State;  // shared with subscriptions (cluster_client.cc)

 private:
  const std::shared_ptr<State> state_;
};

}  // namespace redis
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_REDIS_CLUSTER_CLIENT_H_
