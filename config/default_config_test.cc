// DefaultConfig: the contract's keys and defaults, the stack of current
// configs, the settings read with and without a live config, and its file.

#include "config/default_config.h"

#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/internal/scoped_env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cache_alchemy {
namespace config {
namespace {

using internal::ScopedEnv;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Clears every DefaultConfig variable from the environment for a test.
class DefaultConfigTest : public ::testing::Test {
 protected:
  internal::ScopedDefaultEnvCleared clean_env_;
};

TEST_F(DefaultConfigTest, KeysAndDefaultsOfTheContract) {
  DefaultConfig config;
  EXPECT_EQ(
      config.keys(),
      (std::vector<std::string>{
          "CACHE_ALCHEMY_CACHE_KEY_PREFIX", "CACHE_ALCHEMY_DEFAULT_EXPIRE",
          "CACHE_ALCHEMY_DEFAULT_LIMIT", "CACHE_ALCHEMY_JSON_BACKEND",
          "CACHE_ALCHEMY_MEMORY_BACKEND", "CACHE_ALCHEMY_PICKLE_BACKEND",
          "CACHE_ALCHEMY_REDIS_URL", "CACHE_ALCHEMY_PLUGIN_PATH",
          // Beyond the contract's keys:
          "CACHE_ALCHEMY_DEFAULT_EVICTION", "CACHE_ALCHEMY_REFRESH_THREADS",
          "CACHE_ALCHEMY_MAX_VALUE_BYTES"}));
  EXPECT_EQ(config.get<int64_t>("CACHE_ALCHEMY_REFRESH_THREADS"), 2);
  EXPECT_THROW(config.set("CACHE_ALCHEMY_REFRESH_THREADS", 0), ConfigError);
  EXPECT_EQ(config.get<int64_t>("CACHE_ALCHEMY_MAX_VALUE_BYTES"), 8 << 20);
  EXPECT_EQ(config.get<std::string>("CACHE_ALCHEMY_DEFAULT_EVICTION"),
            "s3-fifo");
  EXPECT_THROW(config.set("CACHE_ALCHEMY_DEFAULT_EVICTION", "random"),
               ConfigError);
  EXPECT_EQ(config.get<std::string>("CACHE_ALCHEMY_CACHE_KEY_PREFIX"), "");
  EXPECT_EQ(config.get<int64_t>("CACHE_ALCHEMY_DEFAULT_EXPIRE"), 86400);
  EXPECT_EQ(config.get<int64_t>("CACHE_ALCHEMY_DEFAULT_LIMIT"), 1000);
  EXPECT_EQ(config.get<std::string>("CACHE_ALCHEMY_JSON_BACKEND"),
            "cache_alchemy.backends.json.DistributedJsonCache");
  EXPECT_EQ(config.get<std::string>("CACHE_ALCHEMY_MEMORY_BACKEND"),
            "cache_alchemy.backends.memory.DistributedMemoryCache");
  EXPECT_EQ(config.get<std::string>("CACHE_ALCHEMY_PICKLE_BACKEND"),
            "cache_alchemy.backends.pickle.DistributedPickleCache");
  EXPECT_EQ(config.get<std::string>("CACHE_ALCHEMY_REDIS_URL"),
            "redis://127.0.0.1:6379/0");
  EXPECT_THAT(config.get<std::vector<std::string>>("CACHE_ALCHEMY_PLUGIN_PATH"),
              IsEmpty());
  EXPECT_EQ(config.cache_redis_client, nullptr);
  for (const std::string& key : config.keys()) {
    EXPECT_EQ(config.source(key), "default") << key;
  }
}

TEST_F(DefaultConfigTest, MaxValueBytesIsMinusOneOrPositive) {
  DefaultConfig config;
  EXPECT_THROW(config.set("CACHE_ALCHEMY_MAX_VALUE_BYTES", 0), ConfigError);
  EXPECT_THROW(config.set("CACHE_ALCHEMY_MAX_VALUE_BYTES", -2), ConfigError);
  EXPECT_EQ(config.get<int64_t>("CACHE_ALCHEMY_MAX_VALUE_BYTES"), 8 << 20);
  config.set("CACHE_ALCHEMY_MAX_VALUE_BYTES", -1);
  EXPECT_EQ(config.get<int64_t>("CACHE_ALCHEMY_MAX_VALUE_BYTES"), -1);
}

TEST_F(DefaultConfigTest, BraceListActsAsClassDefaults) {
  ScopedEnv env("CACHE_ALCHEMY_DEFAULT_EXPIRE", "60");
  DefaultConfig config({{"CACHE_ALCHEMY_MEMORY_BACKEND",
                         "cache_alchemy.backends.memory.MemoryCache"},
                        {"CACHE_ALCHEMY_DEFAULT_LIMIT", "2"},
                        {"CACHE_ALCHEMY_DEFAULT_EXPIRE", 5}});
  EXPECT_EQ(config.get<std::string>("CACHE_ALCHEMY_MEMORY_BACKEND"),
            "cache_alchemy.backends.memory.MemoryCache");
  EXPECT_EQ(config.get<int64_t>("CACHE_ALCHEMY_DEFAULT_LIMIT"), 2);
  EXPECT_EQ(config.source("CACHE_ALCHEMY_DEFAULT_LIMIT"), "constructor");
  EXPECT_EQ(config.get<int64_t>("CACHE_ALCHEMY_DEFAULT_EXPIRE"), 60);  // env
  // A brace-list value is the bottom: unset never goes below it.
  EXPECT_FALSE(config.unset("CACHE_ALCHEMY_DEFAULT_LIMIT"));
  EXPECT_EQ(config.get<int64_t>("CACHE_ALCHEMY_DEFAULT_LIMIT"), 2);
}

TEST_F(DefaultConfigTest, LimitAndExpireBelowMinusOneAreRefused) {
  DefaultConfig config;
  EXPECT_THROW(config.set("CACHE_ALCHEMY_DEFAULT_LIMIT", -2), ConfigError);
  config.set("CACHE_ALCHEMY_DEFAULT_LIMIT", -1);
  EXPECT_EQ(config.get<int64_t>("CACHE_ALCHEMY_DEFAULT_LIMIT"), -1);
  ScopedEnv env("CACHE_ALCHEMY_DEFAULT_EXPIRE", "-5");
  try {
    DefaultConfig other;
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.source(), "env");
    EXPECT_EQ(e.value(), "-5");
    EXPECT_THAT(e.what(), HasSubstr("must be -1"));
  }
}

TEST_F(DefaultConfigTest, PluginPathFromEnvironmentIsColonSeparated) {
  ScopedEnv env("CACHE_ALCHEMY_PLUGIN_PATH", "/opt/a::/opt/b");
  DefaultConfig config;
  EXPECT_THAT(config.get<std::vector<std::string>>("CACHE_ALCHEMY_PLUGIN_PATH"),
              ElementsAre("/opt/a", "/opt/b"));
}

TEST_F(DefaultConfigTest, FileFromEnvironmentVariable) {
  const std::string path = ::testing::TempDir() + "/default_config.json";
  std::ofstream(path) << R"({"CACHE_ALCHEMY_CACHE_KEY_PREFIX": "tenant",
                            "CACHE_ALCHEMY_PLUGIN_PATH": ["/x"]})";
  ScopedEnv file(kConfigFileEnv, path);
  DefaultConfig config;
  EXPECT_EQ(config.get<std::string>("CACHE_ALCHEMY_CACHE_KEY_PREFIX"),
            "tenant");
  EXPECT_EQ(config.source("CACHE_ALCHEMY_CACHE_KEY_PREFIX"), "file " + path);
  EXPECT_THAT(config.get<std::vector<std::string>>("CACHE_ALCHEMY_PLUGIN_PATH"),
              ElementsAre("/x"));
}

TEST_F(DefaultConfigTest, NoCurrentConfigThrows) {
  try {
    DefaultConfig::get_current_config();
    ADD_FAILURE() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("no ca::config::DefaultConfig is alive"));
  }
}

TEST_F(DefaultConfigTest, NestedConfigsRestoreThePreviousOne) {
  DefaultConfig outer;
  EXPECT_EQ(&DefaultConfig::get_current_config(), &outer);
  {
    DefaultConfig inner;
    EXPECT_EQ(&DefaultConfig::get_current_config(), &inner);
  }
  EXPECT_EQ(&DefaultConfig::get_current_config(), &outer);
}

TEST_F(DefaultConfigTest, DestroyedOutOfOrder) {
  auto a = std::make_unique<DefaultConfig>();
  auto b = std::make_unique<DefaultConfig>();
  auto c = std::make_unique<DefaultConfig>();
  b.reset();  // not current: c stays current
  EXPECT_EQ(&DefaultConfig::get_current_config(), c.get());
  c.reset();  // current: the newest live one, a, takes over
  EXPECT_EQ(&DefaultConfig::get_current_config(), a.get());
  a.reset();
  EXPECT_THROW(DefaultConfig::get_current_config(), std::runtime_error);
}

TEST_F(DefaultConfigTest, FailedConstructionDoesNotBecomeCurrent) {
  DefaultConfig good;
  EXPECT_THROW(DefaultConfig bad({{"CACHE_ALCHEMY_DEFAULT_LIMIT", "many"}}),
               ConfigError);
  EXPECT_EQ(&DefaultConfig::get_current_config(), &good);
}

TEST_F(DefaultConfigTest, CurrentSettingsFollowTheCurrentConfig) {
  DefaultConfig config({{"CACHE_ALCHEMY_DEFAULT_LIMIT", 7}});
  config.set("CACHE_ALCHEMY_CACHE_KEY_PREFIX", "p1");
  // A non-null client; RedisClient is incomplete here, so a no-op deleter.
  static int placeholder;
  config.cache_redis_client = std::shared_ptr<RedisClient>(
      reinterpret_cast<RedisClient*>(&placeholder), [](RedisClient*) {});
  DefaultSettings s = DefaultConfig::current_settings();
  EXPECT_EQ(s.default_limit, 7);
  EXPECT_EQ(s.cache_key_prefix, "p1");
  EXPECT_EQ(s.default_expire, 86400);
  EXPECT_EQ(s.cache_redis_client, config.cache_redis_client);
  {
    DefaultConfig inner({{"CACHE_ALCHEMY_DEFAULT_LIMIT", 8}});
    EXPECT_EQ(DefaultConfig::current_settings().default_limit, 8);
    EXPECT_EQ(DefaultConfig::current_settings().cache_redis_client, nullptr);
  }
  EXPECT_EQ(DefaultConfig::current_settings().default_limit, 7);
}

TEST_F(DefaultConfigTest, SettingsWithoutAConfigComeFromTheEnvironment) {
  DefaultSettings plain = DefaultConfig::current_settings();
  EXPECT_EQ(plain.default_limit, 1000);
  EXPECT_EQ(plain.memory_backend,
            "cache_alchemy.backends.memory.DistributedMemoryCache");
  EXPECT_EQ(plain.cache_redis_client, nullptr);

  ScopedEnv limit("CACHE_ALCHEMY_DEFAULT_LIMIT", "12");
  ScopedEnv path("CACHE_ALCHEMY_PLUGIN_PATH", "/p:/q");
  // The file is not read without a live config.
  ScopedEnv file(kConfigFileEnv, "/no/such/file.json");
  DefaultSettings s = DefaultConfig::current_settings();
  EXPECT_EQ(s.default_limit, 12);
  EXPECT_THAT(s.plugin_path, ElementsAre("/p", "/q"));
  // Nothing became current.
  EXPECT_THROW(DefaultConfig::get_current_config(), std::runtime_error);
}

TEST_F(DefaultConfigTest, SettingsWithoutAConfigCastLikeAConfig) {
  ScopedEnv limit("CACHE_ALCHEMY_DEFAULT_LIMIT", "lots");
  try {
    DefaultConfig::current_settings();
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key(), "CACHE_ALCHEMY_DEFAULT_LIMIT");
    EXPECT_EQ(e.source(), "env");
    EXPECT_EQ(e.value(), "lots");
  }
}

TEST_F(DefaultConfigTest, DumpNamesEveryKey) {
  DefaultConfig config({{"CACHE_ALCHEMY_DEFAULT_LIMIT", 2}});
  const std::string dump = config.dump();
  for (const std::string& key : config.keys()) {
    EXPECT_THAT(dump, HasSubstr(key));
  }
  EXPECT_THAT(dump,
              HasSubstr("CACHE_ALCHEMY_DEFAULT_LIMIT    = 2  [constructor]"));
}

}  // namespace
}  // namespace config
}  // namespace cache_alchemy
