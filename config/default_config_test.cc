#include "config/default_config.h"

#include "gtest/gtest.h"

namespace ca = cache_alchemy;

namespace {

TEST(DefaultConfigTest, BraceListActsAsDefaults) {
  ca::config::DefaultConfig config(
      {{"CACHE_ALCHEMY_MEMORY_BACKEND",
        "cache_alchemy.backends.memory.MemoryCache"},
       {"CACHE_ALCHEMY_DEFAULT_LIMIT", 2}});
  EXPECT_EQ(config.get<int64_t>("CACHE_ALCHEMY_DEFAULT_LIMIT"), 2);
  EXPECT_EQ(&ca::config::DefaultConfig::get_current_config(), &config);
  EXPECT_EQ(config.cache_redis_client, nullptr);
}

}  // namespace
namespace {
TEST(DefaultConfigTest, Forms) {
  { ca::config::DefaultConfig config; }
  { ca::config::DefaultConfig config({{"CACHE_ALCHEMY_DEFAULT_LIMIT", "3"}}); }
  { ca::config::DefaultConfig config({}, {.read_environment = false}); }
  ca::config::Overrides o = {{"CACHE_ALCHEMY_DEFAULT_LIMIT", 3}};
  { ca::config::DefaultConfig config(o); }
  { ca::config::DefaultConfig config(o, {}); }
}
}  // namespace
