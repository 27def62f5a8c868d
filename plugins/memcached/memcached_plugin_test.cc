// The Memcached plugin as a user meets it: selected by dotted name, loaded
// from runfiles by the registry, values serialized by the core.

#include <boost/dll/library_info.hpp>
#include <cstdlib>
#include <string>
#include <vector>

#include "cache_alchemy/cache_alchemy.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/memcached_server.h"
#include "testing/runfiles.h"

namespace ca = cache_alchemy;

namespace {

using ::testing::UnorderedElementsAre;

constexpr char kBackend[] =
    "cache_alchemy_contrib.backends.memcached.MemcachedCache";

class MemcachedPluginTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = ca::testing::MemcachedServer::Start().release();
    setenv("CACHE_ALCHEMY_MEMCACHED_SERVERS", server_->address().c_str(), 1);
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static ca::testing::MemcachedServer* server_;
};

ca::testing::MemcachedServer* MemcachedPluginTest::server_ = nullptr;

TEST_F(MemcachedPluginTest, CachesThroughTheDottedName) {
  int calls = 0;
  auto square = ca::cache({.backend = kBackend, .name = "plugin_test.square"},
                          [&calls](int x) {
                            ++calls;
                            return x * x;
                          });
  EXPECT_EQ(square(7), 49);
  EXPECT_EQ(square(7), 49);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(square.hits(), 1);
  EXPECT_EQ(square.misses(), 1);

  // Another wrapper of the same name (as in another process) shares entries.
  int other_calls = 0;
  auto again = ca::cache({.backend = kBackend, .name = "plugin_test.square"},
                         [&other_calls](int x) {
                           ++other_calls;
                           return x * x;
                         });
  EXPECT_EQ(again(7), 49);
  EXPECT_EQ(other_calls, 0);
  EXPECT_EQ(square.cache_clear(), 1);
  EXPECT_EQ(again(7), 49);
  EXPECT_EQ(other_calls, 1);
}

TEST_F(MemcachedPluginTest, StoresSerializedStringsAndVectors) {
  int calls = 0;
  auto words = ca::cache({.backend = kBackend, .name = "plugin_test.words"},
                         [&calls](const std::string& s) {
                           ++calls;
                           return std::vector<std::string>{s, s + s};
                         });
  const std::vector<std::string> want = {"ab c", "ab cab c"};
  EXPECT_EQ(words("ab c"), want);
  EXPECT_EQ(words("ab c"), want);
  EXPECT_EQ(calls, 1);
}

TEST_F(MemcachedPluginTest, LimitAndPartialClear) {
  int calls = 0;
  auto f = ca::cache({.limit = 3,
                      .strict = true,
                      .backend = kBackend,
                      .name = "plugin_test.partial",
                      .params = {"user", "page"}},
                     [&calls](const std::string& user, int page) {
                       ++calls;
                       return user + ":" + std::to_string(page);
                     });
  f("ann", 1);
  f("ann", 2);
  f("bob", 1);
  EXPECT_EQ(f.size(), 3);
  EXPECT_EQ(f.cache_clear(std::string("ann")), 2);
  EXPECT_EQ(f.size(), 1);
  calls = 0;
  EXPECT_EQ(f("bob", 1), "bob:1");
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(f("ann", 1), "ann:1");
  EXPECT_EQ(calls, 1);
  f("cat", 1);
  f("dan", 1);  // the fourth live entry: the oldest stored goes
  EXPECT_EQ(f.size(), 3);
}

TEST_F(MemcachedPluginTest, FlushAndNamespacesByPrefix) {
  const std::string prefix = "plugin-test-tenant:";
  auto a = ca::cache(
      {.backend = kBackend, .cache_key_prefix = prefix, .name = "ns.a"},
      [](int x) { return x + 1; });
  auto b = ca::cache(
      {.backend = kBackend, .cache_key_prefix = prefix, .name = "ns.b"},
      [](int x) { return x + 2; });
  a(1);
  a(2);
  b(1);
  EXPECT_THAT(ca::get_all_namespace(kBackend, prefix),
              UnorderedElementsAre("ns.a", "ns.b"));
  EXPECT_EQ(ca::flush_cache(kBackend, prefix), 3);
  EXPECT_TRUE(ca::get_all_namespace(kBackend, prefix).empty());
  EXPECT_EQ(a.size(), 0);
}

TEST_F(MemcachedPluginTest, FailsOpenWhenTheServerIsDown) {
  auto server = ca::testing::MemcachedServer::Start();
  setenv("CACHE_ALCHEMY_MEMCACHED_SERVERS", server->address().c_str(), 1);
  int calls = 0;
  auto f = ca::cache({.backend = kBackend, .name = "plugin_test.fail_open"},
                     [&calls](int x) {
                       ++calls;
                       return x * 10;
                     });
  setenv("CACHE_ALCHEMY_MEMCACHED_SERVERS", server_->address().c_str(), 1);
  EXPECT_EQ(f(1), 10);
  EXPECT_EQ(f(1), 10);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(f.errors(), 0);
  server->Stop();
  EXPECT_EQ(f(1), 10);  // the function still answers
  EXPECT_EQ(f(2), 20);
  EXPECT_EQ(calls, 3);
  EXPECT_GT(f.errors(), 0);
  // Reads fail open; a clear that could not happen says so.
  EXPECT_THROW(f.cache_clear(), ca::ClearError);
}

TEST(MemcachedPluginLibraryTest, ExportsOnlyTheBackendDescriptor) {
  ASSERT_FALSE(ca::testing::TestEnv("TEST_SRCDIR").empty());
  const std::string path = ca::testing::Runfile(
      "plugins/memcached/cache_alchemy_contrib.backends.memcached.so");
  boost::dll::library_info info(path);
  std::vector<std::string> exported;
  for (const std::string& s : info.symbols()) {
    // The linker keeps a few std::basic_string members global because
    // libstdc++ exports the same instantiations; they are standard code, not
    // the plugin's.
    if (s.rfind("_ZNSt7__cxx1112basic_string", 0) == 0) continue;
    exported.push_back(s);
  }
  EXPECT_THAT(exported,
              UnorderedElementsAre("cache_alchemy_backend_MemcachedCache"));
}

}  // namespace
