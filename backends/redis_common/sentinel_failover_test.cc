// The three Redis backends under Redis Sentinel (1 master, 1 replica,
// 3 sentinels; a deployment per test, testing/redis_sentinel.h) when the
// master dies:
// - under a versioned load (versioned_load.h): no wrong answer, no
//   exception reaches a caller, caching resumes once the sentinels promoted
//   the replica (the fail-open window is printed), and a clear made after
//   the failover reaches another process (its subscription followed the
//   master);
// - a clear no replica acknowledged throws, so no clear that returned can be
//   undone by the promoted replica.

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "backends/redis_common/versioned_load.h"
#include "cache_alchemy/cache_alchemy.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/fork_child.h"
#include "testing/redis_admin.h"
#include "testing/redis_sentinel.h"

namespace ca = cache_alchemy;

namespace {

using ::cache_alchemy::testing::AdminCommand;
using ::cache_alchemy::testing::Child;
using ::cache_alchemy::testing::InfoField;
using ::cache_alchemy::testing::RedisSentinels;
using ::cache_alchemy::testing::VersionedLoad;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

constexpr char kJson[] = "cache_alchemy.backends.json.DistributedJsonCache";
constexpr char kPickle[] =
    "cache_alchemy.backends.pickle.DistributedPickleCache";
constexpr char kMemory[] =
    "cache_alchemy.backends.memory.DistributedMemoryCache";

int64_t Stat(const std::string& name) {
  return ca::backend_stats(kMemory)[name];
}

// Polls `done` every ms for at most `ms`.
bool WaitFor(const std::function<bool()>& done, int ms = 15000) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(ms);
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

class SentinelFailoverTest : public ::testing::Test {
 protected:
  void Use(const std::string& query) {
    redis_ = ca::RedisClient::FromUrl(sentinels_.url(query));
    config_ = std::make_unique<ca::config::DefaultConfig>();
    config_->cache_redis_client = redis_;
  }
  void SetUp() override {
    sentinels_.WaitUntilHealthy(/*for_failover=*/true);
    Use("");
  }

  RedisSentinels sentinels_;
  std::shared_ptr<ca::RedisClient> redis_;
  std::unique_ptr<ca::config::DefaultConfig> config_;
};

TEST_F(SentinelFailoverTest, MasterKilledUnderLoad) {
  // Another process holds a local copy of a DistributedMemoryCache entry
  // throughout; after the failover it caches it again, and a clear made
  // here must reach it.
  Child other([&](Child& parent) {
    int calls = 0;
    // Its own prefix, so its own channel: the load's clears (on the
    // default prefix) do not reach this process.
    auto g = ca::memory_cache(
        {.cache_key_prefix = "other:", .name = "sentinel:other"},
        [&calls](int) { return ++calls; });
    if (g(1) != 1) return 1;
    parent.Send(1);
    if (parent.Receive(30000) != 2) return 2;  // failed over
    // Its subscription followed the master by itself.
    if (!WaitFor([] {
          return Stat("resubscriptions") >= 1 && Stat("live_channels") == 1;
        })) {
      return 3;
    }
    const int now = g(1);  // cached again (the loss dropped the copy)
    if (g(1) != now) return 4;
    const int64_t received = Stat("invalidations_received");
    parent.Send(3);
    if (parent.Receive(30000) != 4) return 5;  // cleared in the parent
    if (!WaitFor([&] { return Stat("invalidations_received") > received; })) {
      return 6;
    }
    return g(1) == now + 1 ? 0 : 7;  // recomputed
  });
  ASSERT_EQ(other.Receive(), 1);
  auto shared =
      ca::memory_cache({.cache_key_prefix = "other:", .name = "sentinel:other"},
                       [](int) { return -1; });

  VersionedLoad load({kJson, kPickle, kMemory}, 64, "kill");
  load.Start(/*readers=*/4);
  ASSERT_TRUE(load.WaitForCleanCalls(3000, std::chrono::seconds(10)));
  const auto kill = Clock::now();
  sentinels_.KillMasterAndWaitForFailover();
  const VersionedLoad::Recovery r = load.StopAfterRecovery(
      kill, VersionedLoad::MsSince(kill), "sentinel failover (every call)",
      std::chrono::seconds(15));
  EXPECT_EQ(load.stale(), 0);
  EXPECT_EQ(load.exceptions(), 0) << load.last_exception();
  EXPECT_TRUE(r.resumed);
  EXPECT_GT(r.hits_after, 4 * r.misses_after) << "caching did not resume";
  EXPECT_GE(r.first_error_ms, 0) << "the kill was not even noticed";

  // A clear made after the failover reaches the other process.
  other.Send(2);
  ASSERT_EQ(other.Receive(30000), 3);
  EXPECT_TRUE(WaitFor([&] {
    try {
      shared.cache_clear();
      return true;
    } catch (const ca::ClearError&) {
      return false;
    }
  }));
  other.Send(4);
  EXPECT_EQ(other.Wait(), 0) << "the other process missed the clear (exit "
                                "codes: see the child above)";
}

// As on a cluster: a clear the master acknowledged but its replica never
// saw would be undone when the sentinels promote that replica.
TEST_F(SentinelFailoverTest, AClearThatReturnedSurvivesTheFailover) {
  Use("wait_timeout_ms=300");
  std::atomic<int> version{1};
  auto f = ca::json_cache({.strict = true, .name = "durable", .params = {"k"}},
                          [&](int) { return version.load(); });
  ASSERT_EQ(f(7), 1);
  const int master = sentinels_.MasterPort();
  ca::testing::RedisServer& replica = sentinels_.data(1);
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (InfoField(AdminCommand(master, {"INFO", "replication"}).str,
                   "master_repl_offset") !=
         InfoField(AdminCommand(replica.port(), {"INFO", "replication"}).str,
                   "slave_repl_offset")) {
    ASSERT_LT(Clock::now(), deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  replica.Pause();
  // Fill the kernel's socket buffers, so that what follows stays in the
  // master's memory and dies with it (a silent replica still gets what
  // sits in them when it wakes).
  ASSERT_EQ(
      AdminCommand(master, {"SET", "filler", std::string(48 << 20, 'x')}, 10000)
          .str,
      "OK");
  version.store(2);
  bool returned = false;
  try {
    f.cache_clear(7);
    returned = true;
  } catch (const ca::ClearError& e) {
    EXPECT_THAT(e.what(), HasSubstr("replicas acknowledged"));
  }
  sentinels_.data(0).Stop();
  replica.Resume();
  const auto failover_deadline = Clock::now() + std::chrono::seconds(30);
  while (sentinels_.MasterPort() != replica.port()) {
    ASSERT_LT(Clock::now(), failover_deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // Read until the client reached the new master (fail-open meanwhile).
  int seen = 0;
  ASSERT_TRUE(WaitFor([&] {
    const int64_t errors = f.errors();
    seen = f(7);
    return f.errors() == errors;
  }));
  if (returned) {
    EXPECT_EQ(seen, 2) << "a clear that returned was undone by the failover";
  }
  EXPECT_FALSE(returned) << "a clear no replica acknowledged returned";
}

}  // namespace
