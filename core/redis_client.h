// File: core/redis_client.h
// -----------------------------------------------------------------------------
//
// `ca::RedisClient`: the Redis connection the distributed backends share. The
// config holds one (`config.cache_redis_client`) and the host hands it to
// every backend that needs Redis (`HostContext::redis`).
//
//   namespace ca = cache_alchemy;
//   std::shared_ptr<ca::RedisClient> redis =
//       ca::RedisClient::FromUrl("redis://:secret@127.0.0.1:6379/2");
//   ca::RedisReply pong = redis->Command({"PING"});  // pong.str == "PONG"
//   std::vector<ca::RedisReply> replies =             // one round trip
//       redis->Pipeline({{"SET", "k", "v"}, {"GET", "k"}});
//   MyListener listener;  // implements ca::RedisSubscriptionListener
//   auto sub = redis->Subscribe({"news"}, &listener);  // its own thread
//
// This header is part of the plugin SDK and of the plugin ABI: the class is
// abstract, with standard types and plain structs only, so a plugin calls
// into the host's implementation (core/redis/hiredis_client.cc) through the
// virtual functions and never links a Redis library itself. Plugins must not
// call `FromUrl` (it is defined in the host, not in the SDK). Changing the
// layout of `RedisReply` or the virtual functions here bumps
// `kPluginAbiVersion` (core/backend.h).

#ifndef CACHE_ALCHEMY_CORE_REDIS_CLIENT_H_
#define CACHE_ALCHEMY_CORE_REDIS_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cache_alchemy {

// Receives what a `RedisSubscription` hears. Every call comes from the
// subscription's own background thread, one at a time, in the order the
// server sent it; a listener must not block for long (it delays every later
// message) and must not destroy its subscription from inside a callback.
class RedisSubscriptionListener {
 public:
  virtual ~RedisSubscriptionListener() = default;
  // The server confirmed the subscription to `channel` on the current
  // connection: every message published on it from now on is delivered.
  // Called again for each channel after every reconnection.
  virtual void OnSubscribed(const std::string& channel) = 0;
  // A message published on `channel` (payload binary safe).
  virtual void OnMessage(const std::string& channel,
                         const std::string& payload) = 0;
  // The connection was lost (server restarted, connection killed, no answer
  // to a keep-alive PING within the command timeout) or could not be made.
  // Messages published from now until the next OnSubscribed are LOST. The
  // subscription keeps reconnecting by itself (every 100 ms). `error` says
  // why. Called once per loss, not again until a connection succeeded.
  virtual void OnDisconnected(const std::string& error) = 0;
};

// A pub/sub connection with a background thread reading it (RESP2
// SUBSCRIBE). OWNERSHIP: returned by `RedisClient::Subscribe`; deleting it
// unsubscribes, stops the thread and returns only when no callback runs any
// more. In a child process after fork() the thread does not exist: deleting
// the object there only releases memory (the caller subscribes anew).
class RedisSubscription {
 public:
  virtual ~RedisSubscription() = default;
  // Adds `channel` (no-op if present); asynchronous: OnSubscribed tells when
  // it holds. Thread-safe.
  virtual void AddChannel(const std::string& channel) = 0;
};

// One reply from the server, as a plain tree.
struct RedisReply {
  enum class Type : int32_t {
    kNil = 0,      // a missing value (GET of an absent key)
    kString = 1,   // bulk string in `str` (binary-safe)
    kInteger = 2,  // `integer`
    kArray = 3,    // `elements`
    kStatus = 4,   // simple status ("OK", "PONG") in `str`
    kError = 5,    // error reply ("ERR ...", "NOSCRIPT ...") in `str`
  };
  Type type = Type::kNil;
  int64_t integer = 0;
  std::string str;
  std::vector<RedisReply> elements;

  bool is_nil() const { return type == Type::kNil; }
  bool is_error() const { return type == Type::kError; }
};

// A thread-safe Redis client.
//
// Errors: a failure to reach the server, a timeout or a broken connection
// throws std::runtime_error naming the server and the command. An error
// REPLY (a wrong command, NOSCRIPT) is not thrown: it comes back as a reply of
// type kError, so a pipeline reports each command's outcome.
//
// Thread safety: every method may be called from any number of threads at
// once (the implementation keeps a small pool of connections). After a server
// restart, the next command reconnects by itself; a cluster client follows
// the cluster's redirections and a Sentinel client the current master.
class RedisClient {
 public:
  virtual ~RedisClient() = default;

  // Sends one command (`argv[0]` is the command name; arguments are binary
  // safe) and returns its reply. One round trip. A cluster client sends it
  // to the node serving its first key (docs/redis.md, "Redis Cluster").
  virtual RedisReply Command(const std::vector<std::string>& argv) = 0;

  // Sends every command in one write and reads all replies: one round trip
  // (on a cluster, one per node the commands' keys live on). Returns one
  // reply per command, in order. Not a transaction: wrap the commands in
  // MULTI/EXEC for atomicity (on a cluster, only with every key in one slot).
  virtual std::vector<RedisReply> Pipeline(
      const std::vector<std::vector<std::string>>& commands) = 0;

  // Round trips (exchanges with a server that got their replies) since
  // creation; for tests and benchmarks. A single Redis counts one per
  // Command or Pipeline; a cluster client counts each exchange with each
  // node (a redirection followed is one more, a pipeline split over k nodes
  // is k, loading the slot map is one); DurableCommand counts two when it
  // waited for replicas.
  virtual int64_t round_trips() const = 0;

  // Opens a dedicated pub/sub connection (with the client's endpoint,
  // credentials and timeouts) read by a background thread that calls
  // `listener`, and subscribes to `channels`. Returns at once; connecting
  // and subscribing happen on the thread (OnSubscribed / OnDisconnected
  // report the outcome). `listener` must outlive the subscription. Messages
  // are not counted in round_trips(). Never throws for an unreachable server
  // (that is reported through OnDisconnected).
  virtual std::unique_ptr<RedisSubscription> Subscribe(
      const std::vector<std::string>& channels,
      RedisSubscriptionListener* listener) = 0;

  // ABI version 4 (the two functions below; defaults for a single Redis).

  // How many buckets the Redis backends spread each function's entries over
  // (docs/redis.md, "Layout in Redis"): 1 for a single Redis or a Sentinel
  // deployment, the URL's `buckets` option (default 16) on a Redis Cluster.
  // Every process sharing the data uses the same number (a cluster client
  // refuses to run commands if the cluster was set up with another one).
  // Never throws; no round trip.
  virtual int buckets() const { return 1; }

  // Like Command, for a write that must survive a failover (the clears'
  // scripts). On a deployment with automatic failover (Redis Cluster,
  // Sentinel) it returns only once every replica that was online when the
  // command ran has acknowledged it (`ROLE`, then `WAIT` on the same
  // connection), and throws std::runtime_error when one did not within the
  // client's replication timeout: the write did happen on the master, but a
  // failover could undo it. A master without replicas online has nothing
  // to wait for. On a single Redis (redis://, unix://) it is Command.
  // Error replies come back as replies, as from Command.
  virtual RedisReply DurableCommand(const std::vector<std::string>& argv) {
    return Command(argv);
  }

  // ABI version 7 (the three functions below; defaults for a client that
  // cannot send without waiting).

  // Sends `argv` without waiting for its reply, for a write whose outcome
  // the caller can do without (the json and pickle stores: their script
  // enforces the clears' fence on the server whenever it runs, so a store
  // that arrives after a clear is refused there). Returns true once the
  // command was written to a connection of the pool: its reply is read
  // (and dropped) before the next command on that connection, or never if
  // the connection is dropped; an error reply read so counts in
  // deferred_errors(). A later command of this client on the same
  // connection runs after it; on another connection Redis may run it first
  // (on one host it does not in practice: the bytes are in the server's
  // socket first). A cluster client sends it to the node serving its first
  // key and follows no redirection (a MOVED or ASK reply counts as an
  // error). Not counted in round_trips(). Returns false, having sent
  // nothing, when the client cannot send this command without waiting now,
  // and always unless the URL says `deferred_stores=1` (then the caller
  // uses Command). Throws std::runtime_error as Command
  // does when the command could not be written.
  virtual bool Send(const std::vector<std::string>& argv) {
    (void)argv;
    return false;
  }

  // Error replies to Send() read so far (a refused script, NOSCRIPT after
  // a restart, a redirection, READONLY after a failover); never decreases.
  // A caller that sees it move sends its next write with Command, whose
  // reply it can act on. Never throws; no round trip.
  virtual int64_t deferred_errors() const { return 0; }

  // Returns once every Send made before the call (by any thread) has run
  // on its server (its reply read), so a command sent after it, on any
  // connection, runs after them; or after the client's command timeout
  // (best effort: a connection that failed meanwhile lost its Sends).
  // Reads the replies waiting on idle connections itself. Cheap when no
  // Send is unread. Returns whether this client sends without waiting at
  // all (`deferred_stores=1`). Never throws. Thread-safe.
  virtual bool Settle() { return false; }

  // Makes a client for `url`, one of
  //   redis://[[user]:password@]host[:port][/db][?options]
  //   unix:///path/to.sock[?db=N&options]
  //   redis-cluster://[[user]:password@]host:port[,host:port...][?options]
  //   redis-sentinel://[[user]:password@]host:port[,host:port...]/MASTER[/db][?options]
  // with options `connect_timeout_ms` (default 1000), `timeout_ms` (command
  // timeout, default 1000), `pool_size` (idle connections kept per
  // server, default 8) and `deferred_stores` (0 or 1, default 0: Send); Cluster
  // and Sentinel URLs also take `wait_timeout_ms` (DurableCommand, default
  // 1000), a cluster `buckets` (default 16) and Sentinel `sentinel_user` /
  // `sentinel_password` (docs/redis.md). Port defaults to 6379 and db to 0 (the
  // sentinels' port to 26379). AUTH (when a password is given) and SELECT (when
  // db != 0) run on every new connection. No connection is made here: the
  // first command connects (and a cluster client learns the slot map, a
  // Sentinel client the master).
  // Throws std::invalid_argument naming what is wrong with a malformed URL
  // (never quoting the password).
  // Defined in the host library (//core), not available to plugins.
  static std::shared_ptr<RedisClient> FromUrl(const std::string& url);
};

}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_REDIS_CLIENT_H_
