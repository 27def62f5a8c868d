// The three Redis backends end to end, through ca::cache / ca::json_cache /
// ca::pickle_cache and the config's cache_redis_client, on each deployment
// (a private redis-server, a 3-master Redis Cluster, a Sentinel deployment;
// testing/redis_deployment.h): the original's json and pickle suites and
// more (fail-open over a server restart, fork, concurrency).

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "cache_alchemy/cache_alchemy.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/redis_deployment.h"
#include "testing/redis_server.h"

namespace ca = cache_alchemy;

namespace {

using ::cache_alchemy::testing::Deployment;
using ::cache_alchemy::testing::DeploymentName;
using ::cache_alchemy::testing::RedisServer;
using ::cache_alchemy::testing::SharedDeploymentUrl;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

// Why the tests that stop a private server run on a single Redis only.
constexpr char kFailoverTests[] =
    "stops a private single server; a cluster's or Sentinel's master dying "
    "under load: //backends/redis_common:cluster_failover_test and "
    ":sentinel_failover_test";

constexpr char kJson[] = "cache_alchemy.backends.json.DistributedJsonCache";
constexpr char kPickle[] =
    "cache_alchemy.backends.pickle.DistributedPickleCache";
constexpr char kMemory[] =
    "cache_alchemy.backends.memory.DistributedMemoryCache";

// Runs `child` in a forked process; returns its exit code.
template <typename F>
int InChild(F child) {
  pid_t pid = fork();
  if (pid == 0) _exit(child());
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

using Param = std::tuple<const char*, Deployment>;

class DistributedCacheTest : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override {
    redis_ = ca::RedisClient::FromUrl(SharedDeploymentUrl(deployment()));
    redis_->Command({"FLUSHALL"});
    config_ = std::make_unique<ca::config::DefaultConfig>();
    config_->cache_redis_client = redis_;
    // A prefix (so a channel) of its own (testing/redis_deployment.h).
    prefix_ = ca::testing::TestPrefix();
    config_->set("CACHE_ALCHEMY_CACHE_KEY_PREFIX", prefix_);
  }
  const char* backend() const { return std::get<0>(GetParam()); }
  Deployment deployment() const { return std::get<1>(GetParam()); }

  // Keys in Redis that match `pattern` (KEYS; fine on a test server).
  std::vector<std::string> Keys(const std::string& pattern) {
    std::vector<std::string> keys;
    for (auto& e : redis_->Command({"KEYS", pattern}).elements) {
      keys.push_back(e.str);
    }
    return keys;
  }
  std::string ValueKeyPattern(const std::string& name) {
    std::string dotted = backend();
    return prefix_ + dotted.substr(dotted.rfind('.') + 1) + ":" + name +
           "@*}:*";
  }
  bool SharesValues() const { return std::string(backend()) != kMemory; }

  std::shared_ptr<ca::RedisClient> redis_;
  std::unique_ptr<ca::config::DefaultConfig> config_;
  std::string prefix_;
};

TEST_P(DistributedCacheTest, HitsAndMisses) {
  int calls = 0;
  auto add = ca::cache({.backend = backend(), .name = "add"},
                       [&calls](int a, int b) { return ++calls, a + b; });
  EXPECT_EQ(add(1, 2), 3);
  EXPECT_EQ(add(1, 2), 3);
  EXPECT_EQ(add(2, 1), 3);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(add.hits(), 1);
  EXPECT_EQ(add.misses(), 2);
  EXPECT_EQ(add.size(), 2);
  EXPECT_EQ(add.errors(), 0);
}

TEST_P(DistributedCacheTest, LimitOne) {
  int calls = 0;
  auto f = ca::cache({.limit = 1, .backend = backend(), .name = "limit1"},
                     [&calls](int a) { return ++calls, a * 10; });
  // 2 before 1 (on a cluster, two keys of one bucket): a key order that
  // eviction by key bytes would get wrong.
  const auto [a, b] = ca::testing::TwoArgumentsInOneBucket(redis_->buckets());
  EXPECT_EQ(f(a), a * 10);
  EXPECT_EQ(f(b), b * 10);  // evicts a
  EXPECT_EQ(f(b), b * 10);  // the newest entry is kept
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(f(a), a * 10);  // was evicted
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(f.size(), 1);
  EXPECT_EQ(Keys(ValueKeyPattern("limit1")).size(), 1u);
}

TEST_P(DistributedCacheTest, ExpireSetsTheTtlAndExpiredIsAMiss) {
  int calls = 0;
  auto f = ca::cache({.expire = 30, .backend = backend(), .name = "ttl"},
                     [&calls](int a) { return ++calls, a; });
  f(1);
  std::vector<std::string> keys = Keys(ValueKeyPattern("ttl"));
  ASSERT_EQ(keys.size(), 1u);
  const int64_t pttl = redis_->Command({"PTTL", keys[0]}).integer;
  EXPECT_GT(pttl, 29000);
  EXPECT_LE(pttl, 30000);
  // Let Redis expire it now rather than sleeping 30 s.
  redis_->Command({"PEXPIRE", keys[0], "1"});
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  // DistributedMemoryCache: the local copy has its own TTL (the host's
  // clock); a timestamp removed behind the cache's back is not a clear and
  // is not noticed while subscribed (docs/redis.md).
  const int expected = backend() == std::string(kMemory) ? 1 : 2;
  f(1);
  EXPECT_EQ(calls, expected);
  f(1);
  EXPECT_EQ(calls, expected);
}

TEST_P(DistributedCacheTest, NoExpire) {
  auto f = ca::cache({.expire = -1, .backend = backend(), .name = "forever"},
                     [](int a) { return a; });
  f(1);
  std::vector<std::string> keys = Keys(ValueKeyPattern("forever"));
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(redis_->Command({"PTTL", keys[0]}).integer, -1);
}

TEST_P(DistributedCacheTest, FlushAndNamespacesWithPrefix) {
  auto f =
      ca::cache({.backend = backend(), .cache_key_prefix = "t1:", .name = "f"},
                [](int a) { return a; });
  auto g =
      ca::cache({.backend = backend(), .cache_key_prefix = "t1:", .name = "g"},
                [](int a) { return a; });
  auto other =
      ca::cache({.backend = backend(), .cache_key_prefix = "t2:", .name = "f"},
                [](int a) { return a; });
  f(1);
  f(2);
  g(1);
  other(1);
  EXPECT_THAT(ca::get_all_namespace(backend(), "t1:"),
              UnorderedElementsAre("f", "g"));
  EXPECT_THAT(ca::get_all_namespace(backend(), "t2:"),
              UnorderedElementsAre("f"));
  EXPECT_EQ(ca::flush_cache(backend(), "t1:"), 3);
  EXPECT_TRUE(ca::get_all_namespace(backend(), "t1:").empty());
  EXPECT_EQ(f.size(), 0);
  EXPECT_EQ(other.size(), 1);
  f(1);
  EXPECT_EQ(f.misses(), 3);
}

TEST_P(DistributedCacheTest, PartialClearWithIntAndStringParameters) {
  int calls = 0;
  auto f = ca::cache({.strict = true,
                      .backend = backend(),
                      .name = "partial",
                      .params = {"id", "word"}},
                     [&calls](int id, std::string word) {
                       return ++calls, word + std::to_string(id);
                     });
  f(1, "x");
  f(1, "y");
  f(2, "x");
  f(2, "x.*");
  EXPECT_EQ(f.cache_clear(1), 2);
  EXPECT_EQ(f.cache_clear(ca::arg("word", std::string("x.*"))), 1);
  EXPECT_EQ(f.size(), 1);
  f(2, "x");  // survived both clears
  EXPECT_EQ(calls, 4);
  f(1, "x");
  EXPECT_EQ(calls, 5);
  EXPECT_EQ(f.cache_clear(), 2);
  EXPECT_EQ(f.size(), 0);
}

// 8 threads call a fresh cached function named `name` 100 times each over
// 10 keys: every answer is right and each key is computed once.
void ExpectConcurrentCallersComputeOncePerKey(const char* backend,
                                              const std::string& name) {
  SCOPED_TRACE(name);
  std::atomic<int> calls{0};
  auto f = ca::cache({.backend = backend, .name = name}, [&calls](int a) {
    calls.fetch_add(1);
    return a * 2;
  });
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        if (f(i % 10) != (i % 10) * 2) wrong.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(calls.load(), 10);
  EXPECT_EQ(f.hits() + f.misses(), 800);
  EXPECT_EQ(f.errors(), 0);
  EXPECT_EQ(f.size(), 10);  // every store landed
}

TEST_P(DistributedCacheTest, ConcurrentCallersComputeOncePerKey) {
  ExpectConcurrentCallersComputeOncePerKey(backend(), "concurrent");
}

// With stores sent without waiting (deferred_stores=1), a caller whose
// lookup raced a store that another caller of the process just made (on
// another pooled connection) waits for it to run before it looks again,
// so each value is still computed once (RedisClient::Settle).
TEST_P(DistributedCacheTest, DeferredStoresStillComputeOncePerKey) {
  std::string url = SharedDeploymentUrl(deployment());
  url += url.find('?') == std::string::npos ? "?" : "&";
  config_->cache_redis_client =
      ca::RedisClient::FromUrl(url + "deferred_stores=1");
  for (int round = 0; round < 3; ++round) {
    ExpectConcurrentCallersComputeOncePerKey(
        backend(), "deferred" + std::to_string(round));
  }
  EXPECT_EQ(config_->cache_redis_client->deferred_errors(), 0);
}

TEST_P(DistributedCacheTest, KillAndRestartTheServerFailsOpen) {
  if (deployment() != Deployment::kSingle) {
    GTEST_SKIP() << kFailoverTests;
  }
  RedisServer server;
  config_->cache_redis_client = ca::RedisClient::FromUrl(server.url());
  int calls = 0;
  auto f = ca::cache({.backend = backend(), .name = "restart"},
                     [&calls](int a) { return ++calls, a + 1; });
  EXPECT_EQ(f(1), 2);
  EXPECT_EQ(f(1), 2);
  EXPECT_EQ(calls, 1);
  const int64_t disconnects = backend() == std::string(kMemory)
                                  ? ca::backend_stats(kMemory)["disconnects"]
                                  : 0;
  server.Stop();
  if (backend() == std::string(kMemory)) {
    // Until its subscriber notices the loss, DistributedMemoryCache still
    // serves its (valid) local copy; then it checks Redis per hit.
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (ca::backend_stats(kMemory)["disconnects"] == disconnects &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(f(1), 2);  // Redis is gone: the function still answers
  EXPECT_EQ(f(1), 2);
  const std::string log = ::testing::internal::GetCapturedStderr();
  // Logged once, not once per failure.
  EXPECT_THAT(log, HasSubstr("fail-open"));
  EXPECT_EQ(log.find("fail-open"), log.rfind("fail-open")) << log;
  EXPECT_EQ(calls, 3);
  EXPECT_GT(f.errors(), 0);
  // A clear that cannot reach Redis says so (reads fail open, clears
  // never pretend).
  EXPECT_THROW(f.cache_clear(), ca::ClearError);
  server.Start();  // empty: persistence is off
  std::this_thread::sleep_for(std::chrono::milliseconds(150));  // cool-down
  const int64_t errors = f.errors();
  // The first store after the restart is refused: the empty server has no
  // generation for the bucket, so a value computed around the restart could
  // predate a clear the old server saw (docs/redis.md, "Fences"). The next
  // one is stored.
  EXPECT_EQ(f(1), 2);
  EXPECT_EQ(f(1), 2);
  EXPECT_EQ(calls, 5);
  EXPECT_EQ(f(1), 2);  // caching resumed by itself
  EXPECT_EQ(calls, 5);
  EXPECT_EQ(f.errors(), errors);
}

TEST_P(DistributedCacheTest, TwoProcessesShareEntries) {
  std::atomic<int> calls{0};
  auto wrap = [&] {
    return ca::cache({.backend = backend(), .name = "shared"},
                     [&calls](int a) { return ++calls, a * 3; });
  };
  auto f = wrap();
  EXPECT_EQ(f(7), 21);
  const int child = InChild([&] {
    auto g = wrap();  // a fresh wrapper in the child: a fresh local cache
    const int before = calls.load();
    if (g(7) != 21) return 1;
    if (SharesValues() && calls.load() != before) return 2;  // must be a hit
    if (g(8) != 24) return 3;  // stored for the parent
    return 0;
  });
  EXPECT_EQ(child, 0);
  if (SharesValues()) {
    EXPECT_EQ(f(8), 24);
    EXPECT_EQ(calls.load(), 1);  // the child's result, read from Redis
  }
}

TEST_P(DistributedCacheTest, ClearInOneProcessIsSeenByAnother) {
  int calls = 0;
  auto f = ca::cache({.backend = backend(), .name = "cleared"},
                     [&calls](int a) { return ++calls, a; });
  f(1);
  f(1);
  EXPECT_EQ(calls, 1);
  const int64_t received =
      backend() == std::string(kMemory)
          ? ca::backend_stats(kMemory)["invalidations_received"]
          : 0;
  const int child = InChild([&] {
    const int before = calls;
    f(1);
    // json and pickle read the shared value from Redis. DistributedMemoryCache
    // may drop its inherited copy (the child subscribes anew, and a change of
    // subscription drops local copies, racing this call): it may recompute.
    if (calls != before && backend() != std::string(kMemory)) return 1;
    return f.cache_clear() == 1 ? 0 : 2;
  });
  EXPECT_EQ(child, 0);
  if (backend() == std::string(kMemory)) {
    // Pushed: the parent drops its copy when the child's message arrives.
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (ca::backend_stats(kMemory)["invalidations_received"] == received &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  f(1);  // the parent recomputes: the clear happened elsewhere
  EXPECT_EQ(calls, 2);
}

TEST_P(DistributedCacheTest, MissingClientIsReportedAtWrapTime) {
  config_->cache_redis_client = nullptr;
  try {
    ca::cache({.backend = backend(), .name = "noclient"},
              [](int a) { return a; });
    ADD_FAILURE() << "wrapped without a Redis client";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("cache_redis_client"));
    EXPECT_THAT(e.what(), HasSubstr(backend()));
  }
  EXPECT_THROW(ca::flush_cache(backend()), std::runtime_error);
}

INSTANTIATE_TEST_SUITE_P(BackendsAndDeployments, DistributedCacheTest,
                         ::testing::Combine(::testing::Values(kJson, kPickle,
                                                              kMemory),
                                            ca::testing::AllDeployments()),
                         [](const auto& info) {
                           std::string name = std::get<0>(info.param);
                           return name.substr(name.rfind('.') + 1) + "_" +
                                  DeploymentName(std::get<1>(info.param));
                         });

}  // namespace
