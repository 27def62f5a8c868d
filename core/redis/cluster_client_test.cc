// ClusterClient against a real 3-master, 3-replica cluster started by the
// test (testing/redis_cluster.h): routing by slot, pipelines split by node,
// MOVED, ASK and TRYAGAIN followed during a live resharding, commands about
// the whole keyspace on every master, replicated writes (WAIT), the bucket
// count check, and pub/sub heard from every master.

#include "core/redis/cluster_client.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "core/redis_key_slot.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/redis_admin.h"
#include "testing/redis_cluster.h"

namespace cache_alchemy {
namespace redis {
namespace {

using ::cache_alchemy::testing::AdminCommand;
using ::cache_alchemy::testing::RedisCluster;
using ::cache_alchemy::testing::SharedRedisCluster;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

std::shared_ptr<ClusterClient> Client(const std::string& query = "") {
  return std::make_shared<ClusterClient>(
      ParseClusterUrl(SharedRedisCluster()->url(query)));
}

TEST(ClusterClientTest, EveryKeyLandsOnTheMasterOfItsSlot) {
  RedisCluster& cluster = *SharedRedisCluster();
  auto client = Client();
  std::set<int> masters;
  for (int i = 0; i < 60; ++i) {
    const std::string key = "route:" + std::to_string(i);
    ASSERT_EQ(client->Command({"SET", key, std::to_string(i)}).str, "OK");
    const int port = cluster.MasterPortOf(RedisKeySlot(key));
    masters.insert(port);
    // Asked directly (no redirection), the owner has it.
    EXPECT_EQ(AdminCommand(port, {"GET", key}).str, std::to_string(i));
    EXPECT_EQ(client->MasterOf(RedisKeySlot(key)),
              "127.0.0.1:" + std::to_string(port));
  }
  EXPECT_EQ(masters.size(), 3u);
  // Scripts go by their first key, keyless commands anywhere.
  EXPECT_EQ(client
                ->Command({"EVAL", "return redis.call('GET', KEYS[1])", "1",
                           "route:7"})
                .str,
            "7");
  EXPECT_EQ(client->Command({"PING"}).str, "PONG");
}

TEST(ClusterClientTest, AHitCostsOneRoundTrip) {
  auto client = Client();
  client->Command({"SET", "rt:{a}", "1"});
  const int64_t before = client->round_trips();
  for (int i = 0; i < 10; ++i) client->Command({"MGET", "rt:{a}", "x{a}"});
  EXPECT_EQ(client->round_trips() - before, 10);
  EXPECT_EQ(client->counters().moved, 0);
}

TEST(ClusterClientTest, SendGoesToTheMasterOfTheSlotWithoutWaiting) {
  RedisCluster& cluster = *SharedRedisCluster();
  auto client = Client("deferred_stores=1");
  client->Command({"PING"});  // loads the map
  const int64_t trips = client->round_trips();
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(client->Send({"SET", "sent:" + std::to_string(i), "v"}));
  }
  EXPECT_EQ(client->round_trips(), trips);
  ASSERT_FALSE(client->Send({"PING"}));  // no key: the caller waits
  for (int i = 0; i < 30; ++i) {
    const std::string key = "sent:" + std::to_string(i);
    EXPECT_EQ(client->Command({"GET", key}).str, "v") << key;
    EXPECT_EQ(
        AdminCommand(cluster.MasterPortOf(RedisKeySlot(key)), {"GET", key}).str,
        "v")
        << key;
  }
  EXPECT_EQ(client->deferred_errors(), 0);
  // Without the option, nothing is sent.
  EXPECT_FALSE(Client()->Send({"SET", "sent:off", "v"}));
  EXPECT_TRUE(client->Command({"GET", "sent:off"}).is_nil());
}

TEST(ClusterClientTest, PipelineIsSplitByNodeAndReassembledInOrder) {
  auto client = Client();
  std::vector<std::vector<std::string>> sets, gets;
  for (int i = 0; i < 50; ++i) {
    sets.push_back({"SET", "pipe:" + std::to_string(i), std::to_string(i)});
    gets.push_back({"GET", "pipe:" + std::to_string(i)});
  }
  client->Pipeline(sets);
  const int64_t before = client->round_trips();
  std::vector<RedisReply> replies = client->Pipeline(gets);
  EXPECT_EQ(client->round_trips() - before, 3);  // one per master
  ASSERT_EQ(replies.size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(replies[i].str, std::to_string(i));
}

TEST(ClusterClientTest, WholeKeyspaceCommandsReachEveryMaster) {
  auto client = Client();
  client->Command({"FLUSHALL"});
  for (int i = 0; i < 30; ++i) {
    client->Command({"SET", "all:" + std::to_string(i), "v"});
  }
  EXPECT_EQ(client->Command({"KEYS", "all:*"}).elements.size(), 30u);
  EXPECT_EQ(client->Command({"DBSIZE"}).integer, 30);
  client->Command({"FLUSHALL"});
  EXPECT_EQ(client->Command({"DBSIZE"}).integer, 0);
  // SCRIPT LOAD on every master: EVALSHA works wherever its key lives.
  const std::string sha =
      client->Command({"SCRIPT", "LOAD", "return KEYS[1]"}).str;
  for (int i = 0; i < 20; ++i) {
    const std::string key = "sha:" + std::to_string(i);
    EXPECT_EQ(client->Command({"EVALSHA", sha, "1", key}).str, key);
  }
}

TEST(ClusterClientTest, MastersAndCommandOnReachEachMasterAlone) {
  RedisCluster& cluster = *SharedRedisCluster();
  auto client = Client();
  std::vector<std::string> expected;
  for (int port : cluster.MasterPorts()) {
    expected.push_back("127.0.0.1:" + std::to_string(port));
  }
  std::vector<std::string> masters = client->Masters();
  std::sort(masters.begin(), masters.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(masters, expected);
  // Unrouted: a key of another master's slot is redirected, not followed.
  client->Command({"SET", "alone", "v"});
  const std::string owner = client->MasterOf(RedisKeySlot("alone"));
  for (const std::string& master : masters) {
    const RedisReply reply = client->CommandOn(master, {"GET", "alone"});
    if (master == owner) {
      EXPECT_EQ(reply.str, "v");
    } else {
      EXPECT_THAT(reply.str, HasSubstr("MOVED"));
    }
  }
  EXPECT_THROW(client->CommandOn("127.0.0.1:1", {"PING"}),
               std::invalid_argument);
}

TEST(ClusterClientTest, FollowsMovedAfterASlotMoved) {
  RedisCluster& cluster = *SharedRedisCluster();
  auto client = Client();
  const std::string key = "moved:key";
  const uint16_t slot = RedisKeySlot(key);
  client->Command({"SET", key, "before"});
  const int from = cluster.MasterPortOf(slot);
  int to = 0;
  for (int port : cluster.MasterPorts()) {
    if (port != from) to = port;
  }
  cluster.MoveSlot(slot, to);
  EXPECT_EQ(client->Command({"GET", key}).str, "before");
  EXPECT_GE(client->counters().moved, 1);
  EXPECT_EQ(client->MasterOf(slot), "127.0.0.1:" + std::to_string(to));
  const int64_t moved = client->counters().moved;
  EXPECT_EQ(client->Command({"GET", key}).str, "before");
  EXPECT_EQ(client->counters().moved, moved);  // the map was updated
  cluster.MoveSlot(slot, from);
  EXPECT_EQ(client->Command({"GET", key}).str, "before");
}

TEST(ClusterClientTest, FollowsAskAndRetriesTryAgainWhileASlotMigrates) {
  RedisCluster& cluster = *SharedRedisCluster();
  auto client = Client();
  const std::string a = "{ask}:a", b = "{ask}:b";
  const uint16_t slot = RedisKeySlot(a);
  client->Command({"SET", a, "A"});
  client->Command({"SET", b, "B"});
  const int from = cluster.MasterPortOf(slot);
  int to = 0;
  for (int port : cluster.MasterPorts()) {
    if (port != from) to = port;
  }
  RedisCluster::SlotMigration m = cluster.BeginSlotMigration(slot, to);
  // Move exactly one key: it answers from the target after ASK; a command
  // on both keys gets TRYAGAIN until the migration ends.
  RedisReply a_now;
  for (int moved = 0; moved == 0;) moved = cluster.MigrateKeys(m, 1);
  const bool a_moved = AdminCommand(from, {"EXISTS", a}).integer == 0;
  const std::string moved_key = a_moved ? a : b;
  EXPECT_EQ(client->Command({"GET", moved_key}).str, a_moved ? "A" : "B");
  EXPECT_GE(client->counters().ask, 1);
  std::thread finish([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    cluster.EndSlotMigration(m);
  });
  RedisReply both = client->Command({"MGET", a, b});
  finish.join();
  ASSERT_EQ(both.elements.size(), 2u) << both.str;
  EXPECT_EQ(both.elements[0].str, "A");
  EXPECT_EQ(both.elements[1].str, "B");
  EXPECT_GE(client->counters().retried, 1);
  cluster.MoveSlot(slot, from);
}

// Settle (and so a store-await) takes at most one timeout, however many
// nodes are hung: each master is paused with a store sent to it and not yet
// answered, and the waits share one deadline (each node's client reads what
// arrives until then, and leaves the rest to the connection's next user).
TEST(ClusterClientTest, SettleTakesOneTimeoutWhenEveryMasterHangs) {
  RedisCluster& cluster = *SharedRedisCluster();
  constexpr int kTimeoutMs = 200;  // masters paused well under a failover
  auto client =
      Client("deferred_stores=1&timeout_ms=" + std::to_string(kTimeoutMs));
  // One key on each master.
  std::vector<std::string> keys;
  std::set<int> masters;
  for (int i = 0; masters.size() < 3 && i < 1000; ++i) {
    const std::string key = "settle:" + std::to_string(i);
    if (masters.insert(cluster.MasterPortOf(RedisKeySlot(key))).second) {
      keys.push_back(key);
    }
  }
  ASSERT_EQ(masters.size(), 3u);
  for (const std::string& key : keys) {
    ASSERT_EQ(client->Command({"SET", key, "old"}).str, "OK");  // connects
  }
  for (int port : masters) cluster.NodeAt(port)->Pause();
  for (const std::string& key : keys) {
    ASSERT_TRUE(client->Send({"SET", key, "new"}));
  }
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(client->Settle());
  const auto waited = std::chrono::steady_clock::now() - start;
  for (int port : masters) cluster.NodeAt(port)->Resume();
  // One timeout (and scheduling), not one per node (3 x 200 ms).
  EXPECT_GE(waited, std::chrono::milliseconds(kTimeoutMs - 10));
  EXPECT_LT(waited, std::chrono::milliseconds(2 * kTimeoutMs));
  // The stores were kept: their replies are read by the next command.
  for (const std::string& key : keys) {
    EXPECT_EQ(client->Command({"GET", key}).str, "new") << key;
  }
  EXPECT_EQ(client->deferred_errors(), 0);
  cluster.WaitUntilHealthy();
}

TEST(ClusterClientTest, DurableCommandWaitsForTheReplica) {
  RedisCluster& cluster = *SharedRedisCluster();
  auto client = Client("wait_timeout_ms=1000");
  const std::string key = "durable:key";
  const int master = cluster.MasterPortOf(RedisKeySlot(key));
  client->Command({"PING"});  // learns the map first
  int64_t before = client->round_trips();
  EXPECT_EQ(client->DurableCommand({"SET", key, "1"}).str, "OK");
  EXPECT_EQ(client->round_trips() - before, 2);  // the write + ROLE, WAIT
  const int replica = cluster.ReplicaPortOf(master);
  ASSERT_NE(replica, 0);
  cluster.NodeAt(replica)->Pause();  // online for the master, but silent
  try {
    client->DurableCommand({"SET", key, "2"});
    ADD_FAILURE() << "a write no replica acknowledged looked durable";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("0 of 1 replicas"));
  }
  cluster.NodeAt(replica)->Resume();
  // A plain command does not wait.
  before = client->round_trips();
  EXPECT_EQ(client->Command({"SET", key, "3"}).str, "OK");
  EXPECT_EQ(client->round_trips() - before, 1);
  cluster.WaitUntilHealthy();
}

TEST(ClusterClientTest, RefusesAnotherBucketCountThanTheCluster) {
  auto client = Client();  // buckets=16, as every other client here
  client->Command({"PING"});
  auto other = Client("buckets=8");
  EXPECT_EQ(other->buckets(), 8);
  try {
    other->Command({"GET", "x"});
    ADD_FAILURE() << "two bucket counts on one cluster";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("8 buckets"));
    EXPECT_THAT(e.what(), HasSubstr("set up with 16"));
  }
}

TEST(ClusterClientTest, ADeadSeedIsSkipped) {
  auto client = std::make_shared<ClusterClient>(ParseClusterUrl(
      "redis-cluster://127.0.0.1:1," +
      SharedRedisCluster()->url().substr(strlen("redis-cluster://"))));
  EXPECT_EQ(client->Command({"PING"}).str, "PONG");
  auto none = std::make_shared<ClusterClient>(
      ParseClusterUrl("redis-cluster://127.0.0.1:1?connect_timeout_ms=100"));
  try {
    none->Command({"PING"});
    ADD_FAILURE();
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("no node answered CLUSTER SLOTS"));
  }
}

struct Recorder : RedisSubscriptionListener {
  void OnSubscribed(const std::string&) override {
    absl::MutexLock lock(&mu);
    ++subscribed;
  }
  void OnMessage(const std::string&, const std::string& payload) override {
    absl::MutexLock lock(&mu);
    messages.insert(payload);
  }
  void OnDisconnected(const std::string&) override {}
  absl::Mutex mu;
  int subscribed = 0;
  std::set<std::string> messages;
};

TEST(ClusterClientTest, OneSubscriptionHearsWhatEveryMasterPublishes) {
  RedisCluster& cluster = *SharedRedisCluster();
  auto client = Client();
  Recorder recorder;
  auto subscription = client->Subscribe({"news"}, &recorder);
  {
    absl::MutexLock lock(&recorder.mu);
    ASSERT_TRUE(recorder.mu.AwaitWithTimeout(
        absl::Condition(
            +[](int* n) { return *n > 0; }, &recorder.subscribed),
        absl::Seconds(5)));
  }
  for (int port : cluster.MasterPorts()) {
    AdminCommand(port, {"PUBLISH", "news", std::to_string(port)});
  }
  // Also from inside a script, as the clears publish.
  client->Command(
      {"EVAL", "redis.call('PUBLISH', 'news', 'script')", "1", "any:key"});
  absl::MutexLock lock(&recorder.mu);
  EXPECT_TRUE(recorder.mu.AwaitWithTimeout(
      absl::Condition(
          +[](std::set<std::string>* m) { return m->size() == 4; },
          &recorder.messages),
      absl::Seconds(5)));
  EXPECT_EQ(recorder.messages.count("script"), 1u);
}

}  // namespace
}  // namespace redis
}  // namespace cache_alchemy
