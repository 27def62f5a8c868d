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
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
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
  // A server of a deployment with automatic failover (cluster, sentinel):
  // DurableCommand waits for every replica online (ROLE, then WAIT), at
  // most `wait_timeout_ms`. False: DurableCommand is Command.
  bool durable_writes = false;
  int wait_timeout_ms = 1000;
  // Every new connection checks with ROLE that the server is a master and
  // fails (std::runtime_error) if it is not: a Sentinel client must never
  // read from a demoted master, which may still serve its old data while
  // it resyncs from the new one.
  bool master_only = false;
  // The URL option `deferred_stores=1`: RedisClient::Send writes without
  // waiting (a json or pickle miss costs one round trip). False: Send
  // returns false and the caller waits for its reply (Command).
  bool deferred_stores = false;
  // For messages: the URL without the password.
  std::string Describe() const;
};

// Parses `redis://[[user]:password@]host[:port][/db][?opts]` or
// `unix:///path?db=N&opts` (opts: connect_timeout_ms, timeout_ms,
// pool_size, deferred_stores, user, password). Throws std::invalid_argument
// naming the offending part; the message never contains the password (the URL
// is shown through config::RedactSecrets, and a piece of it only if no secret
// overlaps it).
RedisEndpoint ParseRedisUrl(const std::string& url);

// Opens a connection to `endpoint` (connect timeout, command timeout, AUTH,
// SELECT, and ROLE with `master_only`). The caller owns the result
// (redisFree). Throws std::runtime_error naming the server; sets
// `*connect_failed` (if given) when the TCP/unix connect itself failed.
redisContext* OpenRedisContext(const RedisEndpoint& endpoint,
                               bool* connect_failed = nullptr);

// Converts a hiredis reply tree.
RedisReply ConvertReply(const redisReply* reply);

// Where a subscription connects next: called on the subscription's thread
// before each connection attempt with the number of attempts that failed
// in a row (a connection that had subscribed and was lost counts as the
// first): 0 only for the very first attempt.
// May throw std::exception (reported through OnDisconnected, tried again
// 100 ms later). Must be thread-safe against the client that made it.
using EndpointResolver = std::function<RedisEndpoint(int failures)>;

// The pub/sub connection behind `RedisClient::Subscribe`
// (core/redis/hiredis_subscription.cc): always `endpoint`, or wherever
// `resolve` says (a cluster node, the current Sentinel master).
std::unique_ptr<RedisSubscription> MakeHiredisSubscription(
    const RedisEndpoint& endpoint, const std::vector<std::string>& channels,
    RedisSubscriptionListener* listener);
std::unique_ptr<RedisSubscription> MakeHiredisSubscription(
    EndpointResolver resolve, const std::vector<std::string>& channels,
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
  RedisReply DurableCommand(const std::vector<std::string>& argv) override;
  // With `endpoint.deferred_stores`, writes `argv` on a pooled connection
  // and returns true; the connection reads its reply before its next
  // command (at most kMaxPendingReplies replies
  // wait on one connection: a Send on a connection with that many reads
  // them first).
  bool Send(const std::vector<std::string>& argv) override;
  int64_t deferred_errors() const override {
    return deferred_errors_.load(std::memory_order_relaxed);
  }
  static constexpr int kMaxPendingReplies = 64;
  // Drains the idle connections' unread replies and waits (polling every
  // millisecond, at most timeout_ms) for those of connections in use.
  bool Settle() override;
  // Settle, waiting until `deadline` at most: the clients of a Cluster or
  // Sentinel deployment share one deadline, so settling them all takes one
  // timeout, not one per node.
  bool SettleUntil(std::chrono::steady_clock::time_point deadline);

  // Runs `commands` as one pipeline on one connection and, with
  // `endpoint.durable_writes`, then waits on that same connection for every
  // replica the server lists online (`ROLE` in the same pipeline, then
  // `WAIT n wait_timeout_ms`; a replica that acknowledged a later offset
  // has every earlier write of that master). Returns the replies of
  // `commands`. Throws std::runtime_error as Pipeline does, and when a
  // replica did not acknowledge in time or ROLE was refused (the commands
  // did run). One round trip, two when it waited.
  std::vector<RedisReply> PipelineDurable(
      const std::vector<std::vector<std::string>>& commands);

  const RedisEndpoint& endpoint() const { return endpoint_; }

 private:
  struct Connection;
  struct ConnectionDeleter {
    void operator()(Connection* c) const;
  };
  using ConnectionPtr = std::unique_ptr<Connection, ConnectionDeleter>;

  // Runs `commands` on one connection, retrying once on a fresh connection
  // if a pooled one turns out to be dead (the server restarted).
  using Argv = std::vector<std::string>;
  std::vector<RedisReply> Run(const Argv* commands, size_t count,
                              bool durable = false);
  // After a durable pipeline: WAITs on `ctx` for the replicas `role` (the
  // ROLE reply) lists. Sets `*broken` when the connection is unusable.
  void AwaitReplicas(redisContext* ctx, const RedisReply& role,
                     const std::string& what, bool* broken);
  // Reads the replies of the Sends still waiting on `conn`, counting the
  // errors; false when the connection failed (its Sends are then lost).
  bool ReadPending(Connection& conn);
  // ReadPending, but only the replies that arrive before `deadline`: the
  // rest stay pending for the connection's next user (a hung server costs
  // a Settle its deadline, not a read timeout per connection). False when
  // the connection failed.
  bool ReadPendingUntil(Connection& conn,
                        std::chrono::steady_clock::time_point deadline);
  // Counts one reply read for `conn`'s Sends (ReadPending*).
  void TakePendingReply(Connection& conn, void* raw);
  // `conn`'s Sends were all read or lost: takes them out of unread_.
  void ForgetUnread(Connection& conn);
  // With settle_mu_ held: takes `conn`'s newest Send out of unread_.
  void EraseUnreadLocked(const Connection& conn);
  // With settle_mu_ held: in a process forked since unread_ was filled
  // (`generation` is the current fork generation), empties it.
  void AdoptForkGenerationLocked(uint64_t generation);
  // Reads the unread replies of every idle connection that has some, as
  // far as they arrive before `deadline`.
  void DrainIdle(std::chrono::steady_clock::time_point deadline);
  // After `ctx` failed (errno `saved_errno`) in the `attempt`th try of
  // `what` (a command name, "(pipeline)" appended when `count` > 1):
  // returns when the try should be made again on a fresh connection (a
  // pooled connection the server closed: nothing ran), else throws
  // std::runtime_error (after starting a cool-down for a timeout).
  void RetryOrThrow(redisContext* ctx, int saved_errno, bool reused,
                    int attempt, const std::string& what, size_t count);
  // Throws while a cool-down after a failed connect or a timeout lasts.
  void FailFastIfCoolingDown() const;
  ConnectionPtr Acquire(bool* reused);
  void Release(ConnectionPtr conn);
  ConnectionPtr Connect();
  void DropIdle();

  const RedisEndpoint endpoint_;
  std::atomic<int64_t> round_trips_{0};
  std::atomic<int64_t> deferred_errors_{0};
  // After a failed connect (for 100 ms) or a command timeout (for
  // timeout_ms), commands fail fast until this time (ms, steady clock), so a
  // down or hung server does not cost a timeout per call.
  std::atomic<int64_t> retry_after_ms_{0};

  // Connections taken from the pool now, and the most ever taken at once.
  std::atomic<int> in_use_{0};
  std::atomic<int> high_water_{0};
  // Sends whose replies were not read yet, for Settle: the sequence number
  // of each connection's newest one (a connection's replies are read all
  // at once). Declared before idle_, which is destroyed first.
  std::mutex settle_mu_;
  std::condition_variable settled_;
  std::multiset<uint64_t> unread_;       // guarded by settle_mu_
  uint64_t send_seq_ = 0;                // guarded by settle_mu_
  uint64_t unread_fork_generation_ = 0;  // guarded by settle_mu_
  std::atomic<int> unread_count_{0};     // unread_.size(), read without lock
  // std::mutex (every command takes it): Debian's absl::Mutex runs deadlock
  // detection on every lock.
  std::mutex mu_;
  std::vector<ConnectionPtr> idle_;  // guarded by mu_
};

}  // namespace redis
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_REDIS_HIREDIS_CLIENT_H_
