// MemcachedClient against a hostile server (ScriptedMemcachedServer): a reply
// whose length claims gigabytes is refused before libmemcached allocates
// them, and replies that lie in other ways are errors or misses, quickly.

#include "plugins/memcached/memcached_client.h"

#include <chrono>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "plugins/memcached/scripted_memcached_server.h"

namespace cache_alchemy {
namespace memcached {
namespace {

using ::testing::HasSubstr;

ScriptedMemcachedServer& Server() {
  static auto* const server = new ScriptedMemcachedServer();
  return *server;
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since)
      .count();
}

TEST(MemcachedClientTest, ReplyClaimingGigabytesIsRefusedBeforeAllocating) {
  // Found by the memcached_replies fuzz target: libmemcached allocates the
  // length a VALUE line claims (here 4 GB) before reading the data.
  Server().Script({"VALUE $K0 0 4000000000\r\nhello\r\nEND\r\n"});
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::optional<std::string>> value;
  {
    MemcachedClient client(Server().address());
    value = client.Get("k");
  }
  Server().WaitIdle();
  ASSERT_FALSE(value.ok());
  EXPECT_THAT(value.status().message(), HasSubstr("MEMORY ALLOCATION FAILURE"))
      << "the claimed length was allocated, the error came only later";
  EXPECT_LT(Seconds(start), 1.0);
}

TEST(MemcachedClientTest, WellFormedRepliesStillWork) {
  Server().Script({"VALUE $K0 0 $#\r\nhello$.\r\nEND\r\n"});
  {
    MemcachedClient client(Server().address());
    absl::StatusOr<std::optional<std::string>> value = client.Get("k");
    ASSERT_TRUE(value.ok()) << value.status();
    EXPECT_EQ(*value, "hello");
  }
  Server().WaitIdle();
  // A large value.
  const std::string big(size_t{1} << 20,
                        'x');  // 1 MiB, Memcached's default item limit
  Server().Script({"VALUE $K0 0 $#\r\n" + big + "$.\r\nEND\r\n"});
  {
    MemcachedClient client(Server().address());
    absl::StatusOr<std::optional<std::string>> value = client.Get("k");
    ASSERT_TRUE(value.ok()) << value.status();
    EXPECT_EQ(value->value_or("").size(), big.size());
  }
  Server().WaitIdle();
}

TEST(MemcachedClientTest, LyingRepliesAreErrorsOrMissesQuickly) {
  for (const char* reply :
       {"VALUE $K0 0 5\r\nhi\r\nEND\r\n",      // shorter than claimed
        "VALUE other 0 $#\r\nx$.\r\nEND\r\n",  // a key not asked for
        "VALUE $K0 0 -1\r\n\r\nEND\r\n", "garbage\r\n", "END"}) {
    SCOPED_TRACE(reply);
    Server().Script({reply});
    const auto start = std::chrono::steady_clock::now();
    {
      MemcachedClient client(Server().address());
      absl::StatusOr<std::optional<std::string>> value = client.Get("k");
      if (value.ok()) {
        EXPECT_FALSE(value->has_value());
      }
    }
    Server().WaitIdle();
    EXPECT_LT(Seconds(start), 1.9);  // one poll timeout (1 s), not two
  }
}

// Found by the memcached_replies fuzz target, in libmemcached 1.1 itself
// (storage.cc:257, memcached_send_ascii): a storage command answered with a
// line libmemcached counts as success but is not STORED ("END", "DELETED",
// a VALUE line...) trips `assert(memcached_failed(rc))`, and Debian builds
// libmemcached with assertions: the process aborts. A real Memcached never
// answers a set that way; a hostile server or a man in the middle can. The
// client cannot intercept the reply, so this pins the library's behaviour
// (docs/reliability.md): when this test fails, libmemcached was fixed and
// the fuzz target's guard (WithholdRepliesThatAbortLibmemcached) can go.
TEST(MemcachedClientDeathTest, KnownLibmemcachedAbortOnAStatusThatIsNotStored) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        ScriptedMemcachedServer& server = Server();
        server.Script({"END\r\n"});
        MemcachedClient client(server.address());
        (void)client.Set("k", "v", 0);
      },
      "memcached_send_ascii");
}

}  // namespace
}  // namespace memcached
}  // namespace cache_alchemy
