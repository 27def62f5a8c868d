// The cache families take their backend, limit, expire, prefix and plugin
// path from the current DefaultConfig at wrap time (and from the environment
// when no config is alive).

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "cache_alchemy/cache_alchemy.h"
#include "config/internal/scoped_env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/fake_clock.h"

namespace ca = cache_alchemy;

namespace {

using ca::config::DefaultConfig;
using ca::config::internal::ScopedEnv;
using ::testing::HasSubstr;

constexpr char kMemoryCache[] = "cache_alchemy.backends.memory.MemoryCache";

class FamiliesTest : public ::testing::Test {
 protected:
  ca::config::internal::ScopedDefaultEnvCleared clean_env_;

  // Counts calls, so a test sees which calls were computed.
  std::function<int(int)> Counting() {
    return [this](int x) {
      ++calls_;
      return x * 10;
    };
  }

  int calls_ = 0;
};

TEST_F(FamiliesTest, MemoryCacheTakesBackendAndLimitFromTheConfig) {
  DefaultConfig config({{"CACHE_ALCHEMY_MEMORY_BACKEND", kMemoryCache},
                        {"CACHE_ALCHEMY_DEFAULT_LIMIT", "2"}});
  auto f = ca::memory_cache(Counting());
  EXPECT_EQ(f(1), 10);
  EXPECT_EQ(f(2), 20);
  EXPECT_EQ(f(3), 30);
  EXPECT_EQ(f.size(), 2);  // limit 2: the oldest entry was evicted
  EXPECT_EQ(calls_, 3);
  EXPECT_EQ(f(3), 30);
  EXPECT_EQ(calls_, 3);
}

TEST_F(FamiliesTest, ExplicitOptionsWinOverTheConfig) {
  DefaultConfig config({{"CACHE_ALCHEMY_MEMORY_BACKEND", kMemoryCache},
                        {"CACHE_ALCHEMY_DEFAULT_LIMIT", "2"}});
  auto f = ca::memory_cache({.limit = 5}, Counting());
  for (int i = 0; i < 5; ++i) f(i);
  EXPECT_EQ(f.size(), 5);
}

TEST_F(FamiliesTest, ConfigIsReadAtWrapTime) {
  DefaultConfig config({{"CACHE_ALCHEMY_MEMORY_BACKEND", kMemoryCache}});
  config.set("CACHE_ALCHEMY_DEFAULT_LIMIT", 1);
  auto one = ca::memory_cache(Counting());
  config.set("CACHE_ALCHEMY_DEFAULT_LIMIT", 3);
  auto three = ca::memory_cache(Counting());
  for (int i = 0; i < 4; ++i) {
    one(i);
    three(i);
  }
  EXPECT_EQ(one.size(), 1);
  EXPECT_EQ(three.size(), 3);
}

TEST_F(FamiliesTest, ExpireFromTheConfig) {
  ca::testing::FakeClock clock;
  ca::testing::ScopedClockOverride use(&clock);
  DefaultConfig config({{"CACHE_ALCHEMY_MEMORY_BACKEND", kMemoryCache},
                        {"CACHE_ALCHEMY_DEFAULT_EXPIRE", 10}});
  auto f = ca::memory_cache(Counting());
  f(1);
  clock.Advance(std::chrono::seconds(9));
  f(1);
  EXPECT_EQ(calls_, 1);
  clock.Advance(std::chrono::seconds(2));
  f(1);
  EXPECT_EQ(calls_, 2);  // expired after 10 s
}

TEST_F(FamiliesTest, PrefixFromTheConfigIsolatesFunctions) {
  DefaultConfig config({{"CACHE_ALCHEMY_MEMORY_BACKEND", kMemoryCache},
                        {"CACHE_ALCHEMY_CACHE_KEY_PREFIX", "tenant-a"}});
  auto a = ca::memory_cache({.name = "families_test:shared"}, Counting());
  auto a_again = ca::memory_cache({.name = "families_test:shared"}, Counting());
  config.set("CACHE_ALCHEMY_CACHE_KEY_PREFIX", "tenant-b");
  auto b = ca::memory_cache({.name = "families_test:shared"}, Counting());
  a(1);
  EXPECT_EQ(calls_, 1);
  a_again(1);  // same name and prefix: shared
  EXPECT_EQ(calls_, 1);
  b(1);  // same name, other prefix: not shared
  EXPECT_EQ(calls_, 2);
  EXPECT_EQ(b.size(), 1);
  b.cache_clear();
  a_again(1);
  EXPECT_EQ(calls_, 2);  // clearing tenant-b left tenant-a alone
}

TEST_F(FamiliesTest, EachFamilyReadsItsOwnBackendKey) {
  DefaultConfig config({{"CACHE_ALCHEMY_MEMORY_BACKEND", kMemoryCache},
                        {"CACHE_ALCHEMY_JSON_BACKEND", "nowhere.json.NoJson"},
                        {"CACHE_ALCHEMY_PICKLE_BACKEND", "nowhere.bin.NoBin"}});
  try {
    ca::json_cache(Counting());
    ADD_FAILURE() << "json_cache did not use CACHE_ALCHEMY_JSON_BACKEND";
  } catch (const ca::BackendNotFoundError& e) {
    EXPECT_THAT(e.what(), HasSubstr("nowhere.json.NoJson"));
  }
  try {
    ca::method_pickle_cache([](int self, int x) { return self + x; });
    ADD_FAILURE() << "pickle family did not use CACHE_ALCHEMY_PICKLE_BACKEND";
  } catch (const ca::BackendNotFoundError& e) {
    EXPECT_THAT(e.what(), HasSubstr("nowhere.bin.NoBin"));
  }
  auto m = ca::method_memory_cache([](int self, int x) { return self + x; });
  EXPECT_EQ(m(1, 2), 3);
  EXPECT_EQ(m(5, 2), 3);  // the first argument is not part of the key
}

TEST_F(FamiliesTest, PluginPathFromTheConfigIsSearched) {
  DefaultConfig config({{"CACHE_ALCHEMY_PLUGIN_PATH", "/families/test/dir"}});
  try {
    ca::memory_cache({.backend = "acme.nothing.Missing"}, Counting());
    ADD_FAILURE() << "no error";
  } catch (const ca::BackendNotFoundError& e) {
    EXPECT_THAT(e.what(), HasSubstr("/families/test/dir"));
  }
}

TEST_F(FamiliesTest, WithoutAConfigTheEnvironmentApplies) {
  ScopedEnv backend("CACHE_ALCHEMY_MEMORY_BACKEND", kMemoryCache);
  ScopedEnv limit("CACHE_ALCHEMY_DEFAULT_LIMIT", "1");
  auto f = ca::memory_cache(Counting());
  f(1);
  f(2);
  EXPECT_EQ(f.size(), 1);
  EXPECT_THROW(DefaultConfig::get_current_config(), std::runtime_error);
}

TEST_F(FamiliesTest, WithoutAConfigABadEnvironmentValueIsAConfigError) {
  ScopedEnv backend("CACHE_ALCHEMY_MEMORY_BACKEND", kMemoryCache);
  ScopedEnv limit("CACHE_ALCHEMY_DEFAULT_LIMIT", "two");
  try {
    ca::memory_cache(Counting());
    ADD_FAILURE() << "no error";
  } catch (const ca::config::ConfigError& e) {
    EXPECT_EQ(e.key(), "CACHE_ALCHEMY_DEFAULT_LIMIT");
    EXPECT_EQ(e.source(), "env");
    EXPECT_EQ(e.value(), "two");
  }
}

TEST_F(FamiliesTest, ConfigWinsOverTheEnvironmentOnlyByPriority) {
  ScopedEnv limit("CACHE_ALCHEMY_DEFAULT_LIMIT", "1");
  DefaultConfig config({{"CACHE_ALCHEMY_MEMORY_BACKEND", kMemoryCache},
                        {"CACHE_ALCHEMY_DEFAULT_LIMIT", 4}});
  auto env_limited = ca::memory_cache(Counting());  // env (30) > brace (0)
  config.set("CACHE_ALCHEMY_DEFAULT_LIMIT", 3);     // set (99) > env
  auto set_limited = ca::memory_cache(Counting());
  for (int i = 0; i < 5; ++i) {
    env_limited(i);
    set_limited(i);
  }
  EXPECT_EQ(env_limited.size(), 1);
  EXPECT_EQ(set_limited.size(), 3);
}

}  // namespace
