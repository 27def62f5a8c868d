// A private redis-server per test binary.

#include "testing/redis_server.h"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace cache_alchemy {
namespace testing {
namespace {

int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("RedisServer: socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    throw std::runtime_error("RedisServer: cannot find a free loopback port");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

std::string ServerBinary() {
  const char* bin = std::getenv("REDIS_SERVER_BIN");
  return bin != nullptr && *bin != '\0' ? bin : "/usr/bin/redis-server";
}

}  // namespace

RedisServer::RedisServer(Options options) : options_(std::move(options)) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string pattern =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") +
      "/redis.XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) {
    throw std::runtime_error("RedisServer: mkdtemp(" + pattern + ") failed");
  }
  dir_ = buf.data();
  socket_path_ = dir_ + "/redis.sock";
  // A unix socket path must fit in sun_path (108 bytes).
  if (socket_path_.size() >= 100) {
    std::string short_pattern = "/tmp/redis.XXXXXX";
    std::vector<char> b2(short_pattern.begin(), short_pattern.end());
    b2.push_back('\0');
    if (mkdtemp(b2.data()) != nullptr)
      socket_path_ = std::string(b2.data()) + "/redis.sock";
  }
  if (!options_.config.empty()) {
    std::ofstream(dir_ + "/redis.conf") << options_.config << "\n";
  }
  owner_ = getpid();
  // A free port can be taken by another process (a test running in
  // parallel) before the server binds it: then try other ports.
  for (int attempt = 1;; ++attempt) {
    port_ = FreeLoopbackPort();
    if (options_.cluster) {
      do {
        cluster_port_ = FreeLoopbackPort();
      } while (cluster_port_ == port_);
    }
    try {
      Start();
      return;
    } catch (const std::runtime_error&) {
      if (attempt == 3 || Log().find("in use") == std::string::npos) throw;
    }
  }
}

RedisServer::~RedisServer() {
  if (getpid() == owner_) Stop();
}

void RedisServer::Start() {
  if (running()) return;
  const std::string bin = ServerBinary();
  if (access(bin.c_str(), X_OK) != 0) {
    throw std::runtime_error("RedisServer: " + bin +
                             " is missing; run setup.sh (it installs the "
                             "redis-server package) or set REDIS_SERVER_BIN");
  }
  std::vector<std::string> args = {bin};
  if (!options_.config.empty()) args.push_back(dir_ + "/redis.conf");
  if (options_.sentinel) args.push_back("--sentinel");
  args.insert(args.end(),
              {"--port", std::to_string(port_), "--bind", "127.0.0.1", "--save",
               "", "--appendonly", "no", "--daemonize", "no", "--dir", dir_,
               "--unixsocket", socket_path_, "--unixsocketperm", "700",
               "--logfile", dir_ + "/redis.log", "--loglevel", "warning",
               // A replica syncs at once (not after 5 s).
               "--repl-diskless-sync-delay", "0"});
  if (options_.cluster) {
    args.insert(args.end(), {"--cluster-enabled", "yes",
                             "--cluster-config-file", "nodes.conf",
                             "--cluster-port", std::to_string(cluster_port_)});
  }
  args.insert(args.end(), options_.args.begin(), options_.args.end());
  if (!options_.password.empty()) {
    args.push_back("--requirepass");
    args.push_back(options_.password);
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, bin.c_str(), nullptr, nullptr, argv.data(), environ) !=
      0) {
    throw std::runtime_error("RedisServer: cannot spawn " + bin);
  }
  pid_ = pid;
  WaitUntilReady();
}

void RedisServer::Stop() {
  if (!running()) return;
  if (getpid() != owner_) {  // a fork child: the server is not ours to kill
    pid_ = 0;
    return;
  }
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = 0;
}

void RedisServer::Restart() {
  Stop();
  Start();
}

void RedisServer::Pause() {
  if (running()) kill(pid_, SIGSTOP);
}

void RedisServer::Resume() {
  if (running()) kill(pid_, SIGCONT);
}

std::string RedisServer::url(int db) const {
  std::string auth =
      options_.password.empty() ? "" : ":" + options_.password + "@";
  return "redis://" + auth + "127.0.0.1:" + std::to_string(port_) + "/" +
         std::to_string(db);
}

std::string RedisServer::address() const {
  return "127.0.0.1:" + std::to_string(port_);
}

std::string RedisServer::unix_url(int db) const {
  std::string url = "unix://" + socket_path_ + "?db=" + std::to_string(db);
  if (!options_.password.empty()) url += "&password=" + options_.password;
  return url;
}

std::string RedisServer::Log() const {
  std::ifstream in(dir_ + "/redis.log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void RedisServer::WaitUntilReady() {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = 0;
      throw std::runtime_error("RedisServer: redis-server exited at start:\n" +
                               Log());
    }
    timeval tv{0, 200000};
    redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
    bool ready = false;
    if (c != nullptr && c->err == 0) {
      redisReply* r = nullptr;
      if (!options_.password.empty()) {
        r = static_cast<redisReply*>(
            redisCommand(c, "AUTH %s", options_.password.c_str()));
        if (r != nullptr) freeReplyObject(r);
      }
      r = static_cast<redisReply*>(redisCommand(c, "PING"));
      ready = r != nullptr && r->type == REDIS_REPLY_STATUS;
      if (r != nullptr) freeReplyObject(r);
    }
    if (c != nullptr) redisFree(c);
    if (ready) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Stop();
  throw std::runtime_error("RedisServer: no PONG on port " +
                           std::to_string(port_) + " within 10 s:\n" + Log());
}

RedisServer* SharedRedisServer() {
  static RedisServer* server = [] {
    auto* s = new RedisServer();
    // Stopped at exit by the process that started it (not by fork children,
    // which leave with _exit).
    std::atexit([] { SharedRedisServer()->Stop(); });
    return s;
  }();
  return server;
}

}  // namespace testing
}  // namespace cache_alchemy
