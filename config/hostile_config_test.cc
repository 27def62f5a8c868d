// The config under hostile or careless input: every failure of a source is a
// ConfigError naming key, source and value (never an nlohmann exception), a
// deeply nested file value is refused before anything recurses over it, and
// no error, dump() or source() ever shows a password.

#include <fstream>
#include <string>
#include <vector>

#include "config/base_config.h"
#include "config/config_value.h"
#include "config/default_config.h"
#include "config/internal/scoped_env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cache_alchemy {
namespace config {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSecret[] = "s3cret";

class HostileConfigTest : public ::testing::Test {
 protected:
  std::string WriteFile(const std::string& name, const std::string& text) {
    const std::string path = ::testing::TempDir() + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  // The ConfigError that building a DefaultConfig from file `text` throws.
  ConfigError FileError(const std::string& text) {
    const std::string path = WriteFile("hostile.json", text);
    try {
      DefaultConfig config({}, {.config_file = path});
    } catch (const ConfigError& e) {
      return e;
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not a ConfigError: " << e.what();
      return ConfigError("", "", "", e.what());
    }
    ADD_FAILURE() << "no error for " << text.substr(0, 80);
    return ConfigError("", "", "", "");
  }

  internal::ScopedDefaultEnvCleared clean_env_;
};

TEST_F(HostileConfigTest, NumberOutOfRangeIsAConfigError) {
  for (const char* number : {"1e999", "-1e999"}) {
    const ConfigError e = FileError(
        std::string(R"({"CACHE_ALCHEMY_DEFAULT_LIMIT": )") + number + "}");
    EXPECT_EQ(e.key(), "CACHE_ALCHEMY_DEFAULT_LIMIT") << number;
    EXPECT_THAT(e.source(), HasSubstr("file ")) << number;
    EXPECT_EQ(e.value(), number);
    EXPECT_THAT(e.what(), AllOf(HasSubstr("CACHE_ALCHEMY_DEFAULT_LIMIT"),
                                HasSubstr(number), HasSubstr("hostile.json")));
  }
  // Integers beyond 64 bits parse as doubles: refused by the int cast.
  const ConfigError big = FileError(
      R"({"CACHE_ALCHEMY_DEFAULT_EXPIRE": 123456789012345678901234})");
  EXPECT_EQ(big.key(), "CACHE_ALCHEMY_DEFAULT_EXPIRE");
}

TEST_F(HostileConfigTest, DeeplyNestedValueIsRefused) {
  // Building the message used to recurse over the value (and crash).
  const std::string deep = R"({"CACHE_ALCHEMY_PLUGIN_PATH": )" +
                           std::string(100000, '[') + std::string(100000, ']') +
                           "}";
  const ConfigError e = FileError(deep);
  EXPECT_EQ(e.key(), "CACHE_ALCHEMY_PLUGIN_PATH");
  EXPECT_THAT(e.what(), HasSubstr("nested deeper than"));
  EXPECT_LT(e.value().size(), 1000u) << "the value is shown cut short";
  // Under an unknown key too.
  const ConfigError unknown =
      FileError(R"({"NOPE": )" + std::string(100000, '[') + "}");
  EXPECT_THAT(unknown.what(), HasSubstr("nested deeper than"));
}

TEST_F(HostileConfigTest, HugeValuesAreCutShortInMessages) {
  const std::string long_text(100000, 'x');
  const ConfigError e =
      FileError(R"({"CACHE_ALCHEMY_DEFAULT_LIMIT": ")" + long_text + "\"}");
  EXPECT_EQ(e.key(), "CACHE_ALCHEMY_DEFAULT_LIMIT");
  EXPECT_LT(std::string(e.what()).size(), 2000u);
}

TEST_F(HostileConfigTest, DumpNeverShowsAPassword) {
  DefaultConfig config(
      {{kRedisUrlKey, std::string("redis://user:") + kSecret + "@host:6380/2"},
       {kCacheKeyPrefixKey,
        std::string("redis://h/0?db=1&password=") + kSecret}});
  const std::string dump = config.dump();
  EXPECT_THAT(dump, Not(HasSubstr(kSecret)));
  EXPECT_THAT(dump, HasSubstr("redis://user:***@host:6380/2"));
  EXPECT_THAT(dump, HasSubstr("redis://h/0?db=1&password=***"));
  // The value itself is untouched: it is what connects.
  EXPECT_EQ(config.get<std::string>(kRedisUrlKey),
            std::string("redis://user:") + kSecret + "@host:6380/2");
  // Any key, any source, any URL scheme, list elements too.
  internal::ScopedEnv env(kJsonBackendKey,
                          std::string("https://:") + kSecret + "@example.org");
  DefaultConfig from_env;
  from_env.set(kPluginPathKey,
               std::vector<std::string>{std::string("ftp://u:") + kSecret +
                                        "@h/plugins"});
  EXPECT_THAT(from_env.dump(), Not(HasSubstr(kSecret)));
  EXPECT_THAT(from_env.dump(), HasSubstr("https://:***@example.org"));
  EXPECT_THAT(FormatValue(std::string("redis://:") + kSecret + "@h"),
              Not(HasSubstr(kSecret)));
}

TEST_F(HostileConfigTest, ErrorsNeverShowAPassword) {
  // A value refused by a key's check, from a string key of the file.
  const std::string url = std::string("redis://:") + kSecret + "@h";
  const ConfigError wrong_type =
      FileError(R"({"CACHE_ALCHEMY_DEFAULT_LIMIT": ")" + url + "\"}");
  EXPECT_THAT(wrong_type.what(), Not(HasSubstr(kSecret)));
  EXPECT_THAT(wrong_type.value(), Not(HasSubstr(kSecret)));
  const ConfigError list =
      FileError(R"({"CACHE_ALCHEMY_PLUGIN_PATH": [")" + url + R"(", 5]})");
  EXPECT_THAT(list.what(), Not(HasSubstr(kSecret)));
  EXPECT_THAT(list.value(), Not(HasSubstr(kSecret)));
  const ConfigError unknown = FileError(R"({"REDIS_URL": ")" + url + "\"}");
  EXPECT_THAT(unknown.what(), Not(HasSubstr(kSecret)));
  EXPECT_THAT(unknown.value(), Not(HasSubstr(kSecret)));
  // From set and from the environment.
  DefaultConfig config;
  try {
    config.set(kDefaultExpireKey, url);
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), Not(HasSubstr(kSecret)));
    EXPECT_THAT(e.value(), Not(HasSubstr(kSecret)));
  }
  try {
    config.get<int64_t>(kRedisUrlKey);
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("redis://127.0.0.1:6379/0"));
  }
  config.set(kRedisUrlKey, url);
  try {
    config.get<int64_t>(kRedisUrlKey);
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), Not(HasSubstr(kSecret)));
    EXPECT_THAT(e.value(), Not(HasSubstr(kSecret)));
  }
  internal::ScopedEnv env(kDefaultLimitKey, url);
  try {
    DefaultConfig from_env;
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), Not(HasSubstr(kSecret)));
    EXPECT_THAT(e.value(), Not(HasSubstr(kSecret)));
  }
}

TEST_F(HostileConfigTest, SourceLabelsNeverShowAPassword) {
  DefaultConfig config;
  config.set_at(kCacheKeyPrefixKey, "p", kSetPriority,
                std::string("vault redis://:") + kSecret + "@vault");
  EXPECT_THAT(config.source(kCacheKeyPrefixKey), Not(HasSubstr(kSecret)));
  EXPECT_THAT(config.dump(), Not(HasSubstr(kSecret)));
}

}  // namespace
}  // namespace config
}  // namespace cache_alchemy
