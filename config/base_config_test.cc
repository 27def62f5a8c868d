// BaseConfig with a schema of its own: priorities of every pair of sources,
// unset fallback, typecasts and their errors from every source, the JSON
// file's errors, typed reads, the dump and a thread-safety smoke test.

#include "config/base_config.h"

#include <atomic>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "config/config_value.h"
#include "config/internal/scoped_env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cache_alchemy {
namespace config {
namespace {

using internal::ScopedEnv;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kInt[] = "CA_TEST_INT";
constexpr char kString[] = "CA_TEST_STRING";
constexpr char kBool[] = "CA_TEST_BOOL";
constexpr char kDouble[] = "CA_TEST_DOUBLE";
constexpr char kList[] = "CA_TEST_LIST";
constexpr char kPositive[] = "CA_TEST_POSITIVE";

// A project's own config, as base_config.h shows.
class TestConfig : public BaseConfig {
 public:
  explicit TestConfig(Overrides defaults = {}, ConfigOptions options = {})
      : BaseConfig(TestSchema(), std::move(defaults), std::move(options)) {}

  static const Schema& TestSchema() {
    static const Schema* const schema = new Schema{
        .keys = {{kInt, int64_t{5}, "an int", {}},
                 {kString, std::string("abc"), "a string", {}},
                 {kBool, false, "a bool", {}},
                 {kDouble, 0.5, "a double", {}},
                 {kList, std::vector<std::string>{"x"}, "a list", {}},
                 {kPositive, int64_t{1}, "positive",
                  [](const ConfigValue& v) -> std::optional<std::string> {
                    if (std::get<int64_t>(v) > 0) return std::nullopt;
                    return "must be positive";
                  }}},
        .config_file_env = "CA_TEST_CONFIG_FILE"};
    return *schema;
  }
};

// Clears the test keys from the environment for a test's duration.
class BaseConfigTest : public ::testing::Test {
 protected:
  std::string WriteFile(const std::string& name, const std::string& text) {
    const std::string path = ::testing::TempDir() + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  ScopedEnv no_int_{kInt, std::nullopt};
  ScopedEnv no_string_{kString, std::nullopt};
  ScopedEnv no_bool_{kBool, std::nullopt};
  ScopedEnv no_double_{kDouble, std::nullopt};
  ScopedEnv no_list_{kList, std::nullopt};
  ScopedEnv no_positive_{kPositive, std::nullopt};
  ScopedEnv no_file_{"CA_TEST_CONFIG_FILE", std::nullopt};
};

TEST_F(BaseConfigTest, SchemaDefaults) {
  TestConfig config;
  EXPECT_EQ(config.get<int64_t>(kInt), 5);
  EXPECT_EQ(config.get<std::string>(kString), "abc");
  EXPECT_FALSE(config.get<bool>(kBool));
  EXPECT_DOUBLE_EQ(config.get<double>(kDouble), 0.5);
  EXPECT_THAT(config.get<std::vector<std::string>>(kList), ElementsAre("x"));
  EXPECT_EQ(config.source(kInt), "default");
  EXPECT_EQ(config.type_of(kList), ValueType::kStringList);
}

// The sources, with the value each supplies for kInt in the tests below.
enum Source { kFromDefault, kFromFunction, kFromFile, kFromEnv, kFromSet };
constexpr int64_t kValueOf[] = {1, 10, 20, 30, 99};
const char* const kLabelOf[] = {"constructor", "function", "file", "env",
                                "set"};

// Builds a TestConfig where exactly `sources` supply kInt.
class PriorityTest : public BaseConfigTest,
                     public ::testing::WithParamInterface<std::vector<int>> {
 protected:
  std::unique_ptr<TestConfig> Build(const std::vector<int>& sources) {
    Overrides defaults;
    ConfigOptions options;
    std::optional<ScopedEnv> env;
    bool set = false;
    for (int s : sources) {
      const int64_t v = kValueOf[s];
      switch (s) {
        case kFromDefault:
          defaults.emplace_back(kInt, v);
          break;
        case kFromFunction:
          options.configuration_function = [v](const BaseConfig&) {
            return Overrides{{kInt, v}};
          };
          break;
        case kFromFile:
          options.config_file = WriteFile(
              "priority.json", "{\"CA_TEST_INT\": " + std::to_string(v) + "}");
          break;
        case kFromEnv:
          env.emplace(kInt, std::to_string(v));
          break;
        case kFromSet:
          set = true;
          break;
      }
    }
    auto config = std::make_unique<TestConfig>(defaults, options);
    if (set) config->set(kInt, kValueOf[kFromSet]);
    return config;
  }
};

TEST_P(PriorityTest, HigherSourceWinsAndUnsetFallsBack) {
  std::vector<int> sources = GetParam();
  auto config = Build(sources);
  // Highest first; each unset reveals the next lower source.
  std::sort(sources.rbegin(), sources.rend());
  for (int s : sources) {
    EXPECT_EQ(config->get<int64_t>(kInt), kValueOf[s]) << kLabelOf[s];
    EXPECT_THAT(config->source(kInt), HasSubstr(kLabelOf[s]));
    if (s == kFromDefault) {
      EXPECT_FALSE(config->unset(kInt));  // only the default is left
    } else {
      EXPECT_TRUE(config->unset(kInt));
    }
  }
  if (sources.back() != kFromDefault) {
    EXPECT_EQ(config->get<int64_t>(kInt), 5);
    EXPECT_EQ(config->source(kInt), "default");
    EXPECT_FALSE(config->unset(kInt));
  }
}

std::vector<std::vector<int>> AllPairsAndAll() {
  std::vector<std::vector<int>> out;
  for (int low = kFromDefault; low <= kFromSet; ++low) {
    for (int high = low + 1; high <= kFromSet; ++high) {
      out.push_back({low, high});
    }
  }
  out.push_back({kFromDefault, kFromFunction, kFromFile, kFromEnv, kFromSet});
  return out;
}

INSTANTIATE_TEST_SUITE_P(EveryPair, PriorityTest,
                         ::testing::ValuesIn(AllPairsAndAll()));

TEST_F(BaseConfigTest, LowerPriorityAppliedLaterNeverOverrides) {
  TestConfig config;
  config.set_at(kInt, 99, kSetPriority, "set");
  config.set_at(kInt, 30, kEnvPriority, "env");
  config.set_at(kInt, 10, kFunctionPriority, "function");
  EXPECT_EQ(config.get<int64_t>(kInt), 99);
  EXPECT_TRUE(config.unset(kInt));
  EXPECT_EQ(config.get<int64_t>(kInt), 30);
  EXPECT_TRUE(config.unset(kInt));
  EXPECT_EQ(config.get<int64_t>(kInt), 10);
}

TEST_F(BaseConfigTest, SetReplacesSetAndUnsetRemovesIt) {
  ScopedEnv env(kInt, "30");
  TestConfig config;
  config.set(kInt, 7);
  config.set(kInt, "8");
  EXPECT_EQ(config.get<int64_t>(kInt), 8);
  EXPECT_TRUE(config.unset(kInt));
  EXPECT_EQ(config.get<int64_t>(kInt), 30);
}

TEST_F(BaseConfigTest, UnsetNeverRemovesTheDefault) {
  TestConfig config;
  config.set_at(kInt, 1, kDefaultPriority - 5, "below");
  EXPECT_EQ(config.get<int64_t>(kInt), 5);
  EXPECT_FALSE(config.unset(kInt)) << "nothing sits above the default";
  EXPECT_EQ(config.get<int64_t>(kInt), 5);
  EXPECT_EQ(config.source(kInt), "default");
  config.set(kInt, 9);
  EXPECT_TRUE(config.unset(kInt));
  EXPECT_EQ(config.get<int64_t>(kInt), 5);
  EXPECT_FALSE(config.unset(kInt));
}

TEST_F(BaseConfigTest, CastsTextFromTheEnvironment) {
  ScopedEnv i(kInt, "  -42 ");
  ScopedEnv b(kBool, "Yes");
  ScopedEnv d(kDouble, "2.25");
  ScopedEnv l(kList, "/a::/b:");
  ScopedEnv s(kString, "");
  TestConfig config;
  EXPECT_EQ(config.get<int64_t>(kInt), -42);
  EXPECT_TRUE(config.get<bool>(kBool));
  EXPECT_DOUBLE_EQ(config.get<double>(kDouble), 2.25);
  EXPECT_THAT(config.get<std::vector<std::string>>(kList),
              ElementsAre("/a", "/b"));
  EXPECT_EQ(config.get<std::string>(kString), "");
  EXPECT_EQ(config.source(kString), "env");
}

TEST_F(BaseConfigTest, BoolSpellings) {
  TestConfig config;
  for (const char* yes : {"true", "TRUE", "1", "yes", "on"}) {
    config.set(kBool, yes);
    EXPECT_TRUE(config.get<bool>(kBool)) << yes;
  }
  for (const char* no : {"false", "0", "No", "off"}) {
    config.set(kBool, no);
    EXPECT_FALSE(config.get<bool>(kBool)) << no;
  }
}

TEST_F(BaseConfigTest, CastsTypedValues) {
  TestConfig config;
  config.set(kDouble, 3);  // int for a double
  EXPECT_DOUBLE_EQ(config.get<double>(kDouble), 3.0);
  config.set(kInt, 4.0);  // whole double for an int
  EXPECT_EQ(config.get<int64_t>(kInt), 4);
  config.set(kInt, 7u);
  EXPECT_EQ(config.get<int64_t>(kInt), 7);
  config.set(kList, std::vector<std::string>{"p", "q"});
  EXPECT_THAT(config.get<std::vector<std::string>>(kList),
              ElementsAre("p", "q"));
  config.set(kList, "r:s");
  EXPECT_THAT(config.get<std::vector<std::string>>(kList),
              ElementsAre("r", "s"));
}

// Expects `fn` to throw a ConfigError for `key` from `source` with `value`.
template <typename Fn>
void ExpectConfigError(Fn fn, const std::string& key, const std::string& source,
                       const std::string& value) {
  try {
    fn();
    ADD_FAILURE() << "no ConfigError for " << key << " from " << source;
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key(), key);
    EXPECT_EQ(e.source(), source);
    EXPECT_EQ(e.value(), value);
    EXPECT_THAT(e.what(), AllOf(HasSubstr(key), HasSubstr(source)));
  }
}

TEST_F(BaseConfigTest, ConstructorValueThatDoesNotCast) {
  ExpectConfigError(
      [] {
        TestConfig config({{kInt, "abc"}});
      },
      kInt, "constructor", "abc");
}

TEST_F(BaseConfigTest, FunctionValueThatDoesNotCast) {
  ConfigOptions options;
  options.configuration_function = [](const BaseConfig&) {
    return Overrides{{kBool, "maybe"}};
  };
  ExpectConfigError([&] { TestConfig config({}, options); }, kBool, "function",
                    "maybe");
}

TEST_F(BaseConfigTest, FunctionSeesTheDefaults) {
  ConfigOptions options;
  options.configuration_function = [](const BaseConfig& config) {
    return Overrides{{kInt, config.get<int64_t>(kInt) * 2}};
  };
  TestConfig config({{kInt, 21}}, options);
  EXPECT_EQ(config.get<int64_t>(kInt), 42);
  EXPECT_EQ(config.source(kInt), "function");
}

TEST_F(BaseConfigTest, EnvValueThatDoesNotCast) {
  ScopedEnv env(kInt, "12abc");
  ExpectConfigError([] { TestConfig config; }, kInt, "env", "12abc");
}

TEST_F(BaseConfigTest, EnvValueOutOfRange) {
  ScopedEnv env(kPositive, "0");
  try {
    TestConfig config;
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("must be positive"));
    EXPECT_EQ(e.source(), "env");
  }
}

TEST_F(BaseConfigTest, SetValueThatDoesNotCastKeepsTheOldValue) {
  TestConfig config;
  config.set(kInt, 8);
  ExpectConfigError([&] { config.set(kInt, "nope"); }, kInt, "set", "nope");
  ExpectConfigError([&] { config.set(kInt, true); }, kInt, "set", "true");
  ExpectConfigError([&] { config.set(kInt, 1.5); }, kInt, "set", "1.5");
  ExpectConfigError([&] { config.set(kString, 5); }, kString, "set", "5");
  ExpectConfigError([&] { config.set(kPositive, -3); }, kPositive, "set", "-3");
  EXPECT_EQ(config.get<int64_t>(kInt), 8);
  EXPECT_EQ(config.source(kInt), "set");
  EXPECT_EQ(config.get<std::string>(kString), "abc");
}

TEST_F(BaseConfigTest, FileValues) {
  const std::string path =
      WriteFile("values.json",
                R"({"CA_TEST_INT": 3.0, "CA_TEST_STRING": "from file",
          "CA_TEST_BOOL": true, "CA_TEST_DOUBLE": 7,
          "CA_TEST_LIST": ["/p", "/q"]})");
  TestConfig config({}, {.config_file = path});
  EXPECT_EQ(config.get<int64_t>(kInt), 3);
  EXPECT_EQ(config.get<std::string>(kString), "from file");
  EXPECT_TRUE(config.get<bool>(kBool));
  EXPECT_DOUBLE_EQ(config.get<double>(kDouble), 7.0);
  EXPECT_THAT(config.get<std::vector<std::string>>(kList),
              ElementsAre("/p", "/q"));
  EXPECT_EQ(config.source(kInt), "file " + path);
}

TEST_F(BaseConfigTest, FilePathFromTheSchemasEnvironmentVariable) {
  const std::string path = WriteFile("env_path.json", R"({"CA_TEST_INT": 77})");
  ScopedEnv file("CA_TEST_CONFIG_FILE", path);
  TestConfig config;
  EXPECT_EQ(config.get<int64_t>(kInt), 77);
  // The constructor option wins over the variable.
  const std::string other = WriteFile("option.json", R"({"CA_TEST_INT": 78})");
  TestConfig with_option({}, {.config_file = other});
  EXPECT_EQ(with_option.get<int64_t>(kInt), 78);
}

TEST_F(BaseConfigTest, FileValuesThatDoNotCast) {
  struct Case {
    const char* json;
    const char* key;
    const char* value;
  };
  for (const Case& c :
       {Case{R"({"CA_TEST_INT": 1.5})", kInt, "1.5"},
        Case{R"({"CA_TEST_INT": "x1"})", kInt, "\"x1\""},
        Case{R"({"CA_TEST_STRING": 5})", kString, "5"},
        Case{R"({"CA_TEST_BOOL": 1})", kBool, "1"},
        Case{R"({"CA_TEST_LIST": [1, 2]})", kList, "[1,2]"},
        Case{R"({"CA_TEST_DOUBLE": null})", kDouble, "null"},
        Case{R"({"CA_TEST_INT": {"a": 1}})", kInt, R"({"a":1})"}}) {
    const std::string path = WriteFile("bad_value.json", c.json);
    SCOPED_TRACE(c.json);
    ExpectConfigError([&] { TestConfig config({}, {.config_file = path}); },
                      c.key, "file " + path, c.value);
  }
}

TEST_F(BaseConfigTest, MissingFile) {
  const std::string path = ::testing::TempDir() + "/no/such/config.json";
  try {
    TestConfig config({}, {.config_file = path});
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), AllOf(HasSubstr(path), HasSubstr("cannot be read"),
                                HasSubstr("No such file")));
    EXPECT_EQ(e.source(), "file " + path);
  }
}

TEST_F(BaseConfigTest, InvalidJsonNamesThePosition) {
  // The stray comma is byte 20 (1-based); nlohmann reports the byte after
  // the last one it read, the closing brace at byte 21.
  const std::string path = WriteFile("invalid.json", "{\"CA_TEST_INT\": 1,\n}");
  try {
    TestConfig config({}, {.config_file = path});
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(),
                AllOf(HasSubstr(path), HasSubstr("not valid JSON"),
                      HasSubstr("at byte 20"), HasSubstr("line 2, column 1")));
  }
}

TEST_F(BaseConfigTest, FileMustHoldAnObject) {
  const std::string path = WriteFile("array.json", "[1, 2]");
  try {
    TestConfig config({}, {.config_file = path});
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), AllOf(HasSubstr(path), HasSubstr("JSON object"),
                                HasSubstr("array")));
  }
}

TEST_F(BaseConfigTest, UnknownKeyInFileHintsAtCloseKeys) {
  const std::string path = WriteFile("typo.json", R"({"CA_TEST_INTT": 1})");
  try {
    TestConfig config({}, {.config_file = path});
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.key(), "CA_TEST_INTT");
    EXPECT_THAT(e.what(), AllOf(HasSubstr(path), HasSubstr("unknown key"),
                                HasSubstr("did you mean CA_TEST_INT")));
  }
  const std::string far = WriteFile("far.json", R"({"ZZZ": 1})");
  try {
    TestConfig config({}, {.config_file = far});
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("known keys: CA_TEST_INT, CA_TEST_STRING"));
  }
}

TEST_F(BaseConfigTest, UnknownKeyAndWrongTypeOnRead) {
  TestConfig config;
  try {
    config.get<int64_t>("CA_TEST_IN");
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), AllOf(HasSubstr("unknown config key CA_TEST_IN"),
                                HasSubstr("did you mean CA_TEST_INT")));
  }
  try {
    config.get<std::string>(kInt);
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), AllOf(HasSubstr(kInt), HasSubstr("get<int64_t>"),
                                HasSubstr("not get<std::string>")));
  }
  EXPECT_THROW(config.set("CA_TEST_NOPE", 1), ConfigError);
  EXPECT_THROW(config.unset("CA_TEST_NOPE"), ConfigError);
}

TEST_F(BaseConfigTest, DumpShowsValueAndSource) {
  ScopedEnv env(kBool, "true");
  TestConfig config({{kString, "brace"}});
  config.set(kInt, 9);
  const std::string dump = config.dump();
  EXPECT_THAT(dump, HasSubstr("CA_TEST_INT      = 9  [set]\n"));
  EXPECT_THAT(dump, HasSubstr("CA_TEST_STRING   = \"brace\"  [constructor]\n"));
  EXPECT_THAT(dump, HasSubstr("CA_TEST_BOOL     = true  [env]\n"));
  EXPECT_THAT(dump, HasSubstr("CA_TEST_DOUBLE   = 0.5  [default]\n"));
  EXPECT_THAT(dump, HasSubstr("CA_TEST_LIST     = [\"x\"]  [default]\n"));
}

TEST_F(BaseConfigTest, BadSchemaIsRefused) {
  EXPECT_THROW(BaseConfig(Schema{.keys = {{"A", int64_t{1}, "", {}},
                                          {"A", int64_t{2}, "", {}}}}),
               std::invalid_argument);
}

TEST_F(BaseConfigTest, ReadersWhileOneThreadSets) {
  TestConfig config;
  std::atomic<bool> done{false};
  std::atomic<int64_t> bad{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      while (!done.load()) {
        const int64_t v = config.get<int64_t>(kInt);
        const std::string s = config.get<std::string>(kString);
        if (v < 5 || v > 2005 || s.size() != 3) bad.fetch_add(1);
        if (config.dump().empty()) bad.fetch_add(1);
      }
    });
  }
  for (int i = 0; i < 2000; ++i) {
    config.set(kInt, 6 + i);
    config.set(kString, i % 2 == 0 ? "one" : "two");
    if (i % 3 == 0) config.unset(kInt);
  }
  done.store(true);
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(config.get<int64_t>(kInt), 2005);
}

}  // namespace
}  // namespace config
}  // namespace cache_alchemy
