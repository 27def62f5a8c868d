// Issue 16 on every built-in backend and the Memcached plugin, against real
// servers the test starts (a private redis-server and memcached): per-key
// operations (invalidate, put, refresh, uncached), TTL jitter, cached
// exceptions, `unless`, refresh-ahead and async functions, with the fake
// clock wherever time matters. Each backend must also keep the fences: a
// computation in another process (fork) that began before an invalidation
// or a put is not stored after it, and an operation that cannot reach its
// server throws ca::ClearError.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <future>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cache_alchemy/cache_alchemy.h"
#include "core/internal/task_pool.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/fake_clock.h"
#include "testing/memcached_server.h"
#include "testing/redis_server.h"

namespace ca = cache_alchemy;

namespace {

using ::cache_alchemy::testing::SharedRedisServer;
using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;

enum class Kind { kMemory, kDistributedMemory, kJson, kPickle, kMemcached };

struct Backend {
  const char* label;
  const char* dotted;
  const char* redis_class;  // the class name in Redis keys, or null
  Kind kind;
};

const Backend kBackends[] = {
    {"Memory", "cache_alchemy.backends.memory.MemoryCache", nullptr,
     Kind::kMemory},
    {"DistributedMemory",
     "cache_alchemy.backends.memory.DistributedMemoryCache",
     "DistributedMemoryCache", Kind::kDistributedMemory},
    {"Json", "cache_alchemy.backends.json.DistributedJsonCache",
     "DistributedJsonCache", Kind::kJson},
    {"Pickle", "cache_alchemy.backends.pickle.DistributedPickleCache",
     "DistributedPickleCache", Kind::kPickle},
    {"Memcached", "cache_alchemy_contrib.backends.memcached.MemcachedCache",
     nullptr, Kind::kMemcached},
};

struct NotFound : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// Not rebuildable from its what(): refused by serializing backends.
struct Opaque : std::exception {
  explicit Opaque(int code) : code(code) {}
  int code;
};

void WaitForBackground() {
  ca::internal::TaskPool::Refresh().WaitIdle();
  ca::internal::TaskPool::Waiters().WaitIdle();
}

// One memcached command, its reply up to `end` (`lru_crawler metadump all`
// lists every item with its absolute expiry, then "END").
std::string MemcachedCommand(int port, const std::string& command,
                             const std::string& end = "END\r\n") {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string reply;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      write(fd, command.data(), command.size()) ==
          static_cast<ssize_t>(command.size())) {
    char buffer[65536];
    while (reply.size() < end.size() ||
           reply.compare(reply.size() - end.size(), end.size(), end)) {
      pollfd p = {fd, POLLIN, 0};
      if (poll(&p, 1, 5000) <= 0) break;
      const ssize_t n = read(fd, buffer, sizeof(buffer));
      if (n <= 0) break;
      reply.append(buffer, static_cast<size_t>(n));
    }
  }
  close(fd);
  return reply;
}

// A forked child with a pipe each way carrying int64 messages.
class Child {
 public:
  explicit Child(const std::function<int(Child&)>& body) {
    int down[2], up[2];
    if (pipe(down) != 0 || pipe(up) != 0) std::abort();
    pid_ = fork();
    if (pid_ == 0) {
      close(down[1]);
      close(up[0]);
      in_ = down[0];
      out_ = up[1];
      _exit(body(*this));
    }
    close(down[0]);
    close(up[1]);
    in_ = up[0];
    out_ = down[1];
  }
  void Send(int64_t v) {
    if (write(out_, &v, sizeof(v)) != sizeof(v)) std::abort();
  }
  int64_t Receive() {
    pollfd p = {in_, POLLIN, 0};
    if (poll(&p, 1, 10000) <= 0) return -1;
    int64_t v = -1;
    if (read(in_, &v, sizeof(v)) != sizeof(v)) return -1;
    return v;
  }
  int Wait() {
    close(out_);
    int status = 0;
    waitpid(pid_, &status, 0);
    close(in_);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
  }

 private:
  pid_t pid_ = 0;
  int in_ = -1;
  int out_ = -1;
};

class BackendFeaturesTest : public ::testing::TestWithParam<Backend> {
 protected:
  static void SetUpTestSuite() {
    memcached_ = ca::testing::MemcachedServer::Start().release();
    setenv("CACHE_ALCHEMY_MEMCACHED_SERVERS", memcached_->address().c_str(), 1);
  }
  static void TearDownTestSuite() {
    delete memcached_;
    memcached_ = nullptr;
  }
  void SetUp() override {
    redis_ = ca::RedisClient::FromUrl(SharedRedisServer()->url());
    redis_->Command({"FLUSHALL"});
    config_ = std::make_unique<ca::config::DefaultConfig>();
    config_->cache_redis_client = redis_;
  }
  void TearDown() override { WaitForBackground(); }

  Kind kind() const { return GetParam().kind; }
  bool serialized() const {
    return kind() == Kind::kJson || kind() == Kind::kPickle ||
           kind() == Kind::kMemcached;
  }
  bool shares_across_processes() const {
    return kind() == Kind::kJson || kind() == Kind::kPickle ||
           kind() == Kind::kMemcached;
  }

  // Options naming a function unique to this test and backend (memcached
  // is not flushed between tests).
  ca::CacheOptions Opts(const std::string& suffix = "") {
    ca::CacheOptions o;
    o.backend = GetParam().dotted;
    o.name = std::string("features.") +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() +
             suffix + "." + std::to_string(run_);
    return o;
  }

  // The remaining lifetimes (ms) of the function's value keys in Redis.
  std::vector<int64_t> RedisTtls(const std::string& name) {
    ca::RedisReply keys = redis_->Command(
        {"KEYS", std::string(GetParam().redis_class) + ":" + name + "@*}:*"});
    std::vector<int64_t> ttls;
    for (const auto& k : keys.elements) {
      ttls.push_back(redis_->Command({"PTTL", k.str}).integer);
    }
    return ttls;
  }
  // The remaining lifetimes (s) of every entry item in memcached.
  std::vector<int64_t> MemcachedTtls() {
    const std::string dump =
        MemcachedCommand(memcached_->port(), "lru_crawler metadump all\r\n");
    std::vector<int64_t> ttls;
    const int64_t now = static_cast<int64_t>(std::time(nullptr));
    size_t at = 0;
    while ((at = dump.find("key=ca%3Ae%3A", at)) != std::string::npos) {
      const size_t exp = dump.find(" exp=", at);
      if (exp == std::string::npos) break;
      ttls.push_back(std::atoll(dump.c_str() + exp + 5) - now);
      at = exp;
    }
    return ttls;
  }

  static ca::testing::MemcachedServer* memcached_;
  // Distinguishes repeated runs (--gtest_repeat) in memcached.
  static inline int run_ = static_cast<int>(getpid());
  std::shared_ptr<ca::RedisClient> redis_;
  std::unique_ptr<ca::config::DefaultConfig> config_;
};

ca::testing::MemcachedServer* BackendFeaturesTest::memcached_ = nullptr;

// --- Per-key operations ---

TEST_P(BackendFeaturesTest, InvalidateRemovesExactlyThatEntry) {
  int calls = 0;
  auto f = ca::cache(Opts(), [&](int a) {
    ++calls;
    return a * 10;
  });
  f(1);
  f(2);
  EXPECT_EQ(f.invalidate(1), 1);
  EXPECT_EQ(f.invalidate(1), 0);
  EXPECT_EQ(f(2), 20);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(f(1), 10);
  EXPECT_EQ(calls, 3);
}

TEST_P(BackendFeaturesTest, PutIsSeenByAnotherWrapperOfTheName) {
  auto o = Opts();
  auto f = ca::cache(o, [](int a) { return a; });
  EXPECT_TRUE(f.put(99, 1));
  int calls = 0;
  auto g = ca::cache(o, [&](int a) {
    ++calls;
    return a;
  });
  EXPECT_EQ(g(1), 99);
  EXPECT_EQ(calls, 0);
  EXPECT_TRUE(g.put(100, 1));
  EXPECT_EQ(f(1), 100);
}

TEST_P(BackendFeaturesTest, RefreshAndUncached) {
  int calls = 0;
  auto f = ca::cache(Opts(), [&](int a) { return ++calls * 100 + a; });
  EXPECT_EQ(f(1), 101);
  EXPECT_EQ(f.refresh(1), 201);
  EXPECT_EQ(f(1), 201);
  EXPECT_EQ(f.uncached(1), 301);
  EXPECT_EQ(f(1), 201);
  EXPECT_EQ(calls, 3);
}

// Another process (fork) computes from old data while this one invalidates
// or puts: its value must not be stored. (DistributedMemoryCache keeps
// values per process: backends/memory/key_invalidation_test.cc.)
TEST_P(BackendFeaturesTest, InvalidateAndPutFenceAnotherProcess) {
  if (!shares_across_processes() || kind() == Kind::kMemcached) {
    // Memcached's client is not fork-safe; its fences are tested at the
    // backend interface (plugins/memcached/memcached_cache_test.cc).
    GTEST_SKIP() << "values are not shared across processes here";
  }
  for (const bool put : {false, true}) {
    auto o = Opts(put ? ".put" : ".invalidate");
    Child child([&](Child& parent) {
      int calls = 0;
      auto g = ca::cache(o, [&](int a) {
        if (++calls == 1) {
          parent.Send(1);  // looked up, read the old data
          if (parent.Receive() != 2) return -1;
          return 1000 + a;
        }
        return 2000 + a;
      });
      if (g(1) != 1001) return 1;
      const int next = g(1);
      // Not the held computation's value: the put one, or computed anew.
      if (next != (put ? 777 : 2001)) return 10 + (next == 1001 ? 1 : 2);
      return 0;
    });
    auto f = ca::cache(o, [](int a) { return 3000 + a; });
    ASSERT_EQ(child.Receive(), 1);
    if (put) {
      EXPECT_TRUE(f.put(777, 1));
    } else {
      f.invalidate(1);
    }
    child.Send(2);
    EXPECT_EQ(child.Wait(), 0) << (put ? "put" : "invalidate");
  }
}

// --- TTL jitter ---

TEST_P(BackendFeaturesTest, JitterSpreadsExpiriesOverTheWindow) {
  ca::testing::FakeClock clock;
  ca::testing::ScopedClockOverride use(&clock);
  if (kind() == Kind::kMemcached) {
    // Only this test's items in the dump.
    ASSERT_EQ(MemcachedCommand(memcached_->port(), "flush_all\r\n", "\r\n"),
              "OK\r\n");
  }
  auto o = Opts();
  o.limit = -1;
  o.expire = 100;
  o.expire_jitter = 0.5;  // 50..100 s
  auto f = ca::cache(o, [](int a) { return a; });
  constexpr int kKeys = 200;
  for (int i = 0; i < kKeys; ++i) f(i);
  std::vector<int64_t> ttl_s;
  switch (kind()) {
    case Kind::kMemory:
    case Kind::kDistributedMemory: {
      // In-process entries expire by the (fake) host clock.
      clock.Advance(milliseconds(49'999));
      for (int i = 0; i < kKeys; ++i) f(i);
      EXPECT_EQ(f.misses(), kKeys);         // none expired yet
      clock.Advance(milliseconds(25'001));  // 75 s: about half
      for (int i = 0; i < kKeys; ++i) f(i);
      EXPECT_NEAR(f.misses() - kKeys, kKeys / 2, kKeys / 5);
      if (kind() == Kind::kMemory) break;
      [[fallthrough]];  // and the timestamps in Redis by the server's
    }
    case Kind::kJson:
    case Kind::kPickle:
      for (int64_t ms : RedisTtls(o.name)) ttl_s.push_back(ms / 1000);
      break;
    case Kind::kMemcached:
      ttl_s = MemcachedTtls();
      break;
  }
  if (kind() == Kind::kMemory) return;
  ASSERT_GE(ttl_s.size(), static_cast<size_t>(kKeys));
  std::set<int64_t> bins;  // 10-second bins
  for (int64_t s : ttl_s) {
    EXPECT_GE(s, 48);  // 50 s, less the seconds the test took
    EXPECT_LE(s, 101);
    bins.insert(s / 10);
  }
  EXPECT_GE(bins.size(), 4u);  // spread, not one expiry for all
}

// --- Cached exceptions and unless ---

TEST_P(BackendFeaturesTest, ACachedExceptionComesBackUntilItsTtl) {
  ca::testing::FakeClock clock;
  ca::testing::ScopedClockOverride use(&clock);
  auto o = Opts();
  o.expire = 60;
  o.cache_exceptions = ca::CacheExceptions<NotFound>(seconds(5));
  int calls = 0;
  auto f = ca::cache(o, [&](int a) -> int {
    ++calls;
    if (a < 0) throw NotFound("no user " + std::to_string(a));
    if (a == 0) throw std::logic_error("bug");
    return a;
  });
  for (int i = 0; i < 2; ++i) {
    try {
      f(-1);
      ADD_FAILURE() << "no exception";
    } catch (const NotFound& e) {
      EXPECT_STREQ(e.what(), "no user -1");
    }
  }
  EXPECT_EQ(calls, 1);
  EXPECT_THROW(f(0), std::logic_error);
  EXPECT_THROW(f(0), std::logic_error);
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(f(3), 3);
  EXPECT_EQ(f(3), 3);
  EXPECT_EQ(calls, 4);
  if (GetParam().redis_class != nullptr) {
    // The exception's key lives its own TTL in Redis, the value the
    // function's expire.
    std::vector<int64_t> ttls = RedisTtls(o.name);
    ASSERT_EQ(ttls.size(), 2u);
    std::sort(ttls.begin(), ttls.end());
    EXPECT_LE(ttls[0], 5'000);
    EXPECT_GT(ttls[1], 50'000);
  }
  // Never served past its TTL, whatever the server still holds
  // (memcached rounds up to seconds; the fake clock moved, not the server's).
  clock.Advance(seconds(5));
  EXPECT_THROW(f(-1), NotFound);
  EXPECT_EQ(calls, 5);
  EXPECT_EQ(f.invalidate(-1), 1);
}

TEST_P(BackendFeaturesTest, ExceptionsThatCannotBeRebuiltAreRefusedAtWrapTime) {
  auto o = Opts();
  o.cache_exceptions = ca::CacheExceptions<Opaque>(seconds(5));
  if (!serialized()) {
    auto f = ca::cache(o, [](int a) -> int { throw Opaque(a); });
    try {
      f(7);
    } catch (const Opaque& e) {
      EXPECT_EQ(e.code, 7);
    }
    try {
      f(7);  // the object itself, kept in process
    } catch (const Opaque& e) {
      EXPECT_EQ(e.code, 7);
    }
    return;
  }
  try {
    ca::cache(o, [](int a) -> int { throw Opaque(a); });
    ADD_FAILURE() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("Opaque"));
    EXPECT_THAT(e.what(), HasSubstr("constructible from std::string"));
    EXPECT_THAT(e.what(), HasSubstr(GetParam().dotted));
  }
}

TEST_P(BackendFeaturesTest, UnlessKeepsSomeResultsOut) {
  auto o = Opts();
  o.unless = [](const std::string& s) { return s.empty(); };
  int calls = 0;
  auto f = ca::cache(o, [&](int n) {
    ++calls;
    return std::string(n, 'x');
  });
  f(0);
  f(0);
  f(2);
  f(2);
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(f.size(), 1);
}

// --- The maximum value size (issue 11) ---

// A result bigger than max_value_bytes is returned but not stored, counted
// and exported; smaller ones are cached as usual; in-process backends keep
// objects, which the limit does not apply to.
TEST_P(BackendFeaturesTest, OversizedResultsAreReturnedButNotStored) {
  auto o = Opts();
  o.max_value_bytes = 1000;
  int calls = 0;
  auto f = ca::cache(o, [&](int n) {
    ++calls;
    return std::string(static_cast<size_t>(n), 'x');
  });
  EXPECT_EQ(f(5000).size(), 5000u);
  EXPECT_EQ(f(5000).size(), 5000u);
  EXPECT_EQ(f(10), "xxxxxxxxxx");
  EXPECT_EQ(f(10), "xxxxxxxxxx");
  EXPECT_EQ(f.errors(), 0);
  if (serialized()) {
    EXPECT_EQ(calls, 3);
    EXPECT_EQ(f.oversized(), 2);
    EXPECT_EQ(f.size(), 1);
    EXPECT_THAT(
        ca::metrics::PrometheusText(),
        HasSubstr("cache_alchemy_oversized_total{function=\"" + o.name + "\""));
    // A put of an oversized value stores nothing (the old entry is gone, as
    // put's contract says): the next call computes.
    EXPECT_FALSE(f.put(std::string(2000, 'y'), 10));
    EXPECT_EQ(f(10), "xxxxxxxxxx");
    EXPECT_EQ(calls, 4);
  } else {
    EXPECT_EQ(calls, 2);
    EXPECT_EQ(f.oversized(), 0);
  }
}

// Without the option, the config's CACHE_ALCHEMY_MAX_VALUE_BYTES applies;
// a bad value is refused at wrap time, naming the function and the value.
TEST_P(BackendFeaturesTest, MaxValueBytesComesFromTheConfig) {
  config_->set("CACHE_ALCHEMY_MAX_VALUE_BYTES", 100);
  int calls = 0;
  auto f = ca::cache(Opts(), [&](int n) {
    ++calls;
    return std::string(static_cast<size_t>(n), 'x');
  });
  f(200);
  f(200);
  EXPECT_EQ(calls, serialized() ? 2 : 1);
  auto o = Opts("bad");
  o.max_value_bytes = 0;
  try {
    ca::cache(o, [](int n) { return n; });
    FAIL() << "max_value_bytes = 0 was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("max_value_bytes is 0"));
    EXPECT_THAT(e.what(), HasSubstr(o.name));
  }
}

// --- Refresh-ahead ---

TEST_P(BackendFeaturesTest, RefreshAheadServesOldAndRefreshesInTheBackground) {
  ca::testing::FakeClock clock;
  ca::testing::ScopedClockOverride use(&clock);
  auto o = Opts();
  o.expire = 100;
  o.refresh_after = seconds(10);
  std::atomic<int> calls{0};
  auto f = ca::cache(o, [&](int a) { return ++calls * 100 + a; });
  EXPECT_EQ(f(1), 101);
  clock.Advance(seconds(9));
  EXPECT_EQ(f(1), 101);
  WaitForBackground();
  EXPECT_EQ(calls.load(), 1);
  clock.Advance(seconds(1));
  EXPECT_EQ(f(1), 101);  // at once
  WaitForBackground();
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ(f.refreshes(), 1);
  EXPECT_EQ(f(1), 201);
  EXPECT_EQ(calls.load(), 2);
}

TEST_P(BackendFeaturesTest, RefreshAheadLosesToAClear) {
  ca::testing::FakeClock clock;
  ca::testing::ScopedClockOverride use(&clock);
  auto o = Opts();
  o.expire = 100;
  o.refresh_after = seconds(10);
  std::atomic<int> calls{0};
  std::promise<void> entered, release;
  std::shared_future<void> released = release.get_future().share();
  auto f = ca::cache(o, [&](int a) {
    const int n = ++calls;
    if (n == 2) {
      entered.set_value();
      released.wait();
    }
    return n * 100 + a;
  });
  EXPECT_EQ(f(1), 101);
  clock.Advance(seconds(10));
  EXPECT_EQ(f(1), 101);
  entered.get_future().wait();
  f.cache_clear();
  release.set_value();
  WaitForBackground();
  EXPECT_EQ(f(1), 301);
}

// --- Async ---

TEST_P(BackendFeaturesTest, AsyncFunctions) {
  std::atomic<int> calls{0};
  auto f = ca::cache(Opts(), [&](int a) {
    ++calls;
    std::promise<std::string> p;
    if (a < 0) {
      p.set_exception(std::make_exception_ptr(std::runtime_error("failed")));
    } else {
      p.set_value(std::to_string(a));
    }
    return p.get_future();
  });
  EXPECT_EQ(f(5).get(), "5");
  WaitForBackground();
  EXPECT_EQ(f(5).get(), "5");
  EXPECT_EQ(calls.load(), 1);
  EXPECT_THROW(f(-1).get(), std::runtime_error);
  WaitForBackground();
  EXPECT_THROW(f(-1).get(), std::runtime_error);
  EXPECT_EQ(calls.load(), 3);  // a failed one is never stored
  EXPECT_EQ(f.size(), 1);
}

// --- An operation that cannot reach its server ---

TEST_P(BackendFeaturesTest, InvalidateAndPutThrowClearErrorWhenUnreachable) {
  if (kind() == Kind::kMemory) GTEST_SKIP() << "in process: cannot fail";
  std::unique_ptr<ca::testing::RedisServer> redis;
  std::unique_ptr<ca::testing::MemcachedServer> memcached;
  if (kind() == Kind::kMemcached) {
    memcached = ca::testing::MemcachedServer::Start();
    setenv("CACHE_ALCHEMY_MEMCACHED_SERVERS", memcached->address().c_str(), 1);
  } else {
    redis = std::make_unique<ca::testing::RedisServer>();
    config_->cache_redis_client = ca::RedisClient::FromUrl(redis->url());
  }
  int calls = 0;
  auto f = ca::cache(Opts(), [&](int a) {
    ++calls;
    return a;
  });
  setenv("CACHE_ALCHEMY_MEMCACHED_SERVERS", memcached_->address().c_str(), 1);
  EXPECT_EQ(f(1), 1);
  if (memcached) memcached->Stop();
  if (redis) redis->Stop();
  EXPECT_THROW(f.invalidate(1), ca::ClearError);
  EXPECT_THROW(f.put(5, 1), ca::ClearError);
  EXPECT_THROW(f.refresh(1), ca::ClearError);
  // Reads fail open.
  EXPECT_EQ(f(2), 2);
  EXPECT_GT(f.errors(), 0);
}

INSTANTIATE_TEST_SUITE_P(EveryBackend, BackendFeaturesTest,
                         ::testing::ValuesIn(kBackends),
                         [](const auto& info) { return info.param.label; });

}  // namespace
