// File: testing/memcached_server.h
// -----------------------------------------------------------------------------
//
// A private `memcached` for tests: started on a free loopback port, stopped
// (and reaped) when the object is destroyed or `Stop()` is called. Only
// 127.0.0.1 is used; UDP is off.
//
//   auto server = ca::testing::MemcachedServer::Start();
//   setenv("CACHE_ALCHEMY_MEMCACHED_SERVERS", server->address().c_str(), 1);
//   ...
//   server->Stop();  // now every request to it fails (fail-open tests)

#ifndef CACHE_ALCHEMY_TESTING_MEMCACHED_SERVER_H_
#define CACHE_ALCHEMY_TESTING_MEMCACHED_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <string>

namespace cache_alchemy {
namespace testing {

// Thread safety: not thread-safe; use from the test's main thread.
class MemcachedServer {
 public:
  // Starts `binary` (default /usr/bin/memcached) with `-l 127.0.0.1 -p <free
  // port> -U 0` and waits until it accepts connections. Throws
  // std::runtime_error naming the binary and the reason when it cannot.
  static std::unique_ptr<MemcachedServer> Start(
      const std::string& binary = "/usr/bin/memcached");

  ~MemcachedServer();
  MemcachedServer(const MemcachedServer&) = delete;
  MemcachedServer& operator=(const MemcachedServer&) = delete;

  int port() const { return port_; }
  // "127.0.0.1:<port>", the form CACHE_ALCHEMY_MEMCACHED_SERVERS takes.
  std::string address() const;
  // Kills the server and waits for it to exit. Idempotent.
  void Stop();
  bool running() const { return pid_ > 0; }

 private:
  MemcachedServer(pid_t pid, int port) : pid_(pid), port_(port) {}

  pid_t pid_;
  int port_;
};

}  // namespace testing
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_TESTING_MEMCACHED_SERVER_H_
