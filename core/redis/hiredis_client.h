// File: core/redis/hiredis_client.h
// -----------------------------------------------------------------------------
//
// The host's implementation of `ca::RedisClient` (core/redis_client.h) over
// hiredis: URL parsing, a small thread-safe connection pool, connect and
// command timeouts, reconnection after a server restart, and pipelining.
// Users get one through `ca::RedisClient::FromUrl`; this header is for the
// core and its tests.
//
//   RedisEndpoint ep = ParseRedisUrl("redis://:pw@127.0.0.1:6380/3");
//   auto client = std::make_shared<HiredisClient>(ep);

#ifndef CACHE_ALCHEMY_CORE_REDIS_HIREDIS_CLIENT_H_
#define CACHE_ALCHEMY_CORE_REDIS_HIREDIS_CLIENT_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "core/redis_client.h"

struct redisContext;
struct redisReply;

namespace cache_alchemy {
namespace redis {

// Where and how to connect, as parsed from a URL.
struct RedisEndpoint {
  std::string host;         // TCP host; empty for a unix socket
  int port = 6379;          // TCP port
  std::string socket_path;  // unix socket path; empty for TCP
  std::string user;         // ACL user; empty: the default user
  std::string password;     // empty: no AUTH
  int db = 0;
  int connect_timeout_ms = 1000;
  int timeout_ms = 1000;
  int pool_size = 8;
  // For messages: the URL without the password.
  std::string Describe() const;
};

// Parses `redis://[[user]:password@]host[:port][/db][?opts]` or
// `unix:///path?db=N&opts` (opts: connect_timeout_ms, timeout_ms,
// pool_size, user, password). Throws std::invalid_argument naming the
// offending part; the message never contains the password (the URL is shown
// through config::RedactSecrets, and a piece of it only if no secret
// overlaps it).
RedisEndpoint ParseRedisUrl(const std::string& url);

// Opens a connection to `endpoint` (connect timeout, command timeout, AUTH,
// SELECT). The caller owns the result (redisFree). Throws
// std::runtime_error naming the server; sets `*connect_failed` (if given)
// when the TCP/unix connect itself failed.
redisContext* OpenRedisContext(const RedisEndpoint& endpoint,
                               bool* connect_failed = nullptr);

// Converts a hiredis reply tree.
RedisReply ConvertReply(const redisReply* reply);

// The pub/sub connection behind `HiredisClient::Subscribe`
// (core/redis/hiredis_subscription.cc).
std::unique_ptr<RedisSubscription> MakeHiredisSubscription(
    const RedisEndpoint& endpoint, const std::vector<std::string>& channels,
    RedisSubscriptionListener* listener);

// Thread safety: all methods may be called from any thread. Safe across
// fork(): a child never uses a connection opened by its parent.
class HiredisClient final : public RedisClient {
 public:
  explicit HiredisClient(RedisEndpoint endpoint);
  ~HiredisClient() override;

  RedisReply Command(const std::vector<std::string>& argv) override;
  std::vector<RedisReply> Pipeline(
      const std::vector<std::vector<std::string>>& commands) override;
  int64_t round_trips() const override {
    return round_trips_.load(std::memory_order_relaxed);
  }
  std::unique_ptr<RedisSubscription> Subscribe(
      const std::vector<std::string>& channels,
      RedisSubscriptionListener* listener) override;

 private:
  struct Connection;
  struct ConnectionDeleter {
    void operator()(Connection* c) const;
  };
  using ConnectionPtr = std::unique_ptr<Connection, ConnectionDeleter>;

  // Runs `commands` on one connection, retrying once on a fresh connection
  // if a pooled one turns out to be dead (the server restarted).
  using Argv = std::vector<std::string>;
  std::vector<RedisReply> Run(const Argv* commands, size_t count);
  // Throws while a cool-down after a failed connect or a timeout lasts.
  void FailFastIfCoolingDown() const;
  ConnectionPtr Acquire(bool* reused);
  void Release(ConnectionPtr conn);
  ConnectionPtr Connect();
  void DropIdle();

  const RedisEndpoint endpoint_;
  std::atomic<int64_t> round_trips_{0};
  // After a failed connect (for 100 ms) or a command timeout (for
  // timeout_ms), commands fail fast until this time (ms, steady clock), so a
  // down or hung server does not cost a timeout per call.
  std::atomic<int64_t> retry_after_ms_{0};

  absl::Mutex mu_;
  std::vector<ConnectionPtr> idle_ ABSL_GUARDED_BY(mu_);
};

}  // namespace redis
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_REDIS_HIREDIS_CLIENT_H_
