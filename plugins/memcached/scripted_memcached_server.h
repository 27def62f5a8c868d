// File: plugins/memcached/scripted_memcached_server.h
// -----------------------------------------------------------------------------
//
// A stand-in for a Memcached server, for tests and the replies fuzz target:
// it listens on a free loopback port and answers the n-th request it
// receives since the last Script() (whatever the connection) with the n-th
// scripted reply, byte for byte, so a test can play a hostile or broken
// server. One connection at a time; when the script runs out (or the client
// goes quiet, waiting for more of a reply), it closes its side, so a client
// never waits for a timeout.
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

  // The replies to the next requests, in order.
  void Script(std::vector<std::string> replies);

  // When on, each reply is cut after one complete response to its request
  // (trailing bytes would stay in libmemcached's buffer for a later
  // command), and a reply to a storage command (set, add, replace, append,
  // prepend, cas) that is not a storage status (STORED, NOT_STORED, EXISTS,
  // NOT_FOUND, ERROR, CLIENT_ERROR, SERVER_ERROR) becomes a SERVER_ERROR:
  // libmemcached 1.1 aborts the process when a storage command reads
  // anything else (memcached_client_test KnownLibmemcachedAbort...), a known
  // bug the fuzz target steps around to keep exploring. Off by default.
  void WithholdRepliesThatAbortLibmemcached(bool on);

  // Waits (at most 2 s) until every connection accepted so far is closed.
  void WaitIdle();

  // `reply` with its escapes expanded for a request naming `keys`.
  static std::string Expand(std::string_view reply,
                            const std::vector<std::string>& keys);

 private:
  void Serve();
  void Answer(int connection);
  // The next scripted reply; false when the script ran out.
  bool NextReply(std::string* reply);

  int listener_ = -1;
  int port_ = 0;
  std::mutex mu_;
  std::condition_variable idle_;
  std::vector<std::string> replies_;
  size_t next_ = 0;
  int open_ = 0;
  bool withhold_ = false;
};

}  // namespace memcached
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_PLUGINS_MEMCACHED_SCRIPTED_MEMCACHED_SERVER_H_
