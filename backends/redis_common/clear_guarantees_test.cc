// The clear guarantees of CONTRACT.md section 1 on the three Redis backends,
// against private redis-servers: a clear in another process fences a
// computation here, a clear that could not reach Redis throws (and a cascade
// says which functions it could not clear), `limit` never evicts the newest
// entry, and distributed functions need a stable explicit name.

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "cache_alchemy/cache_alchemy.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/redis_server.h"

namespace ca = cache_alchemy;

namespace {

using ::cache_alchemy::testing::RedisServer;
using ::cache_alchemy::testing::SharedRedisServer;
using ::testing::HasSubstr;

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

// Polls `done` for at most 3 s.
bool WaitFor(const std::function<bool()>& done) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

class ClearGuaranteesTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override { Use(SharedRedisServer()->url()); }
  void Use(const std::string& url) {
    redis_ = ca::RedisClient::FromUrl(url);
    redis_->Command({"FLUSHALL"});
    config_ = std::make_unique<ca::config::DefaultConfig>();
    config_->cache_redis_client = redis_;
  }
  bool Pushed() const { return std::string(GetParam()) == kDistributedMemory; }
  int64_t Received() {
    return Pushed()
               ? ca::backend_stats(kDistributedMemory)["invalidations_received"]
               : 0;
  }

  std::shared_ptr<ca::RedisClient> redis_;
  std::unique_ptr<ca::config::DefaultConfig> config_;
};

// The data a function reads, and a gate holding its first computation.
struct Source {
  std::atomic<int> version{1};
  absl::Notification entered, release;
  int Read() {
    const int seen = version.load();
    if (!entered.HasBeenNotified()) {
      entered.Notify();
      release.WaitForNotification();
    }
    return seen;
  }
};

TEST_P(ClearGuaranteesTest, ClearInAnotherProcessFencesAComputationHere) {
  Source source;
  auto f = ca::cache({.backend = GetParam(), .name = "fence:remote"},
                     [&](int) { return source.Read(); });
  int first = 0;
  std::thread caller([&] { first = f(0); });
  source.entered.WaitForNotification();
  source.version.store(2);
  const int64_t received = Received();
  // Another process changes nothing here but clears: its clear has returned
  // when the child exits.
  EXPECT_EQ(InChild([&] {
              auto g =
                  ca::cache({.backend = GetParam(), .name = "fence:remote"},
                            [](int) { return -1; });
              g.cache_clear();
              return 0;
            }),
            0);
  if (Pushed()) {
    ASSERT_TRUE(WaitFor([&] { return Received() > received; }));
  }
  source.release.Notify();
  caller.join();
  EXPECT_EQ(first, 1);
  EXPECT_EQ(f(0), 2) << "the value computed before the clear was stored";
}

TEST_P(ClearGuaranteesTest, ClearThatCannotReachRedisThrows) {
  RedisServer server;
  Use(server.url());
  int calls = 0;
  auto f = ca::cache({.strict = true, .backend = GetParam(), .name = "down"},
                     [&calls](int x) { return ++calls, x; });
  f(1);
  f(1);
  ASSERT_EQ(calls, 1);
  server.Stop();
  EXPECT_THROW(f.cache_clear(), std::runtime_error);
  EXPECT_THROW(f.cache_clear(1), std::runtime_error);
  EXPECT_THROW(ca::flush_cache(GetParam()), std::runtime_error);
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
  RedisServer server;
  Use(server.url());
  Source source;
  auto f = ca::cache({.backend = GetParam(), .name = "fence:restart"},
                     [&](int) { return source.Read(); });
  int first = 0;
  std::thread caller([&] { first = f(0); });
  source.entered.WaitForNotification();
  source.version.store(2);
  EXPECT_EQ(InChild([&] {
              auto g =
                  ca::cache({.backend = GetParam(), .name = "fence:restart"},
                            [](int) { return -1; });
              g.cache_clear();
              return 0;
            }),
            0);
  server.Restart();  // SIGKILL, then an empty server on the same port
  source.release.Notify();
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
  RedisServer server;
  Use(server.url());
  int calls = 0;
  auto f = ca::cache({.backend = GetParam(), .name = "flush:restart"},
                     [&calls](int x) { return ++calls, x; });
  f(1);
  server.Restart();
  // Until a store succeeds (the first calls may fail open on dead
  // connections or be refused by a fence the restart invalidated).
  for (int i = 0; i < 5 && ca::get_all_namespace(GetParam()).empty(); ++i) {
    f(2);
  }
  EXPECT_THAT(ca::get_all_namespace(GetParam()),
              ::testing::ElementsAre(::testing::HasSubstr("flush:restart")));
  EXPECT_GE(ca::flush_cache(GetParam()), 1);
  EXPECT_EQ(ca::get_all_namespace(GetParam()).size(), 0u);
  const int before = calls;
  f(2);
  EXPECT_EQ(calls, before + 1) << "flush_cache left an entry behind";
}

TEST_P(ClearGuaranteesTest, CascadeSaysWhichFunctionsItCouldNotClear) {
  RedisServer server;
  Use(server.url());
  int root_calls = 0;
  auto root = ca::cache({.backend = kMemory},
                        [&root_calls](int x) { return ++root_calls, x; });
  auto remote = ca::cache({.backend = GetParam(),
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
    EXPECT_THAT(e.what(), HasSubstr(GetParam()));
  }
  // The part that could be cleared was.
  root(3);
  EXPECT_EQ(root_calls, 2);
}

// Whether a Redis key is the value key of argument 1 (an int; text key).
bool KeyOfOne(const std::string& key) {
  return key.size() >= 3 && key.compare(key.size() - 3, 3, "}:1") == 0;
}

TEST_P(ClearGuaranteesTest, LimitOneNeverEvictsTheNewest) {
  int calls = 0;
  auto f = ca::cache({.limit = 1, .backend = GetParam(), .name = "limit:ties"},
                     [&calls](int x) { return ++calls, x; });
  int evicted_newest = 0;
  for (int round = 0; round < 100; ++round) {
    f.cache_clear();
    f(2);
    f(1);  // stored in the same millisecond as 2, most of the time
    const int before = calls;
    if (Pushed()) {
      // The local store keeps 1 anyway; Redis must keep its timestamp too,
      // so that another process (or this one, after losing its
      // subscription) finds 1 and not 2.
      const ca::RedisReply keys = redis_->Command({"KEYS", "*limit:ties*"});
      int kept = 0;
      for (const auto& k : keys.elements) {
        if (KeyOfOne(k.str)) {
          ++kept;
        }
      }
      if (kept != 1) ++evicted_newest;
    }
    f(1);
    if (calls != before) ++evicted_newest;
  }
  EXPECT_EQ(evicted_newest, 0);
}

TEST_P(ClearGuaranteesTest, DistributedFunctionsNeedAnExplicitName) {
  try {
    ca::cache({.backend = GetParam()}, [](int x) { return x; });
    ADD_FAILURE() << "wrapped a distributed function with a call-site name";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr(".name = "));
    EXPECT_THAT(e.what(), HasSubstr(GetParam()));
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, ClearGuaranteesTest,
                         ::testing::Values(kJson, kPickle, kDistributedMemory),
                         [](const auto& info) {
                           std::string name = info.param;
                           return name.substr(name.rfind('.') + 1);
                         });

}  // namespace
