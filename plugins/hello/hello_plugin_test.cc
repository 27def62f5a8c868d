// The minimal plugin, built by Bazel and found in runfiles (plugins/hello/).

#include <string>

#include "cache_alchemy/cache_alchemy.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ca = cache_alchemy;

namespace {

constexpr char kBackend[] = "acme.backends.hello.HelloCache";

TEST(HelloPluginTest, CachesClearsAndFlushes) {
  int calls = 0;
  auto f = ca::cache({.strict = true,
                      .backend = kBackend,
                      .cache_key_prefix = "hello:",
                      .name = "hello.f"},
                     [&calls](const std::string& s, int n) {
                       ++calls;
                       return s + std::to_string(n);
                     });
  EXPECT_EQ(f("a", 1), "a1");
  EXPECT_EQ(f("a", 1), "a1");
  EXPECT_EQ(f("a", 2), "a2");
  EXPECT_EQ(f("b", 1), "b1");
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(f.hits(), 1);
  EXPECT_EQ(f.cache_clear(std::string("a")), 2);
  EXPECT_EQ(f.size(), 1);
  EXPECT_THAT(ca::get_all_namespace(kBackend, "hello:"),
              ::testing::ElementsAre("hello.f"));
  EXPECT_EQ(ca::flush_cache(kBackend, "hello:"), 1);
  EXPECT_EQ(f.size(), 0);
}

}  // namespace
