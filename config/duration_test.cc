// Durations with units (issue 16): the parser, `ca::seconds` /
// `ca::duration`, and CACHE_ALCHEMY_DEFAULT_EXPIRE read from every source
// with units, with ConfigError naming the key, the source and the value.

#include "config/duration.h"

#include <chrono>
#include <fstream>
#include <stdexcept>
#include <string>

#include "config/default_config.h"
#include "config/internal/scoped_env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cache_alchemy {
namespace config {
namespace {

using internal::ScopedEnv;
using ::testing::AllOf;
using ::testing::HasSubstr;

std::optional<int64_t> Parse(std::string_view text) {
  return ParseDurationSeconds(text, nullptr);
}

TEST(DurationTest, UnitsAndPlainSeconds) {
  EXPECT_EQ(Parse("90"), 90);
  EXPECT_EQ(Parse("90s"), 90);
  EXPECT_EQ(Parse("10m"), 600);
  EXPECT_EQ(Parse("2h"), 7200);
  EXPECT_EQ(Parse("1d"), 86400);
  EXPECT_EQ(Parse(" 5m "), 300);
  EXPECT_EQ(Parse("0"), 0);
  EXPECT_EQ(Parse("-1"), -1);  // "never" where a key says so
  EXPECT_EQ(Parse("0s"), 0);
}

TEST(DurationTest, RefusesWhatIsNotOneNumberAndOneUnit) {
  for (const char* bad :
       {"", " ", "m", "10x", "1.5h", "1h30m", "10 m", "+5m", "-5m", "ms",
        "10ms", "5M", "1e3", "999999999999999d", "99999999999999999999"}) {
    std::string error;
    EXPECT_FALSE(ParseDurationSeconds(bad, &error).has_value()) << bad;
    EXPECT_THAT(error, HasSubstr("\"90s\", \"10m\", \"2h\", \"1d\"")) << bad;
  }
  std::string error;
  ParseDurationSeconds("1h30m", &error);
  EXPECT_THAT(error, HasSubstr("\"1h30m\""));
}

TEST(DurationTest, HelpersForOptions) {
  EXPECT_EQ(seconds("10m"), 600);
  EXPECT_EQ(duration("2h"), std::chrono::hours(2));
  try {
    seconds("ten minutes");
    ADD_FAILURE() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("\"ten minutes\""));
  }
  EXPECT_THROW(duration("5 h"), std::invalid_argument);
}

class DefaultExpireTest : public ::testing::Test {
 protected:
  internal::ScopedDefaultEnvCleared clean_env_;
};

TEST_F(DefaultExpireTest, EverySourceTakesUnits) {
  {
    DefaultConfig config({{"CACHE_ALCHEMY_DEFAULT_EXPIRE", "10m"}});
    EXPECT_EQ(config.get<int64_t>("CACHE_ALCHEMY_DEFAULT_EXPIRE"), 600);
    config.set("CACHE_ALCHEMY_DEFAULT_EXPIRE", "1d");
    EXPECT_EQ(config.get<int64_t>("CACHE_ALCHEMY_DEFAULT_EXPIRE"), 86400);
    config.set("CACHE_ALCHEMY_DEFAULT_EXPIRE", 45);  // typed: seconds
    EXPECT_EQ(config.get<int64_t>("CACHE_ALCHEMY_DEFAULT_EXPIRE"), 45);
    config.set("CACHE_ALCHEMY_DEFAULT_EXPIRE", "-1");
    EXPECT_EQ(config.get<int64_t>("CACHE_ALCHEMY_DEFAULT_EXPIRE"), -1);
    EXPECT_EQ(config.settings().default_expire, -1);
  }
  {
    ScopedEnv env("CACHE_ALCHEMY_DEFAULT_EXPIRE", "2h");
    DefaultConfig config;
    EXPECT_EQ(config.get<int64_t>("CACHE_ALCHEMY_DEFAULT_EXPIRE"), 7200);
    EXPECT_EQ(DefaultConfig::current_settings().default_expire, 7200);
  }
  {
    // No config alive: the environment alone.
    ScopedEnv env("CACHE_ALCHEMY_DEFAULT_EXPIRE", "90s");
    EXPECT_EQ(DefaultConfig::current_settings().default_expire, 90);
  }
  const std::string path = ::testing::TempDir() + "/durations.json";
  std::ofstream(path) << R"({"CACHE_ALCHEMY_DEFAULT_EXPIRE": "1d"})";
  {
    DefaultConfig config({}, {.config_file = path});
    EXPECT_EQ(config.get<int64_t>("CACHE_ALCHEMY_DEFAULT_EXPIRE"), 86400);
  }
  std::ofstream(path) << R"({"CACHE_ALCHEMY_DEFAULT_EXPIRE": 120})";
  {
    DefaultConfig config({}, {.config_file = path});
    EXPECT_EQ(config.get<int64_t>("CACHE_ALCHEMY_DEFAULT_EXPIRE"), 120);
  }
}

TEST_F(DefaultExpireTest, BadTextNamesKeySourceAndValue) {
  DefaultConfig config;
  try {
    config.set("CACHE_ALCHEMY_DEFAULT_EXPIRE", "10x");
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key(), "CACHE_ALCHEMY_DEFAULT_EXPIRE");
    EXPECT_EQ(e.source(), "set");
    EXPECT_EQ(e.value(), "10x");
    EXPECT_THAT(e.what(), AllOf(HasSubstr("CACHE_ALCHEMY_DEFAULT_EXPIRE"),
                                HasSubstr("10x"), HasSubstr("10m")));
  }
  EXPECT_EQ(config.get<int64_t>("CACHE_ALCHEMY_DEFAULT_EXPIRE"), 86400);
  // Below -1 is still refused, whatever the unit.
  EXPECT_THROW(config.set("CACHE_ALCHEMY_DEFAULT_EXPIRE", "-2"), ConfigError);
  {
    ScopedEnv env("CACHE_ALCHEMY_DEFAULT_EXPIRE", "1h30m");
    try {
      DefaultConfig from_env;
      ADD_FAILURE() << "no error";
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.source(), "env");
      EXPECT_EQ(e.value(), "1h30m");
    }
  }
  const std::string path = ::testing::TempDir() + "/bad_duration.json";
  std::ofstream(path) << R"({"CACHE_ALCHEMY_DEFAULT_EXPIRE": "soon"})";
  try {
    DefaultConfig from_file({}, {.config_file = path});
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key(), "CACHE_ALCHEMY_DEFAULT_EXPIRE");
    EXPECT_EQ(e.source(), "file " + path);
    EXPECT_THAT(e.value(), HasSubstr("soon"));
  }
}

}  // namespace
}  // namespace config
}  // namespace cache_alchemy
