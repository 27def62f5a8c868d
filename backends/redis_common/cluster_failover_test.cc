// The three Redis backends on a 3-master, 3-replica Redis Cluster that
// changes under them (a cluster per test, testing/redis_cluster.h), with a
// versioned load running (versioned_load.h: stale answers are counted):
// - a master killed: no wrong answer, no exception reaches a caller, caching
//   resumes once its replica is promoted (the fail-open window is printed);
// - a clear no replica acknowledged throws, so no clear that returned can be
//   undone by the promotion of a replica that never saw it;
// - the node a subscription listens to dies: it says so and moves on;
// - slots resharded (ASK, TRYAGAIN, MOVED): no wrong answer, no exception;
// - a clear or an evicting store that meets a bucket split between the two
//   nodes of a migration leaves no value behind.

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "backends/redis_common/versioned_load.h"
#include "cache_alchemy/cache_alchemy.h"
#include "core/redis/cluster_client.h"
#include "core/redis_key_slot.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/redis_admin.h"
#include "testing/redis_cluster.h"

namespace ca = cache_alchemy;

namespace {

using ::cache_alchemy::testing::AdminCommand;
using ::cache_alchemy::testing::InfoField;
using ::cache_alchemy::testing::RedisCluster;
using ::cache_alchemy::testing::VersionedLoad;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

constexpr char kJson[] = "cache_alchemy.backends.json.DistributedJsonCache";
constexpr char kPickle[] =
    "cache_alchemy.backends.pickle.DistributedPickleCache";
constexpr char kMemory[] =
    "cache_alchemy.backends.memory.DistributedMemoryCache";

class ClusterFailoverTest : public ::testing::Test {
 protected:
  void Use(const std::string& query) {
    client_ = std::make_shared<ca::redis::ClusterClient>(
        ca::redis::ParseClusterUrl(cluster_.url(query)));
    config_ = std::make_unique<ca::config::DefaultConfig>();
    config_->cache_redis_client = client_;
  }
  void SetUp() override { Use(""); }

  // Waits until the replica on `replica` has every write of `master`.
  static void WaitReplicated(int master, int replica) {
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    for (;;) {
      const std::string sent =
          InfoField(AdminCommand(master, {"INFO", "replication"}).str,
                    "master_repl_offset");
      const std::string got =
          InfoField(AdminCommand(replica, {"INFO", "replication"}).str,
                    "slave_repl_offset");
      if (!sent.empty() && sent == got) return;
      ASSERT_LT(Clock::now(), deadline)
          << "replica behind: " << got << " < " << sent;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  // Writes 48 MB on `master` (in `slot`, so the master serves it).
  static void FillReplicationLink(int master, uint16_t slot) {
    std::string key;
    for (int i = 0;
         ca::RedisKeySlot(key = "filler" + std::to_string(i)) != slot; ++i) {
    }
    key = "{" + key + "}";  // hash tag: the slot of "fillerN"
    ASSERT_EQ(
        AdminCommand(master, {"SET", key, std::string(48 << 20, 'x')}, 10000)
            .str,
        "OK");
  }

  RedisCluster cluster_;
  std::shared_ptr<ca::redis::ClusterClient> client_;
  std::unique_ptr<ca::config::DefaultConfig> config_;
};

TEST_F(ClusterFailoverTest, MasterKilledUnderLoad) {
  VersionedLoad load({kJson, kPickle, kMemory}, 64, "kill");
  load.Start(/*readers=*/4);
  ASSERT_TRUE(load.WaitForCleanCalls(3000, std::chrono::seconds(10)));
  const int victim = cluster_.MasterPorts()[1];
  const auto kill = Clock::now();
  cluster_.KillMasterAndWaitForFailover(victim);
  // Caching resumes by itself: calls without a fail-open error, and hits.
  const VersionedLoad::Recovery r = load.StopAfterRecovery(
      kill, VersionedLoad::MsSince(kill),
      "cluster failover (the dead master's share)", std::chrono::seconds(10));
  EXPECT_EQ(load.stale(), 0);
  EXPECT_EQ(load.exceptions(), 0) << load.last_exception();
  EXPECT_TRUE(r.resumed);
  EXPECT_GT(r.hits_after, 4 * r.misses_after) << "caching did not resume";
  EXPECT_GE(r.first_error_ms, 0) << "the kill was not even noticed";
}

// A clear acknowledged by a master that dies before its replica saw it
// would be undone when that replica is promoted: the old value (and the
// old generation, which lets an old computation's store pass) come back.
// The clears wait for the replicas (WAIT) and throw when they did not
// answer, so a clear that returned is never undone.
TEST_F(ClusterFailoverTest, AClearThatReturnedSurvivesTheFailover) {
  Use("wait_timeout_ms=300");
  std::atomic<int> version{1};
  auto f = ca::json_cache({.strict = true, .name = "durable", .params = {"k"}},
                          [&](int) { return version.load(); });
  ASSERT_EQ(f(7), 1);
  const ca::RedisReply keys =
      client_->Command({"KEYS", "DistributedJsonCache:durable@*}:7"});
  ASSERT_EQ(keys.elements.size(), 1u);
  const uint16_t slot = ca::RedisKeySlot(keys.elements[0].str);
  const int master = cluster_.MasterPortOf(slot);
  const int replica = cluster_.ReplicaPortOf(master);
  ASSERT_NE(replica, 0);
  WaitReplicated(master, replica);
  cluster_.NodeAt(replica)->Pause();
  // A silent replica still gets what sits in the kernel's socket buffers
  // when it wakes; a big write fills them, so that what follows stays in
  // the master's memory and dies with it (as a slow link would).
  FillReplicationLink(master, slot);
  version.store(2);
  bool returned = false;
  try {
    f.cache_clear(7);
    returned = true;
  } catch (const ca::ClearError& e) {
    EXPECT_THAT(e.what(), HasSubstr("replicas acknowledged"));
  }
  // The master dies; the replica that missed the clear takes over.
  cluster_.NodeAt(master)->Stop();
  cluster_.NodeAt(replica)->Resume();
  const ca::RedisReply takeover =
      AdminCommand(replica, {"CLUSTER", "FAILOVER", "TAKEOVER"});
  ASSERT_FALSE(takeover.is_error()) << takeover.str;
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (cluster_.MasterPortOf(slot) != replica) {
    ASSERT_LT(Clock::now(), deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  cluster_.WaitUntilHealthy();
  // Read until the client reached the new master (fail-open meanwhile).
  int seen = 0;
  for (int64_t errors = -1; errors != f.errors();) {
    errors = f.errors();
    seen = f(7);
  }
  if (returned) {
    EXPECT_EQ(seen, 2) << "a clear that returned was undone by the failover";
  }
  EXPECT_FALSE(returned) << "a clear no replica acknowledged returned";
}

struct Recorder : ca::RedisSubscriptionListener {
  void OnSubscribed(const std::string&) override { ++subscribed; }
  void OnMessage(const std::string&, const std::string& payload) override {
    std::lock_guard<std::mutex> lock(mu);
    last = payload;
  }
  void OnDisconnected(const std::string&) override { ++lost; }
  std::string Last() {
    std::lock_guard<std::mutex> lock(mu);
    return last;
  }
  std::atomic<int> subscribed{0}, lost{0};
  std::mutex mu;
  std::string last;
};

// Polls `done` every ms for at most 15 s.
bool WaitFor(const std::function<bool()>& done) {
  const auto deadline = Clock::now() + std::chrono::seconds(15);
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// One bucket of `name` (a backend class's keys) whose slot holds at least
// `min_values` values: its slot, index, generation and value keys.
struct BucketKeys {
  uint16_t slot = 0;
  std::string index, generation;
  std::vector<std::string> values;
};
BucketKeys FindBucket(ca::RedisClient& client, const std::string& pattern,
                      size_t min_values) {
  std::map<uint16_t, BucketKeys> by_slot;
  for (const ca::RedisReply& key : client.Command({"KEYS", pattern}).elements) {
    BucketKeys& b = by_slot[ca::RedisKeySlot(key.str)];
    b.slot = ca::RedisKeySlot(key.str);
    if (absl::EndsWith(key.str, "#i")) {
      b.index = key.str;
    } else if (absl::EndsWith(key.str, "#g")) {
      b.generation = key.str;
    } else {
      b.values.push_back(key.str);
    }
  }
  for (auto& [slot, b] : by_slot) {
    if (b.values.size() >= min_values && !b.index.empty() &&
        !b.generation.empty()) {
      return b;
    }
  }
  return {};
}

// The argument of a value key of a strict one-int function ("...}:5").
int ArgumentOf(const std::string& value_key) {
  return std::stoi(value_key.substr(value_key.rfind("}:") + 2));
}

// Redis serves a script only on a node that holds every key it declares
// (TRYAGAIN until then), but a key a script touches without declaring it
// reads as missing on the importing node, and a DEL of it does nothing. A
// clear that ran there while some of the bucket's values were still on the
// other node left them behind, no longer listed; they moved in a moment
// later and were served after the clear had returned (47 stale answers in
// one ASan run of ReshardingUnderLoad). Here the bucket's index and
// generation move first, the clear runs, and the migration ends while it
// waits.
TEST_F(ClusterFailoverTest, ClearsMeetingAHalfMigratedBucketRemoveEveryValue) {
  // The clear retries TRYAGAIN for at most timeout_ms: room for the 300 ms
  // below and a slow EndSlotMigration (under ASan, on a loaded machine).
  Use("timeout_ms=5000");
  const std::vector<int> masters = cluster_.MasterPorts();
  for (const char* backend : {kJson, kPickle}) {
    for (const bool partial : {false, true}) {
      const std::string class_name =
          std::string(backend).substr(std::string(backend).rfind('.') + 1);
      const std::string name =
          std::string("half:") + (partial ? "partial" : "full");
      SCOPED_TRACE(class_name + " " + name);
      std::atomic<int> version{1};
      auto f = ca::cache(
          {.strict = true, .backend = backend, .name = name, .params = {"k"}},
          [&](int k) { return version.load() * 1000 + k; });
      for (int k = 0; k < 64; ++k) ASSERT_EQ(f(k), 1000 + k);
      const BucketKeys bucket =
          FindBucket(*client_, class_name + ":" + name + "@*", 2);
      ASSERT_FALSE(bucket.values.empty()) << "no bucket with two values";
      const int from = cluster_.MasterPortOf(bucket.slot);
      const int to = from == masters[0] ? masters[1] : masters[0];
      RedisCluster::SlotMigration m =
          cluster_.BeginSlotMigration(bucket.slot, to);
      cluster_.MigrateTheseKeys(m, {bucket.index, bucket.generation});
      version.store(2);
      const int cleared = ArgumentOf(bucket.values[0]);
      std::string error;
      std::thread clear([&] {
        try {
          if (partial) {
            f.cache_clear(cleared);
          } else {
            f.cache_clear();
          }
        } catch (const std::exception& e) {
          error = e.what();
        }
      });
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      cluster_.EndSlotMigration(m);
      clear.join();
      EXPECT_EQ(error, "");
      for (const std::string& key : bucket.values) {
        const int k = ArgumentOf(key);
        const int expected = !partial || k == cleared ? 2000 + k : 1000 + k;
        EXPECT_EQ(f(k), expected) << key;
      }
    }
  }
}

// A store that overwrites a value (two processes computed the same key)
// may run on the importing node; had it evicted an older entry whose value
// was still on the other node, the DEL would have done nothing and the
// entry would have left the index: a value no clear can find. Stores evict
// only when they add a value, which Redis never lets happen in a slot that
// is migrating (the new key is missing: ASK, then TRYAGAIN).
TEST_F(ClusterFailoverTest, NoStoreEvictsAValueOnAnotherNode) {
  const std::vector<int> masters = cluster_.MasterPorts();
  std::atomic<int> version{1};
  auto big = ca::json_cache({.strict = true, .name = "evict", .params = {"k"}},
                            [&](int k) { return version.load() * 1000 + k; });
  for (int k = 0; k < 64; ++k) ASSERT_EQ(big(k), 1000 + k);
  const BucketKeys bucket =
      FindBucket(*client_, "DistributedJsonCache:evict@*", 2);
  ASSERT_FALSE(bucket.values.empty()) << "no bucket with two values";
  // `small` shares the entries (same name and types) with a limit of one
  // per bucket; its call of `again` misses and waits inside the function.
  const int again = ArgumentOf(bucket.values[1]);
  const int older = ArgumentOf(bucket.values[0]);
  std::mutex gate;
  std::unique_lock<std::mutex> closed(gate);
  std::atomic<bool> computing{false};
  auto small = ca::json_cache(
      {.limit = 1, .strict = true, .name = "evict", .params = {"k"}},
      [&](int k) {
        computing.store(true);
        std::lock_guard<std::mutex> wait(gate);
        return version.load() * 1000 + k;
      });
  ASSERT_EQ(client_->Command({"DEL", bucket.values[1]}).integer, 1);
  std::thread racer([&] { EXPECT_EQ(small(again), 1000 + again); });
  ASSERT_TRUE(WaitFor([&] { return computing.load(); }));
  ASSERT_EQ(big(again), 1000 + again);  // stored again by `big`
  // The index, the generation and `again` move; `older` stays behind.
  const int from = cluster_.MasterPortOf(bucket.slot);
  const int to = from == masters[0] ? masters[1] : masters[0];
  RedisCluster::SlotMigration m = cluster_.BeginSlotMigration(bucket.slot, to);
  cluster_.MigrateTheseKeys(
      m, {bucket.index, bucket.generation, bucket.values[1]});
  closed.unlock();  // `small` stores `again` over `big`'s value
  racer.join();
  cluster_.EndSlotMigration(m);
  version.store(2);
  big.cache_clear();
  EXPECT_EQ(big(older), 2000 + older) << "an entry the clear did not find";
  EXPECT_EQ(big(again), 2000 + again);
}

TEST_F(ClusterFailoverTest, SubscriptionMovesWhenItsNodeDies) {
  Recorder recorder;
  auto subscription = client_->Subscribe({"news"}, &recorder);
  ASSERT_TRUE(WaitFor([&] { return recorder.subscribed == 1; }));
  int listening = 0;  // the master the subscription is connected to
  for (int port : cluster_.MasterPorts()) {
    if (AdminCommand(port, {"CLIENT", "LIST", "TYPE", "pubsub"})
            .str.find("sub=1") != std::string::npos) {
      listening = port;
    }
  }
  ASSERT_NE(listening, 0);
  cluster_.KillMasterAndWaitForFailover(listening);
  // The loss is reported once, then the subscription holds elsewhere.
  ASSERT_TRUE(WaitFor([&] { return recorder.subscribed == 2; }));
  EXPECT_EQ(recorder.lost, 1);
  for (int port : cluster_.MasterPorts()) {
    AdminCommand(port, {"PUBLISH", "news", std::to_string(port)});
    EXPECT_TRUE(WaitFor([&] {
      return recorder.Last() == std::to_string(port);
    })) << "a message published on "
        << port << " was not heard";
  }
}

TEST_F(ClusterFailoverTest, ReshardingUnderLoad) {
  VersionedLoad load({kJson, kPickle, kMemory}, 64, "reshard");
  load.Start(/*readers=*/4);
  ASSERT_TRUE(load.WaitForCleanCalls(3000, std::chrono::seconds(10)));
  // Every slot holding a bucket of the load's functions moves to another
  // master, a few keys at a time (redis-cli --cluster reshard's steps).
  // Each bucket's generation key, by slot.
  std::map<uint16_t, std::string> slots;
  for (const ca::RedisReply& key :
       client_->Command({"KEYS", "*load:reshard:*#g"}).elements) {
    slots[ca::RedisKeySlot(key.str)] = key.str;
  }
  ASSERT_EQ(slots.size(), 48u);  // 3 functions x 16 buckets
  const std::vector<int> masters = cluster_.MasterPorts();
  const auto start = Clock::now();
  int keys_moved = 0;
  int split_first = 0;
  for (const auto& [slot, generation] : slots) {
    const int from = cluster_.MasterPortOf(slot);
    const int to = masters[(std::find(masters.begin(), masters.end(), from) -
                            masters.begin() + 1) %
                           masters.size()];
    RedisCluster::SlotMigration m = cluster_.BeginSlotMigration(slot, to);
    // Every other bucket moves its index and generation first, the values
    // after (an order redis-cli may take too): clears and stores then meet a
    // bucket split between the two nodes for the whole migration.
    if (++split_first % 2 == 0) {
      const std::string index =
          generation.substr(0, generation.size() - 2) + "#i";
      if (client_->Command({"EXISTS", index}).integer == 1) {
        cluster_.MigrateTheseKeys(m, {index, generation});
        keys_moved += 2;
      } else {
        cluster_.MigrateTheseKeys(m, {generation});
        keys_moved += 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    for (int n; (n = cluster_.MigrateKeys(m, 2)) > 0;) {
      keys_moved += n;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    cluster_.EndSlotMigration(m);
  }
  const int64_t resharded_ms = VersionedLoad::MsSince(start);
  EXPECT_TRUE(load.WaitForCleanCalls(3000, std::chrono::seconds(10)));
  load.Stop();
  const ca::redis::ClusterClient::Counters c = client_->counters();
  std::printf(
      "resharding: %zu slots (%d keys) moved in %lld ms under load; %lld "
      "calls, %lld stale, %lld exceptions, %lld fail-open errors, %lld "
      "clears; client followed %lld ASK, %lld MOVED, retried %lld "
      "TRYAGAIN/mid-migration scripts, loaded the map %lld times\n",
      slots.size(), keys_moved, static_cast<long long>(resharded_ms),
      static_cast<long long>(load.calls()),
      static_cast<long long>(load.stale()),
      static_cast<long long>(load.exceptions()),
      static_cast<long long>(load.errors()),
      static_cast<long long>(load.clears()), static_cast<long long>(c.ask),
      static_cast<long long>(c.moved), static_cast<long long>(c.retried),
      static_cast<long long>(c.map_loads));
  EXPECT_EQ(load.stale(), 0);
  EXPECT_EQ(load.exceptions(), 0) << load.last_exception();
  EXPECT_GT(c.ask, 0);
  EXPECT_GT(c.moved, 0);
  for (const auto& [slot, generation] : slots) {
    EXPECT_EQ(client_->MasterOf(slot),
              "127.0.0.1:" + std::to_string(cluster_.MasterPortOf(slot)));
  }
}

}  // namespace
