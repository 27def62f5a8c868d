#include "plugins/memcached/scripted_memcached_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <thread>
#include <utility>

namespace cache_alchemy {
namespace memcached {
namespace {

// How long the server waits for the next request before it decides the
// client is waiting for more of a reply, and closes its side.
constexpr int kIdleMs = 10;

bool WaitReadable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, timeout_ms) == 1;
}

// The keys named by the first line of a request ("get a b", "set k 0 0 5").
std::vector<std::string> RequestKeys(std::string_view request) {
  std::vector<std::string> words;
  const std::string_view line = request.substr(0, request.find("\r\n"));
  size_t start = 0;
  while (start < line.size()) {
    size_t end = line.find(' ', start);
    if (end == std::string_view::npos) end = line.size();
    if (end > start) words.emplace_back(line.substr(start, end - start));
    start = end + 1;
  }
  if (!words.empty()) words.erase(words.begin());  // the command
  return words;
}

bool StartsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

bool IsStorageCommand(std::string_view request) {
  for (std::string_view command :
       {"set ", "add ", "replace ", "append ", "prepend ", "cas "}) {
    if (StartsWith(request, command)) return true;
  }
  return false;
}

bool IsRetrieval(std::string_view request) {
  return StartsWith(request, "get ") || StartsWith(request, "gets ");
}

// `reply` cut after the end of one complete response to `request`, as
// libmemcached reads it: the first line for commands that answer with one;
// for get/gets, VALUE blocks (by their byte counts) up to the END line.
std::string OneResponse(std::string_view request, std::string_view reply) {
  // libmemcached ends a line at '\n' (whatever precedes it).
  if (!IsRetrieval(request)) {
    const size_t eol = reply.find('\n');
    return std::string(
        eol == std::string_view::npos ? reply : reply.substr(0, eol + 1));
  }
  size_t at = 0;
  while (at < reply.size()) {
    const size_t eol = reply.find('\n', at);
    if (eol == std::string_view::npos) return std::string(reply);
    std::string_view line = reply.substr(at, eol - at);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    at = eol + 1;
    if (!StartsWith(line, "VALUE ")) break;  // END, or an error: the end
    // VALUE <key> <flags> <bytes> [<cas>]
    size_t field = 0, begin = 0;
    uint64_t bytes = 0;
    bool parsed = false;
    for (size_t k = 0; k <= line.size(); ++k) {
      if (k == line.size() || line[k] == ' ') {
        if (field == 3) {
          parsed = k > begin;
          for (size_t d = begin; parsed && d < k; ++d) {
            parsed = line[d] >= '0' && line[d] <= '9' && bytes < (1ull << 40);
            bytes = bytes * 10 + static_cast<uint64_t>(line[d] - '0');
          }
        }
        ++field;
        begin = k + 1;
      }
    }
    if (!parsed || bytes + 2 > reply.size() - at) break;
    at += bytes + 2;  // the data and its "\r\n"
  }
  return std::string(reply.substr(0, at));
}

bool IsStorageStatus(std::string_view reply) {
  for (std::string_view status : {"STORED", "NOT_STORED", "EXISTS", "NOT_FOUND",
                                  "ERROR", "CLIENT_ERROR", "SERVER_ERROR"}) {
    if (StartsWith(reply, status)) return true;
  }
  return false;
}

}  // namespace

ScriptedMemcachedServer::ScriptedMemcachedServer() {
  listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (listener_ < 0 ||
      bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(listener_, 16) != 0 ||
      getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::abort();
  }
  port_ = ntohs(addr.sin_port);
  std::thread([this] { Serve(); }).detach();
}

std::string ScriptedMemcachedServer::address() const {
  return "127.0.0.1:" + std::to_string(port_);
}

void ScriptedMemcachedServer::Script(std::vector<std::string> replies) {
  std::lock_guard<std::mutex> lock(mu_);
  replies_ = std::move(replies);
  next_ = 0;
}

bool ScriptedMemcachedServer::NextReply(std::string* reply) {
  std::lock_guard<std::mutex> lock(mu_);
  if (next_ >= replies_.size()) return false;
  *reply = replies_[next_++];
  return true;
}

void ScriptedMemcachedServer::WithholdRepliesThatAbortLibmemcached(bool on) {
  std::lock_guard<std::mutex> lock(mu_);
  withhold_ = on;
}

void ScriptedMemcachedServer::WaitIdle() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_.wait_for(lock, std::chrono::seconds(2), [this] { return open_ == 0; });
}

std::string ScriptedMemcachedServer::Expand(
    std::string_view reply, const std::vector<std::string>& keys) {
  std::string out;
  for (size_t i = 0; i < reply.size(); ++i) {
    if (reply[i] == '$' && i + 2 < reply.size() && reply[i + 1] == 'K' &&
        reply[i + 2] >= '0' && reply[i + 2] <= '9') {
      const size_t n = static_cast<size_t>(reply[i + 2] - '0');
      if (n < keys.size()) out += keys[n];
      i += 2;
    } else {
      out += reply[i];
    }
  }
  for (size_t mark = out.find("$#"); mark != std::string::npos;
       mark = out.find("$#", mark)) {
    const size_t line_end = out.find("\r\n", mark);
    const size_t end = out.find("$.", mark);
    size_t count = 0;
    if (line_end != std::string::npos && end != std::string::npos &&
        end >= line_end + 2) {
      count = end - (line_end + 2);
      out.erase(end, 2);
    }
    const std::string digits = std::to_string(count);
    out.replace(mark, 2, digits);
    mark += digits.size();
  }
  return out;
}

void ScriptedMemcachedServer::Serve() {
  for (;;) {
    const int conn = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) continue;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++open_;
    }
    Answer(conn);
    close(conn);
    std::lock_guard<std::mutex> lock(mu_);
    --open_;
    idle_.notify_all();
  }
}

void ScriptedMemcachedServer::Answer(int conn) {
  char buf[4096];
  std::string scripted;
  for (;;) {
    std::string request;
    // A request: what arrives until a line ends and the client goes quiet;
    // a client quiet from the start is waiting for more of a reply.
    while (WaitReadable(conn, request.empty() ? kIdleMs : 1)) {
      const ssize_t n = read(conn, buf, sizeof(buf));
      if (n <= 0) return;  // the client closed
      request.append(buf, static_cast<size_t>(n));
      if (request.size() >= 2 &&
          request.compare(request.size() - 2, 2, "\r\n") == 0) {
        break;
      }
    }
    if (request.empty() || !NextReply(&scripted)) break;
    std::string reply = Expand(scripted, RequestKeys(request));
    bool withhold = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      withhold = withhold_;
    }
    if (withhold) {
      // Bytes after a complete response stay in libmemcached's buffer, and
      // a later storage command may read them as its own reply.
      reply = OneResponse(request, reply);
      if (IsStorageCommand(request) && !IsStorageStatus(reply)) {
        reply = "SERVER_ERROR withheld (libmemcached aborts on it)\r\n";
      }
    }
    for (size_t sent = 0; sent < reply.size();) {
      const ssize_t n =
          send(conn, reply.data() + sent, reply.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<size_t>(n);
    }
  }
  // No more replies: end our side, then let the client finish.
  shutdown(conn, SHUT_WR);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
  while (std::chrono::steady_clock::now() < deadline &&
         WaitReadable(conn, 20)) {
    if (read(conn, buf, sizeof(buf)) <= 0) return;
  }
}

}  // namespace memcached
}  // namespace cache_alchemy
