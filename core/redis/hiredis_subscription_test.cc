// RedisClient::Subscribe over hiredis against a private redis-server:
// delivery (binary payloads, channels added later), reconnection after
// CLIENT KILL and a server restart, a hung server detected by PING, and no
// callback after the subscription is deleted.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "core/log.h"
#include "core/redis/hiredis_client.h"
#include "gtest/gtest.h"
#include "testing/redis_server.h"

namespace cache_alchemy {
namespace redis {
namespace {

using ::cache_alchemy::testing::RedisServer;

class Recorder final : public RedisSubscriptionListener {
 public:
  void OnSubscribed(const std::string& channel) override {
    absl::MutexLock lock(&mu_);
    subscribed_.push_back(channel);
  }
  void OnMessage(const std::string& channel,
                 const std::string& payload) override {
    absl::MutexLock lock(&mu_);
    messages_.push_back(channel + "=" + payload);
  }
  void OnDisconnected(const std::string& error) override {
    absl::MutexLock lock(&mu_);
    errors_.push_back(error);
  }
  // Waits up to 5 s for `done` to hold over the recorded state.
  bool WaitFor(std::function<bool(const Recorder&)> done) {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
      {
        absl::MutexLock lock(&mu_);
        if (done(*this)) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return false;
  }
  std::vector<std::string> subscribed_, messages_, errors_;

 private:
  absl::Mutex mu_;
};

TEST(HiredisSubscriptionTest, DeliversBinaryMessagesAndLaterChannels) {
  RedisServer server;
  auto client = RedisClient::FromUrl(server.url());
  Recorder rec;
  auto sub = client->Subscribe({"a"}, &rec);
  ASSERT_TRUE(
      rec.WaitFor([](const Recorder& r) { return r.subscribed_.size() == 1; }));
  const std::string binary("x\0y", 3);
  EXPECT_EQ(client->Command({"PUBLISH", "a", binary}).integer, 1);
  sub->AddChannel("b");
  ASSERT_TRUE(
      rec.WaitFor([](const Recorder& r) { return r.subscribed_.size() == 2; }));
  EXPECT_EQ(client->Command({"PUBLISH", "b", "2"}).integer, 1);
  ASSERT_TRUE(
      rec.WaitFor([](const Recorder& r) { return r.messages_.size() == 2; }));
  EXPECT_EQ(rec.messages_[0], "a=" + binary);
  EXPECT_EQ(rec.messages_[1], "b=2");
  EXPECT_TRUE(rec.errors_.empty());
}

TEST(HiredisSubscriptionTest, ReconnectsAfterKillAndRestart) {
  RedisServer server;
  auto client = RedisClient::FromUrl(server.url());
  Recorder rec;
  auto sub = client->Subscribe({"c"}, &rec);
  ASSERT_TRUE(
      rec.WaitFor([](const Recorder& r) { return r.subscribed_.size() == 1; }));
  EXPECT_EQ(client->Command({"CLIENT", "KILL", "TYPE", "pubsub"}).integer, 1);
  ASSERT_TRUE(rec.WaitFor([](const Recorder& r) {
    return r.errors_.size() == 1 && r.subscribed_.size() == 2;
  }));
  server.Restart();
  ASSERT_TRUE(rec.WaitFor([](const Recorder& r) {
    return r.errors_.size() == 2 && r.subscribed_.size() == 3;
  }));
  EXPECT_EQ(client->Command({"PUBLISH", "c", "after"}).integer, 1);
  ASSERT_TRUE(
      rec.WaitFor([](const Recorder& r) { return r.messages_.size() == 1; }));
  EXPECT_EQ(rec.messages_[0], "c=after");
}

TEST(HiredisSubscriptionTest, UnreachableServerIsReportedOnce) {
  RedisServer server;
  const std::string url = server.url();
  server.Stop();
  auto client = RedisClient::FromUrl(url);
  Recorder rec;
  auto sub = client->Subscribe({"d"}, &rec);
  ASSERT_TRUE(
      rec.WaitFor([](const Recorder& r) { return r.errors_.size() == 1; }));
  EXPECT_NE(rec.errors_[0].find("cannot connect"), std::string::npos)
      << rec.errors_[0];
  std::this_thread::sleep_for(std::chrono::milliseconds(250));  // retries
  sub.reset();  // joins: no callback after this
  EXPECT_EQ(rec.errors_.size(), 1u);
  EXPECT_TRUE(rec.subscribed_.empty());
}

TEST(HiredisSubscriptionTest, HungServerIsDetectedByPing) {
  RedisServer server;
  auto client = RedisClient::FromUrl(server.url() + "?timeout_ms=200");
  Recorder rec;
  auto sub = client->Subscribe({"e"}, &rec);
  ASSERT_TRUE(
      rec.WaitFor([](const Recorder& r) { return r.subscribed_.size() == 1; }));
  server.Pause();
  // Idle 1 s, then PING, then 200 ms without an answer.
  const bool lost =
      rec.WaitFor([](const Recorder& r) { return r.errors_.size() == 1; });
  server.Resume();
  ASSERT_TRUE(lost);
  EXPECT_NE(rec.errors_[0].find("PING"), std::string::npos) << rec.errors_[0];
  ASSERT_TRUE(
      rec.WaitFor([](const Recorder& r) { return r.subscribed_.size() == 2; }));
}

// Cluster and Sentinel clients tell the subscription where to connect
// before each attempt; a failed attempt (or a lost connection) is counted
// for the resolver, which then names another server.
TEST(HiredisSubscriptionTest, ConnectsWhereTheResolverSays) {
  RedisServer server;
  RedisEndpoint live = ParseRedisUrl(server.url());
  RedisEndpoint dead = live;
  dead.port = 1;  // nothing listens there
  std::vector<int> failures_seen;
  absl::Mutex mu;
  Recorder recorder;
  auto subscription = MakeHiredisSubscription(
      [&](int failures) {
        absl::MutexLock lock(&mu);
        failures_seen.push_back(failures);
        return failures == 0 ? dead : live;
      },
      {"news"}, &recorder);
  ASSERT_TRUE(recorder.WaitFor(
      [](const Recorder& r) { return r.subscribed_.size() == 1; }));
  EXPECT_EQ(recorder.errors_.size(), 1u);  // the dead server, reported once
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(failures_seen, (std::vector<int>{0, 1}));
  }
  // A loss after a subscription counts as the first failure again.
  RedisClient::FromUrl(server.url())
      ->Command({"CLIENT", "KILL", "TYPE", "pubsub"});
  ASSERT_TRUE(recorder.WaitFor(
      [](const Recorder& r) { return r.subscribed_.size() == 2; }));
  absl::MutexLock lock(&mu);
  EXPECT_EQ(failures_seen.back(), 1);
}

// A loss and the subscription made again after it each reach the log sink
// (core/log.h) once.
TEST(HiredisSubscriptionTest, LossAndRegainAreLoggedOnce) {
  absl::Mutex mu;
  std::vector<std::string> lines;
  SetLogSink([&](const LogRecord& r) {
    absl::MutexLock lock(&mu);
    lines.push_back(
        absl::StrCat(LogLevelName(r.level), " ", std::string(r.message)));
  });
  RedisServer server;
  auto client = RedisClient::FromUrl(server.url());
  Recorder rec;
  auto sub = client->Subscribe({"f", "g"}, &rec);
  ASSERT_TRUE(
      rec.WaitFor([](const Recorder& r) { return r.subscribed_.size() == 2; }));
  EXPECT_EQ(client->Command({"CLIENT", "KILL", "TYPE", "pubsub"}).integer, 1);
  ASSERT_TRUE(
      rec.WaitFor([](const Recorder& r) { return r.subscribed_.size() == 4; }));
  sub.reset();
  SetLogSink(nullptr);
  absl::MutexLock lock(&mu);
  ASSERT_EQ(lines.size(), 2u) << absl::StrJoin(lines, "\n");
  EXPECT_TRUE(absl::StartsWith(lines[0], "WARNING pub/sub subscription lost: "))
      << lines[0];
  EXPECT_TRUE(absl::StrContains(lines[0], server.url())) << lines[0];
  EXPECT_EQ(lines[1], "INFO pub/sub subscription regained on " + server.url());
}

}  // namespace
}  // namespace redis
}  // namespace cache_alchemy
