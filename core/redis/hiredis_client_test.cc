#include "core/redis/hiredis_client.h"

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "config/redact.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/redis_server.h"

namespace cache_alchemy {
namespace redis {
namespace {

using ::cache_alchemy::testing::RedisServer;
using ::cache_alchemy::testing::SharedRedisServer;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(ParseRedisUrlTest, FullTcpForm) {
  RedisEndpoint ep = ParseRedisUrl("redis://alice:s%40cret@example.org:6380/3");
  EXPECT_EQ(ep.host, "example.org");
  EXPECT_EQ(ep.port, 6380);
  EXPECT_EQ(ep.user, "alice");
  EXPECT_EQ(ep.password, "s@cret");
  EXPECT_EQ(ep.db, 3);
  EXPECT_TRUE(ep.socket_path.empty());
}

TEST(ParseRedisUrlTest, Defaults) {
  RedisEndpoint ep = ParseRedisUrl("redis://localhost");
  EXPECT_EQ(ep.host, "localhost");
  EXPECT_EQ(ep.port, 6379);
  EXPECT_EQ(ep.db, 0);
  EXPECT_TRUE(ep.password.empty());
  ep = ParseRedisUrl("redis://:pw@[::1]:7000/?timeout_ms=50&pool_size=2");
  EXPECT_EQ(ep.host, "::1");
  EXPECT_EQ(ep.port, 7000);
  EXPECT_EQ(ep.password, "pw");
  EXPECT_EQ(ep.user, "");
  EXPECT_EQ(ep.timeout_ms, 50);
  EXPECT_EQ(ep.pool_size, 2);
}

TEST(ParseRedisUrlTest, UnixForm) {
  RedisEndpoint ep = ParseRedisUrl("unix:///run/redis.sock?db=5");
  EXPECT_EQ(ep.socket_path, "/run/redis.sock");
  EXPECT_EQ(ep.db, 5);
}

TEST(ParseRedisUrlTest, MalformedUrlsNameTheProblem) {
  struct Case {
    const char* url;
    const char* says;
  } cases[] = {
      {"http://localhost", "scheme"},
      {"redis://", "host is missing"},
      {"redis://host:port", "port 'port'"},
      {"redis://host:0", "port '0'"},
      {"redis://host:70000", "port '70000'"},
      {"redis://host:", "empty port"},
      {"redis://host/x", "db 'x'"},
      {"redis://password@host", "':' before the password"},
      {"unix://relative.sock", "absolute socket path"},
      {"unix:///a.sock?db=-1", "db '-1'"},
      {"redis://host?colour=red", "unknown option 'colour'"},
      {"redis://:%zz@host", "two hex digits"},
  };
  for (const Case& c : cases) {
    try {
      ParseRedisUrl(c.url);
      ADD_FAILURE() << c.url << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_THAT(e.what(), HasSubstr(c.says)) << c.url;
      // The URL is named, its password (if any) hidden.
      EXPECT_THAT(e.what(), HasSubstr(config::RedactSecrets(c.url)));
    }
  }
}

TEST(ParseRedisUrlTest, ErrorsNeverEchoThePassword) {
  struct Case {
    const char* url;
    const char* says;  // the problem is still named
  } cases[] = {
      {"redis://:s3cret@host:port", "port 'port'"},
      {"redis://:s3cret@", "host is missing"},
      {"redis://user:s3cret@host?colour=red", "unknown option 'colour'"},
      {"redis://:s3cret@host/x", "db 'x'"},
      {"redis://:s3cret@host:70000", "port '70000'"},
      {"redis://s3cret@host", "':' before the password"},
      {"redis://:%zz%s3cret@host", "two hex digits"},
      {"http://:s3cret@host", "scheme"},
      {"unix://relative.sock?password=s3cret", "absolute socket path"},
      {"redis://host?password=s3cret&db=x", "db 'x'"},
      {"redis://host?password=%s3cret", "two hex digits"},
      // Unescaped separators in a password: the parser cuts the URL in the
      // wrong place and would echo a piece of the password.
      {"redis://x:s3cret?y@host", "port '***'"},
      {"redis://x:s3/cret@host", "port"},
  };
  for (const Case& c : cases) {
    try {
      ParseRedisUrl(c.url);
      ADD_FAILURE() << c.url << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_THAT(e.what(), Not(HasSubstr("s3"))) << c.url;
      EXPECT_THAT(e.what(), HasSubstr(c.says)) << c.url;
      EXPECT_THAT(e.what(), HasSubstr("malformed Redis URL '")) << c.url;
    }
  }
}

TEST(RedisClientTest, FromUrlRejectsMalformedUrl) {
  EXPECT_THROW(RedisClient::FromUrl("redis//nope"), std::invalid_argument);
}

TEST(RedisClientTest, CommandsAreBinarySafe) {
  auto client = RedisClient::FromUrl(SharedRedisServer()->url());
  EXPECT_EQ(client->Command({"PING"}).str, "PONG");
  const std::string key("bin\0key\xff", 8);
  const std::string value("\0\1\2 value \r\n", 12);
  EXPECT_EQ(client->Command({"SET", key, value}).type,
            RedisReply::Type::kStatus);
  RedisReply got = client->Command({"GET", key});
  ASSERT_EQ(got.type, RedisReply::Type::kString);
  EXPECT_EQ(got.str, value);
  EXPECT_TRUE(client->Command({"GET", "absent"}).is_nil());
  RedisReply error = client->Command({"NOSUCHCOMMAND"});
  EXPECT_TRUE(error.is_error());
  EXPECT_THAT(error.str, HasSubstr("unknown command"));
  // The client formats the protocol itself (hiredis_client.cc, AppendArgv):
  // empty arguments, arguments that look like the protocol, a command
  // longer than its 1 KiB stack buffer (one long value; many arguments),
  // and pipelined commands of both sizes.
  const std::string protocol_like("*2\r\n$3\r\nGET\r\n$1\r\n");
  EXPECT_EQ(client->Command({"SET", protocol_like, ""}).type,
            RedisReply::Type::kStatus);
  EXPECT_EQ(client->Command({"GET", protocol_like}).str, "");
  EXPECT_EQ(client->Command({"STRLEN", protocol_like}).integer, 0);
  std::string big(1 << 20, 'x');
  for (size_t i = 0; i < big.size(); i += 997) big[i] = static_cast<char>(i);
  EXPECT_EQ(client->Command({"SET", "big", big}).type,
            RedisReply::Type::kStatus);
  EXPECT_EQ(client->Command({"GET", "big"}).str, big);
  std::vector<std::string> mset = {"MSET"};
  for (int i = 0; i < 200; ++i) {
    mset.push_back("k" + std::to_string(i));
    mset.push_back(std::string(i % 7, '\0') + std::to_string(i));
  }
  EXPECT_EQ(client->Command(mset).type, RedisReply::Type::kStatus);
  std::vector<RedisReply> replies = client->Pipeline(
      {{"GET", "k199"}, {"SET", "big2", big}, {"GET", "k3"}, {"GET", "big2"}});
  ASSERT_EQ(replies.size(), 4u);
  EXPECT_EQ(replies[0].str, std::string(3, '\0') + "199");
  EXPECT_EQ(replies[2].str, std::string(3, '\0') + "3");
  EXPECT_EQ(replies[3].str, big);
}

TEST(RedisClientTest, PipelineIsOneRoundTrip) {
  auto client = RedisClient::FromUrl(SharedRedisServer()->url());
  const int64_t before = client->round_trips();
  std::vector<RedisReply> replies = client->Pipeline(
      {{"DEL", "p"}, {"RPUSH", "p", "a", "b"}, {"LRANGE", "p", "0", "-1"}});
  EXPECT_EQ(client->round_trips() - before, 1);
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(replies[1].integer, 2);
  ASSERT_EQ(replies[2].type, RedisReply::Type::kArray);
  ASSERT_EQ(replies[2].elements.size(), 2u);
  EXPECT_EQ(replies[2].elements[1].str, "b");
}

TEST(RedisClientTest, SendIsOffUnlessTheUrlAsks) {
  EXPECT_FALSE(ParseRedisUrl("redis://h").deferred_stores);
  EXPECT_TRUE(ParseRedisUrl("redis://h?deferred_stores=1").deferred_stores);
  EXPECT_THROW(ParseRedisUrl("redis://h?deferred_stores=yes"),
               std::invalid_argument);
  auto client = RedisClient::FromUrl(SharedRedisServer()->url(6));
  client->Command({"DEL", "sent"});
  EXPECT_FALSE(client->Send({"SET", "sent", "v"}));
  EXPECT_TRUE(client->Command({"GET", "sent"}).is_nil());
}

TEST(RedisClientTest, SendWritesNowAndReadsTheReplyBeforeTheNextCommand) {
  auto client = RedisClient::FromUrl(SharedRedisServer()->url(6) +
                                     "?deferred_stores=1&pool_size=1");
  client->Command({"DEL", "sent"});
  const int64_t trips = client->round_trips();
  ASSERT_TRUE(client->Send({"SET", "sent", "1"}));
  EXPECT_EQ(client->round_trips(), trips);  // no exchange waited for
  // The next command on the connection comes after it and reads its
  // reply first (an OK: no error counted).
  EXPECT_EQ(client->Command({"GET", "sent"}).str, "1");
  EXPECT_EQ(client->deferred_errors(), 0);
  // An error reply to a Send is counted when it is read.
  ASSERT_TRUE(client->Send({"NO-SUCH-COMMAND"}));
  EXPECT_EQ(client->Command({"PING"}).str, "PONG");
  EXPECT_EQ(client->deferred_errors(), 1);
  // More sends than replies may wait on one connection: every one lands,
  // in order, and the replies stay paired with their commands.
  for (int i = 0; i < 3 * HiredisClient::kMaxPendingReplies; ++i) {
    ASSERT_TRUE(client->Send({"SET", "sent", std::to_string(i)}));
  }
  EXPECT_EQ(client->Command({"GET", "sent"}).str,
            std::to_string(3 * HiredisClient::kMaxPendingReplies - 1));
  EXPECT_EQ(client->Command({"INCR", "sent"}).integer,
            3 * HiredisClient::kMaxPendingReplies);
  EXPECT_EQ(client->deferred_errors(), 1);
}

TEST(RedisClientTest, SendAfterARestartReconnects) {
  RedisServer server;
  auto client = RedisClient::FromUrl(server.url() + "?deferred_stores=1");
  ASSERT_TRUE(client->Send({"SET", "k", "before"}));
  EXPECT_EQ(client->Command({"GET", "k"}).str, "before");
  server.Restart();  // the pooled connection dies, the data with it
  // A Send on the dead connection may be lost; the next command finds the
  // connection closed, retries on a fresh one and answers.
  client->Send({"SET", "k", "maybe lost"});
  EXPECT_EQ(client->Command({"PING"}).str, "PONG");
  ASSERT_TRUE(client->Send({"SET", "k", "after"}));
  EXPECT_EQ(client->Command({"GET", "k"}).str, "after");
}

TEST(RedisClientTest, SelectsTheDatabase) {
  auto db1 = RedisClient::FromUrl(SharedRedisServer()->url(1));
  auto db2 = RedisClient::FromUrl(SharedRedisServer()->url(2));
  db1->Command({"SET", "which", "one"});
  db2->Command({"SET", "which", "two"});
  EXPECT_EQ(db1->Command({"GET", "which"}).str, "one");
  EXPECT_EQ(db2->Command({"GET", "which"}).str, "two");
}

TEST(RedisClientTest, UnixSocket) {
  auto client = RedisClient::FromUrl(SharedRedisServer()->unix_url(4));
  client->Command({"SET", "via", "unix"});
  auto tcp = RedisClient::FromUrl(SharedRedisServer()->url(4));
  EXPECT_EQ(tcp->Command({"GET", "via"}).str, "unix");
}

TEST(RedisClientTest, AuthenticatesOnConnect) {
  RedisServer server({.password = "hunter2"});
  auto client = RedisClient::FromUrl(server.url());
  EXPECT_EQ(client->Command({"PING"}).str, "PONG");
  auto wrong = RedisClient::FromUrl("redis://:wrong@127.0.0.1:" +
                                    std::to_string(server.port()));
  try {
    wrong->Command({"PING"});
    ADD_FAILURE() << "a wrong password was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("AUTH"));
  }
}

TEST(RedisClientTest, DownServerThrowsAndRestartReconnects) {
  RedisServer server;
  auto client = RedisClient::FromUrl(server.url());
  client->Command({"SET", "k", "v"});
  server.Stop();
  try {
    client->Command({"GET", "k"});
    ADD_FAILURE() << "a command to a stopped server succeeded";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr(std::to_string(server.port())));
  }
  server.Start();
  // Past the reconnect cool-down, the client reconnects by itself.
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  EXPECT_EQ(client->Command({"PING"}).str, "PONG");
  // Pooled connections die with a restart: still transparent.
  server.Restart();
  EXPECT_EQ(client->Command({"PING"}).str, "PONG");
}

TEST(RedisClientTest, CommandTimeout) {
  auto client =
      RedisClient::FromUrl(SharedRedisServer()->url() + "?timeout_ms=100");
  auto blocker = RedisClient::FromUrl(SharedRedisServer()->url());
  const auto start = std::chrono::steady_clock::now();
  // BLPOP on an empty list blocks for 1 s server-side: the client gives up
  // after 100 ms.
  EXPECT_THROW(client->Command({"BLPOP", "empty-list", "1"}),
               std::runtime_error);
  EXPECT_LT(std::chrono::steady_clock::now() - start,
            std::chrono::milliseconds(900));
  // After the timeout's cool-down, the client works again.
  std::this_thread::sleep_for(std::chrono::milliseconds(120));
  EXPECT_EQ(client->Command({"PING"}).str, "PONG");
}

TEST(RedisClientTest, HungServerTimesOutThenFailsFast) {
  RedisServer server;
  auto client = RedisClient::FromUrl(server.url() + "?timeout_ms=150");
  EXPECT_EQ(client->Command({"PING"}).str, "PONG");
  server.Pause();
  auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(client->Command({"PING"}), std::runtime_error);
  EXPECT_GE(std::chrono::steady_clock::now() - start,
            std::chrono::milliseconds(140));
  start = std::chrono::steady_clock::now();
  try {
    client->Command({"PING"});
    ADD_FAILURE() << "a hung server answered";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("cool-down"));
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start,
            std::chrono::milliseconds(100));
  server.Resume();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(client->Command({"PING"}).str, "PONG");
}

TEST(RedisClientTest, ConcurrentCallers) {
  auto client =
      RedisClient::FromUrl(SharedRedisServer()->url() + "?pool_size=3");
  client->Command({"DEL", "counter"});
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&client] {
      for (int i = 0; i < 200; ++i) {
        client->Pipeline({{"INCR", "counter"}, {"PING"}});
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(client->Command({"GET", "counter"}).str, "1600");
}

// Many threads at once: the pool grows to the number of threads using it
// instead of closing connections beyond pool_size and opening new ones.
TEST(RedisClientTest, PoolGrowsToTheThreadsUsingIt) {
  auto client = RedisClient::FromUrl(SharedRedisServer()->url());  // pool 8
  auto connections = [&client] {
    const std::string info = client->Command({"INFO", "stats"}).str;
    const std::string field = "total_connections_received:";
    return std::stoll(info.substr(info.find(field) + field.size()));
  };
  const int64_t before = connections();
  constexpr int kThreads = 16;
  for (int round = 0; round < 5; ++round) {
    // Each command holds its connection 50 ms on the server: all 16 are in
    // use at once, every round.
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&client] {
        client->Command({"BLPOP", "pool:nothing", "0.05"});
      });
    }
    for (auto& t : threads) t.join();
  }
  EXPECT_LE(connections() - before, kThreads + 2)
      << "connections were closed and opened again";
}

TEST(RedisClientTest, ForkChildUsesItsOwnConnection) {
  auto client = RedisClient::FromUrl(SharedRedisServer()->url());
  client->Command({"SET", "forked", "parent"});
  // The connection left in the pool, by its server-side id.
  const int64_t parent_connection = client->Command({"CLIENT", "ID"}).integer;
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    bool ok = client->Command({"GET", "forked"}).str == "parent";
    // Not the parent's socket: a connection of its own.
    ok = ok && client->Command({"CLIENT", "ID"}).integer != parent_connection;
    client->Command({"SET", "forked", "child"});
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(client->Command({"GET", "forked"}).str, "child");
}

TEST(RedisClientTest, DurableCommandOnASingleRedisIsCommand) {
  HiredisClient client(ParseRedisUrl(SharedRedisServer()->url()));
  client.Command({"PING"});
  const int64_t before = client.round_trips();
  EXPECT_EQ(client.DurableCommand({"SET", "durable:single", "1"}).str, "OK");
  EXPECT_EQ(client.round_trips() - before, 1);  // no ROLE, no WAIT
  EXPECT_EQ(client.buckets(), 1);
}

TEST(RedisClientTest, DurableWritesWaitForEveryReplicaOnline) {
  RedisServer master;
  RedisServer::Options options;
  options.args = {"--replicaof", "127.0.0.1", std::to_string(master.port())};
  RedisServer replica(options);
  RedisEndpoint endpoint = ParseRedisUrl(master.url());
  endpoint.durable_writes = true;
  endpoint.wait_timeout_ms = 1000;  // a loaded machine: replicas ack late
  HiredisClient client(endpoint);
  // Until the replica is online, there is nothing to wait for; then each
  // write waits for it.
  auto replica_client = RedisClient::FromUrl(replica.url());
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (client.Command({"ROLE"}).elements[2].elements.empty() ||
         replica_client->Command({"INFO", "replication"})
                 .str.find("master_link_status:up") == std::string::npos) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(client.DurableCommand({"SET", "k", "1"}).str, "OK");
  EXPECT_EQ(replica_client->Command({"GET", "k"}).str,
            "1");  // acknowledged means there
  replica.Pause();
  try {
    client.DurableCommand({"SET", "k", "2"});
    ADD_FAILURE() << "no replica acknowledged, yet no error";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("0 of 1 replicas"));
    EXPECT_THAT(e.what(), HasSubstr("SET ran on the master"));
  }
  replica.Resume();
  // The connection is still good after the WAIT timed out, and writes are
  // acknowledged again once the replica caught up.
  const auto caught_up =
      std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    try {
      EXPECT_EQ(client.DurableCommand({"SET", "k", "3"}).str, "OK");
      break;
    } catch (const std::runtime_error& e) {
      ASSERT_LT(std::chrono::steady_clock::now(), caught_up) << e.what();
    }
  }
  EXPECT_EQ(replica_client->Command({"GET", "k"}).str, "3");
}

TEST(RedisClientTest, MasterOnlyRefusesAReplica) {
  RedisServer::Options options;
  options.args = {"--replicaof", "127.0.0.1",
                  std::to_string(SharedRedisServer()->port())};
  RedisServer replica(options);
  RedisEndpoint endpoint = ParseRedisUrl(replica.url());
  endpoint.master_only = true;
  try {
    HiredisClient(endpoint).Command({"GET", "k"});
    ADD_FAILURE() << "read from a replica";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("not a master"));
  }
  endpoint = ParseRedisUrl(SharedRedisServer()->url());
  endpoint.master_only = true;
  EXPECT_EQ(HiredisClient(endpoint).Command({"PING"}).str, "PONG");
}

}  // namespace
}  // namespace redis
}  // namespace cache_alchemy
