#include "core/redis/cluster_routing.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace cache_alchemy {
namespace redis {
namespace {

TEST(RoutingOfTest, FirstKeyOrNone) {
  auto key = [](std::vector<std::string> argv) {
    const CommandRouting r = RoutingOf(argv);
    return r.routing == Routing::kKey ? argv[r.key] : std::string("-");
  };
  EXPECT_EQ(key({"GET", "a"}), "a");
  EXPECT_EQ(key({"mget", "a", "b"}), "a");
  EXPECT_EQ(key({"EVALSHA", "sha", "2", "k1", "k2", "arg"}), "k1");
  EXPECT_EQ(key({"eval", "return 1", "0", "arg"}), "-");
  EXPECT_EQ(key({"OBJECT", "ENCODING", "k"}), "k");
  EXPECT_EQ(key({"PUBLISH", "channel", "m"}), "-");
  EXPECT_EQ(key({"PING"}), "-");
  EXPECT_EQ(key({"WAIT", "1", "0"}), "-");
  EXPECT_EQ(RoutingOf({"FLUSHALL"}).routing, Routing::kEveryMaster);
  EXPECT_EQ(RoutingOf({"KEYS", "*"}).routing, Routing::kEveryMaster);
  EXPECT_EQ(RoutingOf({"SCRIPT", "LOAD", "x"}).routing, Routing::kEveryMaster);
  EXPECT_EQ(RoutingOf({"CLIENT", "KILL", "TYPE", "pubsub"}).routing,
            Routing::kEveryMaster);
  EXPECT_EQ(RoutingOf({"CLIENT", "LIST"}).routing, Routing::kAnyMaster);
}

RedisReply Error(const std::string& text) {
  RedisReply reply;
  reply.type = RedisReply::Type::kError;
  reply.str = text;
  return reply;
}

TEST(ParseRedirectionTest, MovedAskAndRetries) {
  Redirection to = ParseRedirection(Error("MOVED 3999 127.0.0.1:6381"));
  EXPECT_EQ(to.kind, Redirect::kMoved);
  EXPECT_EQ(to.slot, 3999);
  EXPECT_EQ(to.host, "127.0.0.1");
  EXPECT_EQ(to.port, 6381);
  to = ParseRedirection(Error("ASK 16383 [::1]:7000"));
  EXPECT_EQ(to.kind, Redirect::kAsk);
  EXPECT_EQ(to.slot, 16383);
  EXPECT_EQ(to.host, "::1");
  EXPECT_EQ(to.port, 7000);
  // An unknown endpoint: the node that answered.
  to = ParseRedirection(Error("MOVED 1 :7002"));
  EXPECT_EQ(to.kind, Redirect::kMoved);
  EXPECT_EQ(to.host, "");
  EXPECT_EQ(ParseRedirection(Error("MOVED 1 ?:7002")).host, "");
  EXPECT_EQ(
      ParseRedirection(
          Error("TRYAGAIN Multiple keys request during rehashing of slot"))
          .kind,
      Redirect::kRetry);
  EXPECT_EQ(ParseRedirection(
                Error("ERR Script attempted to access a non local key in a "
                      "cluster node script: 95ae71e5"))
                .kind,
            Redirect::kRetry);
  for (const char* other : {"MOVED", "MOVED x 1.2.3.4:5", "MOVED 16384 h:1",
                            "ASK 1 h:", "CLUSTERDOWN Hash slot not served",
                            "ERR wrong number of arguments"}) {
    EXPECT_EQ(ParseRedirection(Error(other)).kind, Redirect::kNone) << other;
  }
  RedisReply ok;
  ok.type = RedisReply::Type::kStatus;
  ok.str = "MOVED 1 h:1";  // not an error: a value
  EXPECT_EQ(ParseRedirection(ok).kind, Redirect::kNone);
}

}  // namespace
}  // namespace redis
}  // namespace cache_alchemy
