// ca::RedisClient over hiredis: URL parsing, pool, timeouts, reconnection.

#include "core/redis/hiredis_client.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "config/redact.h"
#include "core/redis/cluster_client.h"
#include "core/redis/cluster_url.h"
#include "core/redis/sentinel_client.h"

namespace cache_alchemy {
namespace redis {
namespace {

// After a failed connect, connects fail fast for this long.
constexpr int64_t kReconnectCooldownMs = 100;

int64_t SteadyNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The URL being parsed, as error messages may show it: whole only with its
// secrets hidden (config/redact.h), and a piece of it (a view into it) only
// if that piece lies outside every secret. A malformed URL is cut in odd
// places (a password with an unescaped '/' or '?' ends up in the "port"), so
// the pieces are checked against the redaction rules, not against what the
// parser took for the password.
class UrlText {
 public:
  explicit UrlText(const std::string& url)
      : url_(url), secrets_(config::SecretSpans(url)) {}

  const std::string& url() const { return url_; }

  // `part`, or "***" if it overlaps a secret of the URL. `part` must be a
  // view into url().
  std::string Show(absl::string_view part) const {
    const size_t begin = static_cast<size_t>(part.data() - url_.data());
    const size_t end = begin + part.size();
    for (const auto& [first, last] : secrets_) {
      if (begin < last && first < end) return "***";
    }
    return std::string(part);
  }

 private:
  const std::string& url_;
  const std::vector<std::pair<size_t, size_t>> secrets_;
};

// Throws std::invalid_argument for `url`, saying `what` is wrong. The URL is
// shown with its secrets hidden; `what` must show pieces of it only through
// UrlText::Show.
[[noreturn]] void BadUrl(const UrlText& url, absl::string_view what) {
  throw std::invalid_argument(absl::StrCat(
      "malformed Redis URL '", config::RedactSecrets(url.url()), "': ", what,
      " (expected redis://[[user]:password@]host[:port][/db] or "
      "unix:///path/to.sock?db=N)"));
}

int ParseInt(const UrlText& url, absl::string_view what, absl::string_view text,
             int min, int max) {
  int value = 0;
  if (!absl::SimpleAtoi(text, &value) || value < min || value > max) {
    BadUrl(url, absl::StrCat(what, " '", url.Show(text),
                             "' is not a number in [", min, ", ", max, "]"));
  }
  return value;
}

// Decodes %XX escapes (passwords may contain '@', ':' or '/').
std::string PercentDecode(const UrlText& url, absl::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    int hi = 0, lo = 0;
    auto hex = [](char c, int* v) {
      if (c >= '0' && c <= '9') return *v = c - '0', true;
      if (c >= 'a' && c <= 'f') return *v = c - 'a' + 10, true;
      if (c >= 'A' && c <= 'F') return *v = c - 'A' + 10, true;
      return false;
    };
    if (i + 2 >= in.size() || !hex(in[i + 1], &hi) || !hex(in[i + 2], &lo)) {
      BadUrl(url, "a '%' escape is not followed by two hex digits");
    }
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

void ParseQuery(const UrlText& url, absl::string_view query,
                RedisEndpoint* ep) {
  if (query.empty()) return;
  for (absl::string_view pair : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(pair, absl::MaxSplits('=', 1));
    if (kv.first == "db") {
      ep->db = ParseInt(url, "db", kv.second, 0, 1 << 20);
    } else if (kv.first == "connect_timeout_ms") {
      ep->connect_timeout_ms =
          ParseInt(url, "connect_timeout_ms", kv.second, 1, 3600 * 1000);
    } else if (kv.first == "timeout_ms") {
      ep->timeout_ms = ParseInt(url, "timeout_ms", kv.second, 1, 3600 * 1000);
    } else if (kv.first == "pool_size") {
      ep->pool_size = ParseInt(url, "pool_size", kv.second, 0, 1024);
    } else if (kv.first == "deferred_stores") {
      ep->deferred_stores =
          ParseInt(url, "deferred_stores", kv.second, 0, 1) == 1;
    } else if (kv.first == "password") {
      ep->password = PercentDecode(url, kv.second);
    } else if (kv.first == "user") {
      ep->user = PercentDecode(url, kv.second);
    } else {
      BadUrl(url, absl::StrCat("unknown option '", url.Show(kv.first),
                               "' (known: db, connect_timeout_ms, timeout_ms, "
                               "pool_size, deferred_stores, user, password)"));
    }
  }
}

// Takes `[[user]:password@]` off the front of `authority` (the part between
// "scheme://" and the path), filling ep->user and ep->password; returns the
// rest (the host list). The last '@' ends the credentials, so a password may
// hold a literal '@'.
absl::string_view ParseUserinfo(const UrlText& url, absl::string_view authority,
                                RedisEndpoint* ep) {
  const size_t at = authority.rfind('@');
  if (at == absl::string_view::npos) return authority;
  const absl::string_view userinfo = authority.substr(0, at);
  const size_t colon = userinfo.find(':');
  if (colon == absl::string_view::npos) {
    BadUrl(url,
           "credentials need a ':' before the password "
           "(redis://:password@host or redis://user:password@host)");
  }
  ep->user = PercentDecode(url, userinfo.substr(0, colon));
  ep->password = PercentDecode(url, userinfo.substr(colon + 1));
  return authority.substr(at + 1);
}

// Parses one `host[:port]` or `[ipv6][:port]` into *host and *port (left as
// is when absent). A list of hosts (cluster, sentinel) calls it per host.
void ParseHostPort(const UrlText& url, absl::string_view text,
                   std::string* host_out, int* port_out) {
  absl::string_view host = text;
  absl::string_view port;
  if (absl::ConsumePrefix(&host, "[")) {  // [IPv6]:port
    size_t close = host.find(']');
    if (close == absl::string_view::npos) BadUrl(url, "'[' without ']'");
    absl::string_view after = host.substr(close + 1);
    host = host.substr(0, close);
    if (!after.empty()) {
      if (after.front() != ':') BadUrl(url, "junk after ']'");
      port = after.substr(1);
      if (port.empty()) BadUrl(url, "empty port after ':'");
    }
  } else if (size_t colon = host.rfind(':'); colon != absl::string_view::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
    if (port.empty()) BadUrl(url, "empty port after ':'");
  }
  if (host.empty()) BadUrl(url, "the host is missing");
  *host_out = std::string(host);
  if (!port.empty()) *port_out = ParseInt(url, "port", port, 1, 65535);
}

timeval ToTimeval(int ms) {
  timeval tv;
  tv.tv_sec = ms / 1000;
  tv.tv_usec = (ms % 1000) * 1000;
  return tv;
}

// Queues one command (binary-safe arguments) on `ctx`, in the Redis
// protocol (RESP: "*N\r\n", then "$LEN\r\nARG\r\n" per argument, as
// hiredis's redisFormatCommandArgv writes it), formatted here in one buffer
// (on the stack for a command of up to 1 KiB) and handed over with
// redisAppendFormattedCommand. hiredis's redisAppendCommandArgv builds the
// same bytes with sds and sdscatfmt: about 3,000 instructions for the
// 3-argument MGET of every hit (callgrind), most of a hit's client work
// beyond the socket calls.
void AppendArgv(redisContext* ctx, const std::vector<std::string>& cmd) {
  constexpr size_t kNumber = 24;  // "*" or "$", 20 digits, "\r\n"
  size_t total = kNumber;
  for (const std::string& arg : cmd) total += kNumber + arg.size() + 2;
  char small[1024];
  std::string large;
  char* out = small;
  if (total > sizeof(small)) {
    large.resize(total);
    out = large.data();
  }
  char* const start = out;
  auto header = [&out](char kind, size_t n) {
    *out++ = kind;
    out = std::to_chars(out, out + 20, n).ptr;
    *out++ = '\r';
    *out++ = '\n';
  };
  header('*', cmd.size());
  for (const std::string& arg : cmd) {
    header('$', arg.size());
    if (!arg.empty()) std::memcpy(out, arg.data(), arg.size());
    out += arg.size();
    *out++ = '\r';
    *out++ = '\n';
  }
  redisAppendFormattedCommand(ctx, start, static_cast<size_t>(out - start));
}

// Sends one command and reads its reply (the caller frees it); null when
// the connection failed (ctx->errstr says why).
redisReply* RoundTrip(redisContext* ctx, const std::vector<std::string>& cmd) {
  AppendArgv(ctx, cmd);
  void* raw = nullptr;
  if (redisGetReply(ctx, &raw) != REDIS_OK) return nullptr;
  return static_cast<redisReply*>(raw);
}

RedisReply Convert(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) {
        out.elements.push_back(Convert(r->element[i]));
      }
      break;
    default:
      out.type = RedisReply::Type::kNil;
      break;
  }
  return out;
}

}  // namespace

std::string RedisEndpoint::Describe() const {
  if (!socket_path.empty()) return absl::StrCat("unix://", socket_path);
  return absl::StrCat("redis://", host, ":", port, "/", db);
}

RedisEndpoint ParseRedisUrl(const std::string& text) {
  const UrlText url(text);
  RedisEndpoint ep;
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(absl::string_view(url.url()), absl::MaxSplits('?', 1));
  absl::string_view base = parts.first;
  absl::string_view query = parts.second;
  if (absl::ConsumePrefix(&base, "unix://")) {
    if (base.empty() || base.front() != '/') {
      BadUrl(url, "a unix URL needs an absolute socket path after unix://");
    }
    ep.socket_path = std::string(base);
    ep.host.clear();
    ParseQuery(url, query, &ep);
    return ep;
  }
  if (!absl::ConsumePrefix(&base, "redis://")) {
    BadUrl(url, "the scheme must be redis:// or unix://");
  }
  absl::string_view authority = base;
  absl::string_view path;
  if (size_t slash = base.find('/'); slash != absl::string_view::npos) {
    authority = base.substr(0, slash);
    path = base.substr(slash + 1);
  }
  ParseHostPort(url, ParseUserinfo(url, authority, &ep), &ep.host, &ep.port);
  if (!path.empty()) ep.db = ParseInt(url, "db", path, 0, 1 << 20);
  ParseQuery(url, query, &ep);
  return ep;
}

namespace {

// Bumped in every child right after fork(): a connection remembers the
// value it was opened under, so a child never talks on its parent's socket
// (no getpid() system call per command, which cost more than a local GET).
std::atomic<uint64_t> g_fork_generation{0};

void CountForkInChild() {
  g_fork_generation.fetch_add(1, std::memory_order_relaxed);
}

// Blocks SIGPIPE on this thread while it lives, and takes back one that a
// write raised meanwhile. A write normally learns of a connection the
// server closed from the read that follows it; a Send reads nothing, so
// the next write on that connection (its own or the next command's) would
// raise SIGPIPE, which kills a process that did not ignore it.
class ScopedNoSigpipe {
 public:
  ScopedNoSigpipe() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~ScopedNoSigpipe() {
    sigset_t pending;
    if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1) {
      const timespec now = {0, 0};
      sigtimedwait(&pipe_, nullptr, &now);
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  ScopedNoSigpipe(const ScopedNoSigpipe&) = delete;
  ScopedNoSigpipe& operator=(const ScopedNoSigpipe&) = delete;

 private:
  sigset_t pipe_;
  sigset_t old_;
};

// Counts a connection taken from the pool as in use until it goes out of
// scope, whichever way the attempt that took it ends.
struct InUse {
  std::atomic<int>* count;
  ~InUse() { count->fetch_sub(1, std::memory_order_relaxed); }
};

}  // namespace

struct HiredisClient::Connection {
  HiredisClient* owner = nullptr;  // outlives its connections
  redisContext* ctx = nullptr;
  uint64_t fork_generation = 0;  // g_fork_generation when it was opened
  int pending = 0;               // replies of Sends not read yet
  uint64_t newest_seq = 0;       // the newest of them (Settle)
};

void HiredisClient::ConnectionDeleter::operator()(Connection* c) const {
  if (c->pending > 0) c->owner->ForgetUnread(*c);  // lost with it
  if (c->ctx != nullptr) redisFree(c->ctx);
  delete c;
}

HiredisClient::HiredisClient(RedisEndpoint endpoint)
    : endpoint_(std::move(endpoint)) {
  static std::once_flag once;
  std::call_once(once,
                 [] { pthread_atfork(nullptr, nullptr, &CountForkInChild); });
}

HiredisClient::~HiredisClient() { DropIdle(); }

void HiredisClient::FailFastIfCoolingDown() const {
  if (SteadyNowMs() < retry_after_ms_.load(std::memory_order_relaxed)) {
    throw std::runtime_error(absl::StrCat(
        "redis ", endpoint_.Describe(),
        ": not tried (the server failed to connect or timed out moments ago; "
        "retrying after a cool-down)"));
  }
}

redisContext* OpenRedisContext(const RedisEndpoint& endpoint,
                               bool* connect_failed) {
  const timeval connect_tv = ToTimeval(endpoint.connect_timeout_ms);
  redisContext* ctx = endpoint.socket_path.empty()
                          ? redisConnectWithTimeout(endpoint.host.c_str(),
                                                    endpoint.port, connect_tv)
                          : redisConnectUnixWithTimeout(
                                endpoint.socket_path.c_str(), connect_tv);
  if (ctx == nullptr || ctx->err != 0) {
    std::string error = ctx != nullptr ? ctx->errstr : "out of memory";
    if (ctx != nullptr) redisFree(ctx);
    if (connect_failed != nullptr) *connect_failed = true;
    throw std::runtime_error(absl::StrCat("redis ", endpoint.Describe(),
                                          ": cannot connect: ", error));
  }
  redisSetTimeout(ctx, ToTimeval(endpoint.timeout_ms));
  std::vector<std::vector<std::string>> hello;
  if (!endpoint.password.empty()) {
    if (endpoint.user.empty()) {
      hello.push_back({"AUTH", endpoint.password});
    } else {
      hello.push_back({"AUTH", endpoint.user, endpoint.password});
    }
  }
  if (endpoint.db != 0)
    hello.push_back({"SELECT", std::to_string(endpoint.db)});
  if (endpoint.master_only) hello.push_back({"ROLE"});
  for (const auto& cmd : hello) {
    redisReply* reply = RoundTrip(ctx, cmd);
    if (reply == nullptr) {
      std::string error = ctx->errstr;
      redisFree(ctx);
      throw std::runtime_error(absl::StrCat("redis ", endpoint.Describe(), ": ",
                                            cmd[0], " failed: ", error));
    }
    bool failed = reply->type == REDIS_REPLY_ERROR;
    std::string message = failed ? std::string(reply->str, reply->len) : "";
    if (!failed && cmd[0] == "ROLE") {
      const RedisReply role = Convert(reply);
      const std::string is =
          role.elements.empty() ? "unknown" : role.elements[0].str;
      failed = is != "master";
      message = absl::StrCat("the server is a ", is,
                             ", not a master (a failover moved the master)");
    }
    freeReplyObject(reply);
    if (failed) {
      redisFree(ctx);
      throw std::runtime_error(absl::StrCat("redis ", endpoint.Describe(), ": ",
                                            cmd[0], " refused: ", message));
    }
  }
  return ctx;
}

RedisReply ConvertReply(const redisReply* reply) { return Convert(reply); }

HiredisClient::ConnectionPtr HiredisClient::Connect() {
  FailFastIfCoolingDown();
  ConnectionPtr conn(new Connection);
  conn->owner = this;
  conn->fork_generation = g_fork_generation.load(std::memory_order_relaxed);
  bool connect_failed = false;
  try {
    conn->ctx = OpenRedisContext(endpoint_, &connect_failed);
  } catch (const std::runtime_error&) {
    if (connect_failed) {
      retry_after_ms_.store(SteadyNowMs() + kReconnectCooldownMs,
                            std::memory_order_relaxed);
    }
    throw;
  }
  return conn;
}

HiredisClient::ConnectionPtr HiredisClient::Acquire(bool* reused) {
  const uint64_t generation = g_fork_generation.load(std::memory_order_relaxed);
  // The pool keeps as many idle connections as were ever in use at once (at
  // least pool_size), so many threads do not open and close connections.
  const int in_use = in_use_.fetch_add(1, std::memory_order_relaxed) + 1;
  int high = high_water_.load(std::memory_order_relaxed);
  while (in_use > high && !high_water_.compare_exchange_weak(
                              high, in_use, std::memory_order_relaxed)) {
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    while (!idle_.empty()) {
      ConnectionPtr conn = std::move(idle_.back());
      idle_.pop_back();
      if (conn->fork_generation != generation) {
        // Opened by the parent before a fork: its socket is shared with the
        // parent, so this process must not talk on it. Closing our copy of
        // the descriptor does not disturb the parent.
        continue;
      }
      *reused = true;
      return conn;
    }
  }
  *reused = false;
  try {
    return Connect();
  } catch (...) {
    in_use_.fetch_sub(1, std::memory_order_relaxed);
    throw;
  }
}

void HiredisClient::Release(ConnectionPtr conn) {
  const int keep = std::max(endpoint_.pool_size,
                            high_water_.load(std::memory_order_relaxed));
  std::lock_guard<std::mutex> lock(mu_);
  if (static_cast<int>(idle_.size()) < keep) {
    idle_.push_back(std::move(conn));
  }
}

void HiredisClient::DropIdle() {
  std::vector<ConnectionPtr> dropped;
  std::lock_guard<std::mutex> lock(mu_);
  dropped.swap(idle_);
}

std::vector<RedisReply> HiredisClient::Run(const Argv* commands, size_t count,
                                           bool durable) {
  FailFastIfCoolingDown();
  static const Argv kRole = {"ROLE"};
  const size_t expected = count + (durable ? 1 : 0);
  for (int attempt = 0;; ++attempt) {
    bool reused = false;
    ConnectionPtr conn = Acquire(&reused);
    const InUse in_use{&in_use_};  // until this attempt ends
    redisContext* ctx = conn->ctx;
    // After a Send, the server may have closed the connection unseen.
    std::optional<ScopedNoSigpipe> no_sigpipe;
    if (conn->pending > 0) no_sigpipe.emplace();
    for (size_t c = 0; c < count; ++c) AppendArgv(ctx, commands[c]);
    if (durable) AppendArgv(ctx, kRole);
    std::vector<RedisReply> replies;
    replies.reserve(expected);
    // The replies of earlier Sends on this connection come first.
    bool ok = conn->pending == 0 || ReadPending(*conn);
    for (size_t i = 0; ok && i < expected; ++i) {
      void* raw = nullptr;
      if (redisGetReply(ctx, &raw) != REDIS_OK || raw == nullptr) {
        ok = false;
        break;
      }
      auto* reply = static_cast<redisReply*>(raw);
      replies.push_back(Convert(reply));
      freeReplyObject(reply);
    }
    if (ok) {
      round_trips_.fetch_add(1, std::memory_order_relaxed);
      if (durable) {
        RedisReply role = std::move(replies.back());
        replies.pop_back();
        bool broken = false;
        try {
          AwaitReplicas(ctx, role, commands[0].empty() ? "" : commands[0][0],
                        &broken);
        } catch (...) {
          if (!broken) Release(std::move(conn));
          throw;
        }
      }
      Release(std::move(conn));
      return replies;
    }
    const int saved_errno = errno;
    RetryOrThrow(ctx, saved_errno, reused, attempt,
                 commands[0].empty() ? "" : commands[0][0], count);
  }
}

bool HiredisClient::ReadPending(Connection& conn) {
  while (conn.pending > 0) {
    void* raw = nullptr;
    if (redisGetReply(conn.ctx, &raw) != REDIS_OK || raw == nullptr) {
      return false;  // the deleter forgets the rest
    }
    TakePendingReply(conn, raw);
  }
  return true;
}

bool HiredisClient::ReadPendingUntil(
    Connection& conn, std::chrono::steady_clock::time_point deadline) {
  while (conn.pending > 0) {
    void* raw = nullptr;
    // A reply already read from the socket, whole?
    if (redisGetReplyFromReader(conn.ctx, &raw) != REDIS_OK) return false;
    if (raw != nullptr) {
      TakePendingReply(conn, raw);
      continue;
    }
    // Past the deadline, only what has arrived already (poll with 0).
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd ready = {conn.ctx->fd, POLLIN, 0};
    const int n =
        poll(&ready, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;  // nothing came in time: the next user's
    // Readable: one read(2) that does not block (a reply cut in two waits
    // for its rest on the next turn).
    if (redisBufferRead(conn.ctx) != REDIS_OK) return false;
  }
  return true;
}

void HiredisClient::TakePendingReply(Connection& conn, void* raw) {
  auto* reply = static_cast<redisReply*>(raw);
  if (reply->type == REDIS_REPLY_ERROR) {
    deferred_errors_.fetch_add(1, std::memory_order_relaxed);
  }
  freeReplyObject(reply);
  if (conn.pending == 1) ForgetUnread(conn);  // the newest one ran
  --conn.pending;
}

void HiredisClient::EraseUnreadLocked(const Connection& conn) {
  auto it = unread_.find(conn.newest_seq);
  if (it != unread_.end()) unread_.erase(it);
  unread_count_.store(static_cast<int>(unread_.size()),
                      std::memory_order_relaxed);
}

void HiredisClient::AdoptForkGenerationLocked(uint64_t generation) {
  if (unread_fork_generation_ == generation) return;
  // A child: its parent's Sends are not this process's to wait for.
  unread_.clear();
  unread_count_.store(0, std::memory_order_relaxed);
  unread_fork_generation_ = generation;
}

void HiredisClient::ForgetUnread(Connection& conn) {
  {
    std::lock_guard<std::mutex> lock(settle_mu_);
    // Entries of a parent's connections were dropped in a child.
    if (conn.fork_generation == unread_fork_generation_) {
      EraseUnreadLocked(conn);
    }
  }
  settled_.notify_all();
}

void HiredisClient::DrainIdle(std::chrono::steady_clock::time_point deadline) {
  const uint64_t generation = g_fork_generation.load(std::memory_order_relaxed);
  std::vector<ConnectionPtr> taken;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = idle_.begin(); it != idle_.end();) {
      if ((*it)->pending > 0 && (*it)->fork_generation == generation) {
        taken.push_back(std::move(*it));
        it = idle_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (ConnectionPtr& conn : taken) {
    const ScopedNoSigpipe no_sigpipe;
    // A connection that failed is dropped (its Sends were lost); one whose
    // replies did not all come in time goes back with them pending.
    if (ReadPendingUntil(*conn, deadline)) Release(std::move(conn));
  }
}

bool HiredisClient::Settle() {
  return SettleUntil(std::chrono::steady_clock::now() +
                     std::chrono::milliseconds(endpoint_.timeout_ms));
}

bool HiredisClient::SettleUntil(
    std::chrono::steady_clock::time_point deadline) {
  if (!endpoint_.deferred_stores) return false;
  if (unread_count_.load(std::memory_order_acquire) == 0) return true;
  std::unique_lock<std::mutex> lock(settle_mu_);
  AdoptForkGenerationLocked(g_fork_generation.load(std::memory_order_relaxed));
  const uint64_t target = send_seq_;
  auto settled = [&] { return unread_.empty() || *unread_.begin() > target; };
  while (!settled()) {
    lock.unlock();
    DrainIdle(deadline);
    lock.lock();
    if (settled()) return true;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return true;  // best effort
    // The rest are on connections in use: their holders read them first
    // thing (Run), or put them back in the pool (Send, Release).
    settled_.wait_until(
        lock, std::min(deadline, now + std::chrono::milliseconds(1)), settled);
  }
  return true;
}

void HiredisClient::RetryOrThrow(redisContext* ctx, int saved_errno,
                                 bool reused, int attempt,
                                 const std::string& what, size_t count) {
  // A pooled connection the server closed (it restarted): the commands
  // never ran. Drop every idle connection (all are as stale) and retry
  // once on a fresh one. A timeout is not retried.
  const bool stale = ctx->err == REDIS_ERR_EOF ||
                     (ctx->err == REDIS_ERR_IO &&
                      (saved_errno == ECONNRESET || saved_errno == EPIPE));
  if (reused && stale && attempt == 0) {
    DropIdle();
    return;
  }
  if (ctx->err == REDIS_ERR_IO &&
      (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK)) {
    // A hung server: do not make every caller wait a full timeout. Fail
    // fast for as long as the timeout, so callers spend at most about half
    // their time waiting on it.
    retry_after_ms_.store(SteadyNowMs() + endpoint_.timeout_ms,
                          std::memory_order_relaxed);
  }
  throw std::runtime_error(absl::StrCat("redis ", endpoint_.Describe(), ": ",
                                        what, count > 1 ? " (pipeline)" : "",
                                        " failed: ", ctx->errstr));
}

bool HiredisClient::Send(const std::vector<std::string>& argv) {
  if (!endpoint_.deferred_stores) return false;
  FailFastIfCoolingDown();
  for (int attempt = 0;; ++attempt) {
    bool reused = false;
    ConnectionPtr conn = Acquire(&reused);
    const InUse in_use{&in_use_};
    redisContext* ctx = conn->ctx;
    const ScopedNoSigpipe no_sigpipe;
    // Bounded: a connection that only ever sends would pile up replies.
    bool ok = conn->pending < kMaxPendingReplies || ReadPending(*conn);
    if (ok) {
      AppendArgv(ctx, argv);
      int done = 0;
      while (ok && done == 0) ok = redisBufferWrite(ctx, &done) == REDIS_OK;
    }
    if (ok) {
      {
        // Numbered and listed at once: a Settle that reads send_seq_ after
        // this finds the Send in unread_ until its reply is read.
        std::lock_guard<std::mutex> lock(settle_mu_);
        AdoptForkGenerationLocked(conn->fork_generation);
        if (conn->pending > 0) EraseUnreadLocked(*conn);
        conn->newest_seq = ++send_seq_;
        unread_.insert(conn->newest_seq);
        unread_count_.store(static_cast<int>(unread_.size()),
                            std::memory_order_release);
      }
      ++conn->pending;
      Release(std::move(conn));
      settled_.notify_all();  // a Settle may drain it from the pool now
      return true;
    }
    const int saved_errno = errno;
    RetryOrThrow(ctx, saved_errno, reused, attempt, argv.empty() ? "" : argv[0],
                 1);
  }
}

void HiredisClient::AwaitReplicas(redisContext* ctx, const RedisReply& role,
                                  const std::string& what, bool* broken) {
  // ROLE on a master: ["master", offset, [[ip, port, acked offset], ...]]
  // with the replicas online (https://redis.io/commands/role/). On a
  // replica the write itself was refused (READONLY): nothing to wait for.
  if (role.is_error()) {
    throw std::runtime_error(absl::StrCat(
        "redis ", endpoint_.Describe(), ": ", what,
        " ran, but ROLE was refused (", role.str,
        "); writes that must survive a failover need ROLE and WAIT"));
  }
  if (role.type != RedisReply::Type::kArray || role.elements.size() < 3 ||
      role.elements[0].str != "master") {
    return;
  }
  const size_t replicas = role.elements[2].elements.size();
  if (replicas == 0) return;  // nothing can be promoted with a stale copy
  // WAIT covers every write this connection made (the replication stream
  // is ordered, so also every earlier write of the master). Its timeout
  // must fit in the socket's.
  const int wait_ms = endpoint_.wait_timeout_ms;
  redisSetTimeout(ctx, ToTimeval(wait_ms + endpoint_.timeout_ms));
  redisReply* reply = RoundTrip(
      ctx, {"WAIT", std::to_string(replicas), std::to_string(wait_ms)});
  if (reply == nullptr) {
    *broken = true;
    throw std::runtime_error(
        absl::StrCat("redis ", endpoint_.Describe(), ": ", what,
                     " ran, but WAIT failed: ", ctx->errstr));
  }
  redisSetTimeout(ctx, ToTimeval(endpoint_.timeout_ms));
  round_trips_.fetch_add(1, std::memory_order_relaxed);
  const RedisReply acked = Convert(reply);
  freeReplyObject(reply);
  if (acked.type != RedisReply::Type::kInteger ||
      acked.integer < static_cast<int64_t>(replicas)) {
    throw std::runtime_error(absl::StrCat(
        "redis ", endpoint_.Describe(), ": ", what, " ran on the master, but ",
        acked.is_error()
            ? absl::StrCat("WAIT was refused (", acked.str, ")")
            : absl::StrCat("only ", acked.integer, " of ", replicas,
                           " replicas acknowledged it "
                           "within ",
                           wait_ms, " ms"),
        ": a failover now could undo it"));
  }
}

RedisReply HiredisClient::Command(const std::vector<std::string>& argv) {
  std::vector<RedisReply> replies = Run(&argv, 1);
  return std::move(replies.front());
}

std::vector<RedisReply> HiredisClient::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  if (commands.empty()) return {};
  return Run(commands.data(), commands.size());
}

std::unique_ptr<RedisSubscription> HiredisClient::Subscribe(
    const std::vector<std::string>& channels,
    RedisSubscriptionListener* listener) {
  return MakeHiredisSubscription(endpoint_, channels, listener);
}

RedisReply HiredisClient::DurableCommand(const std::vector<std::string>& argv) {
  std::vector<RedisReply> replies = Run(&argv, 1, endpoint_.durable_writes);
  return std::move(replies.front());
}

std::vector<RedisReply> HiredisClient::PipelineDurable(
    const std::vector<std::vector<std::string>>& commands) {
  if (commands.empty()) return {};
  return Run(commands.data(), commands.size(), endpoint_.durable_writes);
}

}  // namespace redis

std::shared_ptr<RedisClient> RedisClient::FromUrl(const std::string& url) {
  if (redis::IsClusterUrl(url)) {
    return std::make_shared<redis::ClusterClient>(redis::ParseClusterUrl(url));
  }
  if (redis::IsSentinelUrl(url)) {
    return std::make_shared<redis::SentinelClient>(
        redis::ParseSentinelUrl(url));
  }
  return std::make_shared<redis::HiredisClient>(redis::ParseRedisUrl(url));
}

}  // namespace cache_alchemy
