// File: plugins/memcached/scripted_memcached_server.h
// -----------------------------------------------------------------------------
//
// A stand-in for a Memcached server, for tests and the replies fuzz target:
// it listens on a free loopback port and answers the n-th request of a
// connection with the n-th scripted reply, byte for byte, so a test can play
// a hostile or broken server. One connection at a time; after the last
// reply (or when the client goes quiet, waiting for more), it closes its
// side, so a client never waits for a timeout.
//
//   ScriptedMemcachedServer server;
//   server.Script({"VALUE $K0 0 $#\r\nhello$.\r\nEND\r\n"});
//   MemcachedClient client(server.address());
//   client.Get("k");   // "hello"
//   server.WaitIdle();
//
// Two escapes in replies: "$K0".."$K9" become the keys of the request being
// answered (the words after the command), and "$#...$." becomes the byte
// count of the data between the end of the "$#" line and the "$." (which is
// dropped), so a reply can be well formed whatever the fuzzer does to it.
//
// Thread safety: Script and WaitIdle may be called from any thread; the
// server runs on a thread of its own for the life of the process (make it a
// leaked static).

#ifndef CACHE_ALCHEMY_PLUGINS_MEMCACHED_SCRIPTED_MEMCACHED_SERVER_H_
#define CACHE_ALCHEMY_PLUGINS_MEMCACHED_SCRIPTED_MEMCACHED_SERVER_H_

#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace cache_alchemy {
namespace memcached {

class ScriptedMemcachedServer {
 public:
  // Listens on 127.0.0.1 (a free port). Aborts if it cannot.
  ScriptedMemcachedServer();
  ScriptedMemcachedServer(const ScriptedMemcachedServer&) = delete;
  ScriptedMemcachedServer& operator=(const ScriptedMemcachedServer&) = delete;

  // "127.0.0.1:<port>", for MemcachedClient.
  std::string address() const;

  // The replies of the connections accepted from now on.
  void Script(std::vector<std::string> replies);

  // Waits (at most 2 s) until every connection accepted so far is closed.
  void WaitIdle();

  // `reply` with its escapes expanded for a request naming `keys`.
  static std::string Expand(std::string_view reply,
                            const std::vector<std::string>& keys);

 private:
  void Serve();
  void Answer(int connection, const std::vector<std::string>& replies);

  int listener_ = -1;
  int port_ = 0;
  std::mutex mu_;
  std::condition_variable idle_;
  std::vector<std::string> replies_;
  int open_ = 0;
};

}  // namespace memcached
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_PLUGINS_MEMCACHED_SCRIPTED_MEMCACHED_SERVER_H_
