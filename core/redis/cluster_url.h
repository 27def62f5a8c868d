// File: core/redis/cluster_url.h
// -----------------------------------------------------------------------------
//
// The URLs of the replicated deployments, parsed for the host's Redis
// clients (core/redis/cluster_client.h, core/redis/sentinel_client.h):
//
//   redis-cluster://[[user]:password@]host:port[,host:port...][?options]
//   redis-sentinel://[[user]:password@]host:port[,host:port...]/MASTER[/db][?options]
//
// The hosts of a cluster URL are seed nodes (any node of the cluster will
// do; the client learns the rest); those of a Sentinel URL are the
// sentinels. The credentials are the data nodes'. Options:
// `connect_timeout_ms`, `timeout_ms`, `pool_size`, `deferred_stores` (as
// for redis://),
// `wait_timeout_ms` (how long a clear waits for the replicas, default 1000),
// `user` / `password` (like the credentials before '@'); a cluster URL also
// takes `buckets` (1..1024, default 16; docs/redis.md), a Sentinel URL
// `sentinel_user` / `sentinel_password` (the sentinels' own AUTH).
//
//   ClusterUrl c =
//   ParseClusterUrl("redis-cluster://:pw@10.0.0.1:7000,10.0.0.2:7000");
//   SentinelUrl s =
//   ParseSentinelUrl("redis-sentinel://10.0.0.1,10.0.0.2/cache/2");
//
// A malformed URL throws std::invalid_argument that names the bad part and
// quotes the URL with every password replaced by "***" (RedactRedisUrl).
// Host code only (part of //core/redis:hiredis_client).

#ifndef CACHE_ALCHEMY_CORE_REDIS_CLUSTER_URL_H_
#define CACHE_ALCHEMY_CORE_REDIS_CLUSTER_URL_H_

#include <string>
#include <string_view>
#include <vector>

#include "core/redis/hiredis_client.h"

namespace cache_alchemy {
namespace redis {

struct HostPort {
  std::string host;  // a name or an IP literal (IPv6 without brackets)
  int port = 0;
  // "host:port", "[v6]:port".
  std::string Text() const;
};

// A parsed redis-cluster:// URL.
struct ClusterUrl {
  std::vector<HostPort> seeds;  // at least one
  // What every node connection uses: credentials, timeouts, pool size
  // (per node), durable_writes = true. host/port are unset.
  RedisEndpoint node;
  int buckets = 16;
  // For messages: the URL without credentials.
  std::string Describe() const;
};

// A parsed redis-sentinel:// URL.
struct SentinelUrl {
  std::vector<HostPort> sentinels;  // at least one
  std::string master_name;
  // What the master's connections use: db, credentials, timeouts, pool
  // size, durable_writes = true, master_only = true. host/port are unset.
  RedisEndpoint node;
  std::string sentinel_user;      // the sentinels' ACL user, or empty
  std::string sentinel_password;  // the sentinels' AUTH, or empty
  // For messages: the URL without credentials.
  std::string Describe() const;
};

// Whether `url` has the scheme redis-cluster:// or redis-sentinel://.
bool IsClusterUrl(std::string_view url);
bool IsSentinelUrl(std::string_view url);

// Parse the URLs above. Throw std::invalid_argument naming the bad part
// (the scheme, a host, a port, the master name, the db, an option, a cut
// escape), quoting RedactRedisUrl(url).
ClusterUrl ParseClusterUrl(const std::string& url);
SentinelUrl ParseSentinelUrl(const std::string& url);

// `url` with the password before '@' and the values of `password` and
// `sentinel_password` options replaced by "***".
std::string RedactRedisUrl(std::string_view url);

}  // namespace redis
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_REDIS_CLUSTER_URL_H_
