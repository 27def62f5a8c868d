// File: core/redis/cluster_routing.h
// -----------------------------------------------------------------------------
//
// The two pure decisions of the cluster client (core/redis/cluster_client.h),
// after the Redis Cluster specification
// (https://redis.io/docs/reference/cluster-spec/): which key routes a
// command, and what an error reply asks the client to do.
//
//   CommandRouting r = RoutingOf({"EVALSHA", sha, "2", "k1", "k2"});
//   // r.routing == Routing::kKey, r.key == 3: the slot of "k1"
//   Redirection to = ParseRedirection(reply);  // "-MOVED 3999 10.0.0.2:7001"
//   // to.kind == Redirect::kMoved, to.slot == 3999, to.port == 7001
//
// Host code only (part of //core/redis:hiredis_client). Thread-safe (pure).

#ifndef CACHE_ALCHEMY_CORE_REDIS_CLUSTER_ROUTING_H_
#define CACHE_ALCHEMY_CORE_REDIS_CLUSTER_ROUTING_H_

#include <cstddef>
#include <string>
#include <vector>

#include "core/redis_client.h"

namespace cache_alchemy {
namespace redis {

// How the cluster client routes a command.
enum class Routing {
  kKey,          // by the hash slot of argv[CommandRouting::key]
  kAnyMaster,    // keyless: any master (PING, PUBLISH, WAIT, ROLE, ...)
  kEveryMaster,  // the whole keyspace: every master, replies merged
};
struct CommandRouting {
  Routing routing = Routing::kAnyMaster;
  size_t key = 0;  // with kKey
};

// EVAL/EVALSHA/FCALL (and _RO): the first of their keys, keyless with
// none; OBJECT and MEMORY subcommands: argv[2]; FLUSHALL, FLUSHDB, KEYS,
// DBSIZE, SCRIPT and CLIENT KILL: every master; the other keyless commands
// (PING, PUBLISH, INFO, CLUSTER, ROLE, WAIT, ...) any master; every other
// command: argv[1] (GET, SET, MGET, SADD, ZRANGE, EXISTS, DEL, ...).
// Multi-key commands need all their keys in one slot, as on any cluster
// (the node answers CROSSSLOT otherwise).
CommandRouting RoutingOf(const std::vector<std::string>& argv);

// What an error reply asks for ("Redirection and resharding"):
// - kMoved: `-MOVED <slot> <host>:<port>`: the slot has a new owner (update
//   the map, reload it: more slots probably moved);
// - kAsk: `-ASK <slot> <host>:<port>`: the slot is migrating and the key is
//   not here (any more): send ASKING, then the command, to that node once;
// - kRetry: `-TRYAGAIN` (a multi-key command whose keys are split between
//   the two nodes of a migration), or a script that touched a key outside
//   KEYS already migrated ("non local key", Redis 7
//   `scriptVerifyClusterState`): the same situation; try again shortly;
// - kNone: any other reply.
enum class Redirect { kNone, kMoved, kAsk, kRetry };
struct Redirection {
  Redirect kind = Redirect::kNone;
  int slot = -1;
  std::string host;  // empty: the host of the node that answered
  int port = 0;
};
Redirection ParseRedirection(const RedisReply& reply);

}  // namespace redis
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_REDIS_CLUSTER_ROUTING_H_
