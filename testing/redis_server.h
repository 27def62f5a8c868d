// File: testing/redis_server.h
// -----------------------------------------------------------------------------
//
// A private `redis-server` for tests and benchmarks: started on a free
// loopback port (and a unix socket in a temporary directory) with persistence
// off (`--save "" --appendonly no`), ready when it answers PING, stopped when
// the object dies. No test needs a server started by hand.
//
//   ca::testing::RedisServer server;                 // throws if it cannot
//   start auto client = ca::RedisClient::FromUrl(server.url()); server.Stop();
//   // kill -9: the server is gone server.Start();    // again, on the same
//   port
//
// For a whole test binary, `SharedRedisServer()` starts one server on first
// use and stops it at exit. The binary is /usr/bin/redis-server (Debian's
// redis-server package, installed by setup.sh) unless $REDIS_SERVER_BIN says
// otherwise.

#ifndef CACHE_ALCHEMY_TESTING_REDIS_SERVER_H_
#define CACHE_ALCHEMY_TESTING_REDIS_SERVER_H_

#include <sys/types.h>

#include <string>
#include <vector>

namespace cache_alchemy {
namespace testing {

// Thread safety: not thread-safe; use from one thread. Safe across fork():
// only the process that started the server stops it.
class RedisServer {
 public:
  struct Options {
    std::string password;  // non-empty: --requirepass
    // A Redis Cluster node: --cluster-enabled yes, its config file in the
    // server's directory (kept across Stop/Start, so a restarted node
    // rejoins its cluster) and a second free port for the cluster bus.
    bool cluster = false;
    // A sentinel (--sentinel); needs `config` (the `sentinel monitor ...`
    // lines), which the sentinel rewrites as it learns.
    bool sentinel = false;
    // Non-empty: written to <dir>/redis.conf once and passed first.
    std::string config;
    // Appended to the command line, e.g. {"--replicaof", "127.0.0.1 6379"}.
    std::vector<std::string> args;
  };

  // Starts the server. Throws std::runtime_error (with the server's log) if
  // it cannot start or does not answer PING within 10 seconds.
  RedisServer() : RedisServer(Options{}) {}
  explicit RedisServer(Options options);
  ~RedisServer();

  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Kills the server (SIGKILL, like a crash) and waits for it. No-op if it is
  // not running.
  void Stop();
  // Starts it again on the same port and socket; waits until it answers.
  void Start();
  // Stop() then Start().
  void Restart();
  // Freezes (SIGSTOP) and thaws (SIGCONT) the server: a hung server whose
  // connections stay open.
  void Pause();
  void Resume();
  bool running() const { return pid_ > 0; }

  int port() const { return port_; }
  // The cluster bus port (Options::cluster), else 0.
  int cluster_port() const { return cluster_port_; }
  pid_t pid() const { return pid_; }
  // "127.0.0.1:<port>".
  std::string address() const;
  // "redis://127.0.0.1:<port>/<db>" (with ":password@" when set).
  std::string url(int db = 0) const;
  // "unix://<dir>/redis.sock?db=<db>".
  std::string unix_url(int db = 0) const;
  const std::string& socket_path() const { return socket_path_; }

 private:
  void WaitUntilReady();
  std::string Log() const;

  Options options_;
  std::string dir_;
  std::string socket_path_;
  int port_ = 0;
  int cluster_port_ = 0;
  pid_t pid_ = 0;
  pid_t owner_ = 0;
};

// One server for the whole test binary, started on first call, stopped at
// exit. Never null.
RedisServer* SharedRedisServer();

}  // namespace testing
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_TESTING_REDIS_SERVER_H_
