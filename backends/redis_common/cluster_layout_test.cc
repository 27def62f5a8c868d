// The Redis layout on a 3-master cluster (the binary's shared cluster,
// testing/redis_cluster.h): one function's entries spread over every master
// (no master above 40% of 100,000 entries), and full and partial clears,
// flush_cache, get_all_namespace and dependency cascades reach every master
// with exact counts.

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "cache_alchemy/cache_alchemy.h"
#include "core/redis_key_slot.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/redis_admin.h"
#include "testing/redis_cluster.h"

namespace ca = cache_alchemy;

namespace {

using ::cache_alchemy::testing::AdminCommand;
using ::cache_alchemy::testing::SharedRedisCluster;
using ::testing::UnorderedElementsAre;

constexpr char kJson[] = "cache_alchemy.backends.json.DistributedJsonCache";
constexpr char kPickle[] =
    "cache_alchemy.backends.pickle.DistributedPickleCache";
constexpr char kMemory[] =
    "cache_alchemy.backends.memory.DistributedMemoryCache";

class ClusterLayoutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_ = ca::RedisClient::FromUrl(SharedRedisCluster()->url());
    redis_->Command({"FLUSHALL"});
    config_.cache_redis_client = redis_;
  }

  // How many keys match `pattern` on each master (asked directly).
  static std::map<int, int64_t> KeysPerMaster(const std::string& pattern) {
    std::map<int, int64_t> out;
    for (int port : SharedRedisCluster()->MasterPorts()) {
      out[port] = static_cast<int64_t>(
          AdminCommand(port, {"KEYS", pattern}, 10000).elements.size());
    }
    return out;
  }
  static int64_t Total(const std::map<int, int64_t>& counts) {
    int64_t total = 0;
    for (const auto& [port, n] : counts) total += n;
    return total;
  }

  std::shared_ptr<ca::RedisClient> redis_;
  ca::config::DefaultConfig config_;
};

TEST_F(ClusterLayoutTest, OneFunctionIsSpreadOverEveryMaster) {
  constexpr int kEntries = 100000;
  constexpr int kThreads = 8;
  auto f =
      ca::json_cache({.limit = -1, .name = "spread"}, [](int n) { return n; });
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int n = t; n < kEntries; n += kThreads) {
        if (f(n) != n) wrong.fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(f.errors(), 0);
  const std::map<int, int64_t> per_master =
      KeysPerMaster("DistributedJsonCache:spread@*}:*");
  ASSERT_EQ(per_master.size(), 3u);
  EXPECT_EQ(Total(per_master), kEntries);
  std::printf("spread of %d entries (stored in %.1f s by %d threads):",
              kEntries, seconds, kThreads);
  for (const auto& [port, n] : per_master) {
    const double share = 100.0 * static_cast<double>(n) / kEntries;
    std::printf(" %.1f%%", share);
    EXPECT_LE(share, 40.0) << "master " << port;
  }
  std::printf("\n");
  EXPECT_EQ(f.size(), kEntries);
}

TEST_F(ClusterLayoutTest, ClearsFlushNamespacesAndCascadesReachEveryMaster) {
  int f_calls = 0;
  auto f = ca::json_cache(
      {.limit = -1, .strict = true, .name = "layout:f", .params = {"a", "b"}},
      [&f_calls](int a, int b) { return ++f_calls, a * 10 + b; });
  auto g = ca::pickle_cache({.limit = -1,
                             .dependency = {ca::FunctionCacheDependency(f)},
                             .name = "layout:g"},
                            [&f](int a) { return f(a, a % 3) + 1; });
  auto m = ca::memory_cache({.limit = -1, .name = "layout:m"},
                            [](int a) { return a; });
  for (int a = 0; a < 300; ++a) f(a, a % 3);
  for (int a = 0; a < 60; ++a) g(a);
  for (int a = 0; a < 90; ++a) m(a);
  const std::map<int, int64_t> f_keys =
      KeysPerMaster("DistributedJsonCache:layout:f@*}:*");
  for (const auto& [port, n] : f_keys) {
    EXPECT_GT(n, 0) << "no entry of f on master " << port;
  }
  EXPECT_EQ(Total(f_keys), 300);
  EXPECT_EQ(f.size(), 300);
  EXPECT_EQ(g.size(), 60);

  // Partial: exactly the 100 entries with b == 0, on every master, and the
  // dependent g (dependents are cleared whole).
  EXPECT_EQ(f.cache_clear(ca::any, 0), 100 + 60);
  EXPECT_EQ(Total(KeysPerMaster("DistributedJsonCache:layout:f@*}:*")), 200);
  EXPECT_EQ(Total(KeysPerMaster("DistributedJsonCache:layout:f@*}:*|0")), 0);
  EXPECT_EQ(Total(KeysPerMaster("DistributedPickleCache:layout:g@*}:*")), 0);
  f_calls = 0;
  f(4, 1);  // b == 1: survived
  EXPECT_EQ(f_calls, 0);
  f(3, 0);  // b == 0: cleared
  EXPECT_EQ(f_calls, 1);
  for (int a = 0; a < 40; ++a) g(a);
  EXPECT_EQ(g.size(), 40);

  EXPECT_THAT(ca::get_all_namespace(kJson), UnorderedElementsAre(f.name()));
  EXPECT_THAT(ca::get_all_namespace(kPickle), UnorderedElementsAre(g.name()));
  EXPECT_THAT(ca::get_all_namespace(kMemory), UnorderedElementsAre(m.name()));

  // Full, with the cascade: every entry of f and g, from every master.
  const int64_t f_entries =
      Total(KeysPerMaster("DistributedJsonCache:layout:f@*}:*"));
  EXPECT_EQ(f_entries, 200 + 1 + 13);  // g recomputed f(a, 0) for a % 3 == 0
  EXPECT_EQ(f.cache_clear(), f_entries + 40);
  EXPECT_EQ(Total(KeysPerMaster("DistributedJsonCache:layout:f@*}:*")), 0);
  EXPECT_EQ(Total(KeysPerMaster("DistributedPickleCache:layout:g@*}:*")), 0);
  EXPECT_TRUE(ca::get_all_namespace(kJson).empty());
  EXPECT_TRUE(ca::get_all_namespace(kPickle).empty());

  // flush_cache: every entry of the backend, on every master.
  for (int a = 0; a < 30; ++a) f(a, 1);
  EXPECT_EQ(ca::flush_cache(kJson), 30);
  EXPECT_EQ(ca::flush_cache(kMemory), 90);
  EXPECT_EQ(Total(KeysPerMaster("DistributedMemoryCache:layout:m@*}:*")), 0);
  EXPECT_TRUE(ca::get_all_namespace(kMemory).empty());
  EXPECT_EQ(f.size(), 0);
  EXPECT_EQ(m.size(), 0);
}

}  // namespace
