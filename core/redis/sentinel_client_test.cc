// SentinelClient against a real deployment the test starts (1 master,
// 1 replica, 3 sentinels; testing/redis_sentinel.h): discovery, a failover
// after the master died (commands and the subscription follow by
// themselves), a forced failover that demotes a live master (never read
// from it again), and replicated writes (WAIT).

#include "core/redis/sentinel_client.h"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/redis_admin.h"
#include "testing/redis_sentinel.h"

namespace cache_alchemy {
namespace redis {
namespace {

using ::cache_alchemy::testing::AdminCommand;
using ::cache_alchemy::testing::InfoField;
using ::cache_alchemy::testing::RedisSentinels;
using ::cache_alchemy::testing::RedisServer;
using ::testing::HasSubstr;

RedisSentinels& Deployment() {
  static RedisSentinels* deployment = new RedisSentinels();
  return *deployment;
}

std::shared_ptr<SentinelClient> Client(const std::string& query = "") {
  return std::make_shared<SentinelClient>(
      ParseSentinelUrl(Deployment().url(query)));
}

// Retries `command` for at most 15 s until it returns without throwing.
RedisReply Eventually(SentinelClient& client,
                      const std::vector<std::string>& command) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(15);
  for (;;) {
    try {
      return client.Command(command);
    } catch (const std::runtime_error&) {
      if (std::chrono::steady_clock::now() > deadline) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

struct Recorder : RedisSubscriptionListener {
  void OnSubscribed(const std::string&) override {
    absl::MutexLock lock(&mu);
    ++subscribed;
  }
  void OnMessage(const std::string&, const std::string& payload) override {
    absl::MutexLock lock(&mu);
    last = payload;
  }
  void OnDisconnected(const std::string&) override {
    absl::MutexLock lock(&mu);
    ++lost;
  }
  // Polls `done` under the lock for at most 15 s.
  bool Await(const std::function<bool()>& done) {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(15);
    for (;;) {
      {
        absl::MutexLock lock(&mu);
        if (done()) return true;
      }
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  absl::Mutex mu;
  int subscribed = 0;
  int lost = 0;
  std::string last;
};

std::string Address(int port) { return "127.0.0.1:" + std::to_string(port); }

TEST(SentinelClientTest, FindsTheMasterTheSentinelsName) {
  auto client = Client();
  EXPECT_EQ(client->master(), "");
  EXPECT_EQ(client->Command({"SET", "s:k", "v"}).str, "OK");
  EXPECT_EQ(client->master(), Address(Deployment().MasterPort()));
  EXPECT_EQ(client->discoveries(), 1);
  EXPECT_EQ(client->buckets(), 1);
  auto unknown = std::make_shared<SentinelClient>(ParseSentinelUrl(
      "redis-sentinel://" + Deployment().sentinel(0).address() + "/nope"));
  try {
    unknown->Command({"PING"});
    ADD_FAILURE() << "a master no sentinel knows";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("does not know master 'nope'"));
  }
}

TEST(SentinelClientTest, DurableCommandWaitsForTheReplica) {
  RedisSentinels& d = Deployment();
  d.WaitUntilHealthy();
  auto client = Client("wait_timeout_ms=1000");
  client->Command({"PING"});
  int64_t before = client->round_trips();
  EXPECT_EQ(client->DurableCommand({"SET", "s:durable", "1"}).str, "OK");
  EXPECT_EQ(client->round_trips() - before, 2);  // the write + ROLE, WAIT
  RedisServer& replica = d.data(1);
  replica.Pause();
  try {
    client->DurableCommand({"SET", "s:durable", "2"});
    ADD_FAILURE() << "a write no replica acknowledged looked durable";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("0 of 1 replicas"));
  }
  replica.Resume();
  d.WaitUntilHealthy();
}

TEST(SentinelClientTest, FollowsTheMasterAfterItDied) {
  RedisSentinels d;  // its own: the failover changes it
  d.WaitUntilHealthy(/*for_failover=*/true);
  auto client = std::make_shared<SentinelClient>(ParseSentinelUrl(d.url()));
  Recorder recorder;
  auto subscription = client->Subscribe({"news"}, &recorder);
  ASSERT_TRUE(recorder.Await([&] { return recorder.subscribed == 1; }));
  ASSERT_EQ(client->DurableCommand({"SET", "s:failover", "before"}).str, "OK");
  const int old = d.MasterPort();
  const int now = d.KillMasterAndWaitForFailover();
  ASSERT_NE(now, old);
  // The first commands may fail while the sentinels still name the dead
  // master; then the client finds the new one by itself.
  EXPECT_EQ(Eventually(*client, {"GET", "s:failover"}).str, "before");
  EXPECT_EQ(client->master(), Address(now));
  EXPECT_EQ(client->discoveries(), 2);
  // The subscription lost its server, said so, and found the new master.
  ASSERT_TRUE(recorder.Await([&] { return recorder.subscribed == 2; }));
  EXPECT_EQ(recorder.lost, 1);
  AdminCommand(now, {"PUBLISH", "news", "after"});
  EXPECT_TRUE(recorder.Await([&] { return recorder.last == "after"; }));
  // A master without replicas: nothing to wait for.
  const int64_t before = client->round_trips();
  EXPECT_EQ(client->DurableCommand({"SET", "s:alone", "1"}).str, "OK");
  EXPECT_EQ(client->round_trips() - before, 1);
}

TEST(SentinelClientTest, NeverReadsFromADemotedMaster) {
  RedisSentinels d;  // its own: the failover changes it
  d.WaitUntilHealthy(/*for_failover=*/true);
  auto client = std::make_shared<SentinelClient>(ParseSentinelUrl(d.url()));
  ASSERT_EQ(client->Command({"SET", "s:demoted", "v"}).str, "OK");
  const int old = d.MasterPort();
  // A failover while the master lives: the sentinels promote the replica,
  // then demote the old master and kill its clients (done here at once
  // rather than after the sentinels' next INFO, ~10 s). It keeps answering,
  // as a replica: reads there would succeed, and during a resync serve its
  // old data.
  RedisReply forced =
      AdminCommand(d.sentinel(0).port(), {"SENTINEL", "FAILOVER", "cache"});
  ASSERT_FALSE(forced.is_error()) << forced.str;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (d.MasterPort() == old) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const int now = d.MasterPort();
  AdminCommand(old, {"REPLICAOF", "127.0.0.1", std::to_string(now)});
  AdminCommand(old, {"CLIENT", "KILL", "TYPE", "normal"});
  // Reads only: a client that reconnected to the old address would be
  // answered (no READONLY), and never look for the new master.
  EXPECT_EQ(Eventually(*client, {"GET", "s:demoted"}).str, "v");
  EXPECT_EQ(client->master(), Address(now));
}

}  // namespace
}  // namespace redis
}  // namespace cache_alchemy
