// The clear guarantees of CONTRACT.md section 1 on the three Redis backends,
// on each deployment (a private redis-server, a Redis Cluster, Sentinel;
// testing/redis_deployment.h): a clear in another process fences a
// computation here, a clear that could not reach Redis throws (and a cascade
// says which functions it could not clear), `limit` never evicts the newest
// entry, and distributed functions need a stable explicit name.

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <utility>

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

// Why the tests that stop a private server run on a single Redis only.
constexpr char kFailoverTests[] =
    "stops a private single server; a cluster's or Sentinel's master dying "
    "under load: //backends/redis_common:cluster_failover_test and "
    ":sentinel_failover_test";

constexpr char kJson[] = "cache_alchemy.backends.json.DistributedJsonCache";
constexpr char kPickle[] =
    "cache_alchemy.backends.pickle.DistributedPickleCache";
constexpr char kDistributedMemory[] =
    "cache_alchemy.backends.memory.DistributedMemoryCache";
constexpr char kMemory[] = "cache_alchemy.backends.memory.MemoryCache";

// Runs `child` in a forked process; returns its exit code.
int InChild(const std::function<int()>& child) {
  const pid_t pid = fork();
  if (pid == 0) _exit(child());
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

// Polls `done` for at most 10 s (generous: CI runs this under ASan on a
// loaded machine; a pass returns as soon as `done` holds).
bool WaitFor(const std::function<bool()>& done) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

class ClearGuaranteesTest
    : public ::testing::TestWithParam<std::tuple<const char*, Deployment>> {
 protected:
  void SetUp() override { Use(SharedDeploymentUrl(deployment())); }
  const char* backend() const { return std::get<0>(GetParam()); }
  Deployment deployment() const { return std::get<1>(GetParam()); }
  // Tests that stop a private single server; a cluster's or Sentinel's
  // master dying is cluster_failover_test's and sentinel_failover_test's.
  bool SingleOnly() const { return deployment() != Deployment::kSingle; }
  void Use(const std::string& url) {
    redis_ = ca::RedisClient::FromUrl(url);
    redis_->Command({"FLUSHALL"});
    config_ = std::make_unique<ca::config::DefaultConfig>();
    config_->cache_redis_client = redis_;
    // A prefix (so a channel) of its own (testing/redis_deployment.h).
    config_->set("CACHE_ALCHEMY_CACHE_KEY_PREFIX", ca::testing::TestPrefix());
  }
  bool Pushed() const { return std::string(backend()) == kDistributedMemory; }
  int64_t Received() {
    return Pushed()
               ? ca::backend_stats(kDistributedMemory)["invalidations_received"]
               : 0;
  }
  // Clears function `name` in a forked child, whose clear has returned when
  // it exits; with a pushed backend, then waits until this process has
  // received the invalidation. Call through ASSERT_NO_FATAL_FAILURE.
  void ClearInAnotherProcess(const char* name) {
    const int64_t received = Received();
    EXPECT_EQ(InChild([&] {
                auto g = ca::cache({.backend = backend(), .name = name},
                                   [](int) { return -1; });
                g.cache_clear();
                return 0;
              }),
              0);
    if (Pushed()) {
      ASSERT_TRUE(WaitFor([&] { return Received() > received; }));
    }
  }

  std::shared_ptr<ca::RedisClient> redis_;
  std::unique_ptr<ca::config::DefaultConfig> config_;
};

// The data a function reads, and a gate holding its first computation.
// The gate is two pipes, not absl::Notification: the test forks while the
// first computation waits, and Debian's Abseil checks every Mutex operation
// for deadlocks under one global spin lock, which a thread still leaving
// Notify() may hold at that moment (the child then hangs on its first lock).
// Between its write() and read() the waiting thread takes no lock.
struct Source {
  Source() {
    if (pipe(entered) != 0 || pipe(release) != 0) std::abort();
  }
  ~Source() {
    for (int fd : {entered[0], entered[1], release[0], release[1]}) close(fd);
  }
  int Read() {
    const int seen = version.load();
    if (!first_done.exchange(true)) {
      char byte = 1;
      if (write(entered[1], &byte, 1) != 1 || read(release[0], &byte, 1) != 1) {
        std::abort();
      }
    }
    return seen;
  }
  void WaitUntilEntered() {
    char byte;
    if (read(entered[0], &byte, 1) != 1) std::abort();
  }
  void Release() {
    const char byte = 1;
    if (write(release[1], &byte, 1) != 1) std::abort();
  }
  std::atomic<int> version{1};
  std::atomic<bool> first_done{false};
  int entered[2], release[2];
};

TEST_P(ClearGuaranteesTest, ClearInAnotherProcessFencesAComputationHere) {
  Source source;
  auto f = ca::cache({.backend = backend(), .name = "fence:remote"},
                     [&](int) { return source.Read(); });
  int first = 0;
  std::thread caller([&] { first = f(0); });
  source.WaitUntilEntered();
  source.version.store(2);
  // Another process changes nothing here but clears.
  ASSERT_NO_FATAL_FAILURE(ClearInAnotherProcess("fence:remote"));
  source.Release();
  caller.join();
  EXPECT_EQ(first, 1);
  EXPECT_EQ(f(0), 2) << "the value computed before the clear was stored";
}

// The single flight: a call made here after a clear in another process
// returned must not join a computation that began before the clear (it
// would be handed the old data, though nothing old was stored). Found by
// the fault soak (testing/soak/fault_soak_test), as a json answer one
// version behind a clear that had returned.
TEST_P(ClearGuaranteesTest, ClearInAnotherProcessStopsJoiningAComputationHere) {
  Source source;
  auto f = ca::cache({.backend = backend(), .name = "join:remote"},
                     [&](int) { return source.Read(); });
  int first = 0;
  std::thread leader([&] { first = f(0); });
  source.WaitUntilEntered();
  source.version.store(2);
  ASSERT_NO_FATAL_FAILURE(ClearInAnotherProcess("join:remote"));
  // The clear has returned (and reached this process): from now on no
  // call may answer 1.
  int after = 0;
  std::thread late([&] { after = f(0); });
  // Time for `late` to join the leader's flight, if it would (it would then
  // wait for the release); a call that leads computes 2 at once.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  source.Release();
  leader.join();
  late.join();
  EXPECT_EQ(first, 1);
  EXPECT_EQ(after, 2) << "a call made after the clear was handed the value "
                         "of a computation that began before it";
}

TEST_P(ClearGuaranteesTest, ClearThatCannotReachRedisThrows) {
  if (SingleOnly()) GTEST_SKIP() << kFailoverTests;
  RedisServer server;
  Use(server.url());
  int calls = 0;
  auto f = ca::cache({.strict = true, .backend = backend(), .name = "down"},
                     [&calls](int x) { return ++calls, x; });
  f(1);
  f(1);
  ASSERT_EQ(calls, 1);
  server.Stop();
  EXPECT_THROW(f.cache_clear(), std::runtime_error);
  EXPECT_THROW(f.cache_clear(1), std::runtime_error);
  EXPECT_THROW(ca::flush_cache(backend()), std::runtime_error);
  // Whatever this process held is gone all the same: the function answers
  // by computing (fail-open reads).
  f(1);
  EXPECT_EQ(calls, 2);
}

// A restart without persistence loses the bucket's generation with
// everything else. A computation whose lookup came before a clear elsewhere
// must still not be stored when the server that saw the clear has been
// replaced by an empty one meanwhile.
TEST_P(ClearGuaranteesTest, ClearThenRestartStillFencesAComputation) {
  if (SingleOnly()) GTEST_SKIP() << kFailoverTests;
  RedisServer server;
  Use(server.url());
  Source source;
  auto f = ca::cache({.backend = backend(), .name = "fence:restart"},
                     [&](int) { return source.Read(); });
  int first = 0;
  std::thread caller([&] { first = f(0); });
  source.WaitUntilEntered();
  source.version.store(2);
  EXPECT_EQ(InChild([&] {
              auto g =
                  ca::cache({.backend = backend(), .name = "fence:restart"},
                            [](int) { return -1; });
              g.cache_clear();
              return 0;
            }),
            0);
  server.Restart();  // SIGKILL, then an empty server on the same port
  source.Release();
  caller.join();
  EXPECT_EQ(first, 1);
  // The first call after a restart may fail open (its connection died);
  // none may answer the value computed before the clear.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(f(0), 2) << "call " << i
                       << ": the value computed before the clear was stored";
  }
}

// After a restart, entries stored by a function this process registered
// before it are still found by flush_cache and get_all_namespace.
TEST_P(ClearGuaranteesTest, FlushFindsEntriesStoredAfterARestart) {
  if (SingleOnly()) GTEST_SKIP() << kFailoverTests;
  RedisServer server;
  Use(server.url());
  int calls = 0;
  auto f = ca::cache({.backend = backend(), .name = "flush:restart"},
                     [&calls](int x) { return ++calls, x; });
  f(1);
  server.Restart();
  // Until a store succeeds (the first calls may fail open on dead
  // connections or be refused by a fence the restart invalidated).
  for (int i = 0; i < 5 && ca::get_all_namespace(backend()).empty(); ++i) {
    f(2);
  }
  EXPECT_THAT(ca::get_all_namespace(backend()),
              ::testing::ElementsAre(::testing::HasSubstr("flush:restart")));
  EXPECT_GE(ca::flush_cache(backend()), 1);
  EXPECT_EQ(ca::get_all_namespace(backend()).size(), 0u);
  const int before = calls;
  f(2);
  EXPECT_EQ(calls, before + 1) << "flush_cache left an entry behind";
}

TEST_P(ClearGuaranteesTest, CascadeSaysWhichFunctionsItCouldNotClear) {
  if (SingleOnly()) GTEST_SKIP() << kFailoverTests;
  RedisServer server;
  Use(server.url());
  int root_calls = 0;
  auto root = ca::cache({.backend = kMemory},
                        [&root_calls](int x) { return ++root_calls, x; });
  auto remote = ca::cache({.backend = backend(),
                           .dependency = {ca::FunctionCacheDependency(root)},
                           .name = "down:dependent"},
                          [&](int x) { return root(x) * 2; });
  EXPECT_EQ(remote(3), 6);
  server.Stop();
  try {
    root.cache_clear();
    ADD_FAILURE() << "a cascade that could not clear a dependent returned";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("down:dependent"));
    EXPECT_THAT(e.what(), HasSubstr(backend()));
  }
  // The part that could be cleared was.
  root(3);
  EXPECT_EQ(root_calls, 2);
}

// Whether a Redis key is the value key of int argument `a` (text key).
bool KeyOf(const std::string& key, int a) {
  const std::string suffix = "}:" + std::to_string(a);
  return key.size() >= suffix.size() &&
         key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0;
}

TEST_P(ClearGuaranteesTest, LimitOneNeverEvictsTheNewest) {
  int calls = 0;
  auto f = ca::cache({.limit = 1, .backend = backend(), .name = "limit:ties"},
                     [&calls](int x) { return ++calls, x; });
  int evicted_newest = 0;
  const auto [older, newer] =
      ca::testing::TwoArgumentsInOneBucket(redis_->buckets());
  for (int round = 0; round < 100; ++round) {
    f.cache_clear();
    f(older);
    f(newer);  // stored in the same millisecond, most of the time
    const int before = calls;
    if (Pushed()) {
      // The local store keeps 1 anyway; Redis must keep its timestamp too,
      // so that another process (or this one, after losing its
      // subscription) finds 1 and not 2.
      const ca::RedisReply keys = redis_->Command({"KEYS", "*limit:ties*"});
      int kept = 0;
      for (const auto& k : keys.elements) {
        if (KeyOf(k.str, newer)) {
          ++kept;
        }
      }
      if (kept != 1) ++evicted_newest;
    }
    f(newer);
    if (calls != before) ++evicted_newest;
  }
  EXPECT_EQ(evicted_newest, 0);
}

TEST_P(ClearGuaranteesTest, DistributedFunctionsNeedAnExplicitName) {
  try {
    ca::cache({.backend = backend()}, [](int x) { return x; });
    ADD_FAILURE() << "wrapped a distributed function with a call-site name";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr(".name = "));
    EXPECT_THAT(e.what(), HasSubstr(backend()));
  }
}

INSTANTIATE_TEST_SUITE_P(
    BackendsAndDeployments, ClearGuaranteesTest,
    ::testing::Combine(::testing::Values(kJson, kPickle, kDistributedMemory),
                       ca::testing::AllDeployments()),
    [](const auto& info) {
      std::string name = std::get<0>(info.param);
      return name.substr(name.rfind('.') + 1) + "_" +
             DeploymentName(std::get<1>(info.param));
    });

}  // namespace
