// The operator CLI (//tools:cache_alchemy) run as a separate process against
// a private redis-server, next to this process using the library: the CLI
// lists and flushes what the library stored, a running
// DistributedMemoryCache process sees the flush, and every exit code and
// error message a script relies on.

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cache_alchemy/cache_alchemy.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/redis_server.h"
#include "testing/runfiles.h"
#include "tools/run_process.h"

namespace ca = cache_alchemy;

namespace {

using ::ca::tools::ProcessOptions;
using ::ca::tools::ProcessResult;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kJson[] = "cache_alchemy.backends.json.DistributedJsonCache";
constexpr char kDistributedMemory[] =
    "cache_alchemy.backends.memory.DistributedMemoryCache";
constexpr char kMemory[] = "cache_alchemy.backends.memory.MemoryCache";

bool WaitFor(const std::function<bool()>& done, int ms = 5000) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return done();
}

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = ca::testing::SharedRedisServer()->url();
    redis_ = ca::RedisClient::FromUrl(url_);
    redis_->Command({"FLUSHALL"});
    config_.cache_redis_client = redis_;
  }

  // Runs the CLI (by its absolute runfiles path, as a deployed binary would
  // be run: it finds the plugins next to it) with the test's Redis.
  ProcessResult Cli(const std::vector<std::string>& args,
                    ProcessOptions options = {}) {
    options.env.insert(
        options.env.begin(),
        {"CACHE_ALCHEMY_REDIS_URL=" + url_, "CACHE_ALCHEMY_CONFIG_FILE",
         "CACHE_ALCHEMY_PLUGIN_PATH", "CACHE_ALCHEMY_CACHE_KEY_PREFIX"});
    return ca::tools::RunProcess(ca::testing::Runfile("tools/cache_alchemy"),
                                 args, options);
  }

  int64_t ValueKeys(const std::string& pattern) {
    return static_cast<int64_t>(
        redis_->Command({"KEYS", pattern}).elements.size());
  }

  std::string url_;
  std::shared_ptr<ca::RedisClient> redis_;
  ca::config::DefaultConfig config_;
};

TEST_F(CliTest, ListsAndFlushesWhatTheLibraryStored) {
  std::atomic<int> runs{0};
  auto price = ca::json_cache({.name = "cli.price"},
                              [&runs](std::string sku, int quantity) {
                                ++runs;
                                return static_cast<int>(sku.size()) * quantity;
                              });
  price("ab-1", 2);
  price("x\"y", 3);
  ASSERT_EQ(runs, 2);

  ProcessResult namespaces = Cli({"namespaces", "json"});
  EXPECT_EQ(namespaces.exit_code, 0) << namespaces.err;
  EXPECT_EQ(namespaces.out, "cli.price\n");

  ProcessResult keys = Cli({"keys", kJson, "cli.price"});
  EXPECT_EQ(keys.exit_code, 0) << keys.err;
  EXPECT_THAT(
      Lines(keys.out),
      ElementsAre(MatchesRegex("cli\\.price@[0-9a-f]{8}\t\"ab-1\",2"),
                  MatchesRegex("cli\\.price@[0-9a-f]{8}\t\"x\\\\\"y\",3")));

  // --raw prints keys that redis-cli GET reads.
  ProcessResult raw = Cli({"keys", "json", "cli.price", "--raw"});
  ASSERT_EQ(raw.exit_code, 0) << raw.err;
  ASSERT_EQ(Lines(raw.out).size(), 2u);
  for (const std::string& key : Lines(raw.out)) {
    EXPECT_EQ(redis_->Command({"GET", key}).type, ca::RedisReply::Type::kString)
        << key;
  }

  ProcessResult flush = Cli({"flush", "json", "--yes"});
  EXPECT_EQ(flush.exit_code, 0) << flush.err;
  EXPECT_EQ(flush.out, "2 entries removed\n");
  EXPECT_EQ(ValueKeys("DistributedJsonCache:cli.price@*}:*"), 0);
  EXPECT_EQ(Cli({"keys", "json", "cli.price"}).out, "");
  price("ab-1", 2);  // computed again: the entry is gone
  EXPECT_EQ(runs, 3);
}

TEST_F(CliTest, FlushReachesARunningDistributedMemoryCacheProcess) {
  std::atomic<int> runs{0};
  auto square = ca::memory_cache(
      {.backend = kDistributedMemory, .name = "cli.square"}, [&runs](int x) {
        ++runs;
        return x * x;
      });
  EXPECT_EQ(square(3), 9);
  EXPECT_EQ(square(3), 9);  // a local hit: no round trip, no run
  ASSERT_EQ(runs, 1);
  auto received = [] {
    return ca::backend_stats(kDistributedMemory)["invalidations_received"];
  };
  const int64_t before = received();

  ProcessResult flush = Cli({"flush", "memory", "--yes"});
  ASSERT_EQ(flush.exit_code, 0) << flush.err;
  EXPECT_EQ(flush.out, "1 entries removed\n");

  // This process applied the CLI's invalidation message...
  ASSERT_TRUE(WaitFor([&] { return received() > before; }));
  // ...so its local copy is gone.
  EXPECT_EQ(square(3), 9);
  EXPECT_EQ(runs, 2);
}

TEST_F(CliTest, FlushAsksOnATerminal) {
  auto f = ca::json_cache({.name = "cli.asked"}, [](int x) { return x; });
  f(1);
  ProcessResult no =
      Cli({"flush", "json"}, {.stdin_text = "n\n", .stdin_is_terminal = true});
  EXPECT_EQ(no.exit_code, 3);
  EXPECT_THAT(no.err, HasSubstr("Flush every entry of " + std::string(kJson) +
                                " under prefix \"\" (1 function: cli.asked)"));
  EXPECT_THAT(no.err, HasSubstr("not confirmed; nothing was removed"));
  EXPECT_EQ(ValueKeys("DistributedJsonCache:cli.asked@*}:*"), 1);

  ProcessResult yes = Cli({"flush", "json"},
                          {.stdin_text = "yes\n", .stdin_is_terminal = true});
  EXPECT_EQ(yes.exit_code, 0) << yes.err;
  EXPECT_EQ(yes.out, "1 entries removed\n");
  EXPECT_EQ(ValueKeys("DistributedJsonCache:cli.asked@*}:*"), 0);
}

TEST_F(CliTest, FlushRefusesANonTerminalWithoutYes) {
  auto f = ca::json_cache({.name = "cli.piped"}, [](int x) { return x; });
  f(1);
  ProcessResult r = Cli({"flush", "json"}, {.stdin_text = "yes\n"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.err, HasSubstr("stdin is not a terminal; pass --yes"));
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(ValueKeys("DistributedJsonCache:cli.piped@*}:*"), 1);
}

TEST_F(CliTest, PrefixSelectsTheTenant) {
  auto f = ca::json_cache({.cache_key_prefix = "t9:", .name = "cli.tenant"},
                          [](int x) { return x; });
  f(5);
  EXPECT_EQ(Cli({"keys", "json", "cli.tenant"}).out, "");
  ProcessResult keys = Cli({"keys", "json", "cli.tenant", "--prefix=t9:"});
  EXPECT_THAT(Lines(keys.out),
              ElementsAre(MatchesRegex("cli\\.tenant@[0-9a-f]{8}\t5")));
  EXPECT_EQ(Cli({"namespaces", "json", "--prefix", "t9:"}).out, "cli.tenant\n");
  // The config's prefix is the default, as in the library.
  EXPECT_EQ(Cli({"namespaces", "json"},
                {.env = {"CACHE_ALCHEMY_CACHE_KEY_PREFIX=t9:"}})
                .out,
            "cli.tenant\n");
}

TEST_F(CliTest, StrictKeysShowTheirSegments) {
  auto f = ca::json_cache(
      {.strict = true, .name = "cli.strict", .params = {"name", "times"}},
      [](std::string name, int times) { return times; });
  f("a|b", 2);
  ProcessResult keys = Cli({"keys", "json", "cli.strict"});
  EXPECT_THAT(
      Lines(keys.out),
      ElementsAre(MatchesRegex("cli\\.strict@[0-9a-f]{8}\t\"a\\|b\"\\|2")));
}

TEST_F(CliTest, ConfigShowsEverySourceAndHidesPasswords) {
  const std::string file = ca::testing::TestEnv("TEST_TMPDIR") + "/cli.json";
  std::ofstream(file) << R"({"CACHE_ALCHEMY_CACHE_KEY_PREFIX": "t1:"})";
  ProcessResult r =
      Cli({"config"},
          {.env = {"CACHE_ALCHEMY_REDIS_URL=redis://ops:s3cret@127.0.0.1:1/0",
                   "CACHE_ALCHEMY_DEFAULT_LIMIT=7",
                   "CACHE_ALCHEMY_CONFIG_FILE=" + file}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, Not(HasSubstr("s3cret")));
  EXPECT_THAT(r.out, HasSubstr("# config file: " + file +
                               " ($CACHE_ALCHEMY_CONFIG_FILE)\n"));
  EXPECT_THAT(r.out, HasSubstr("CACHE_ALCHEMY_REDIS_URL        = "
                               "\"redis://ops:***@127.0.0.1:1/0\"  [env]\n"));
  EXPECT_THAT(r.out, HasSubstr("CACHE_ALCHEMY_DEFAULT_LIMIT    = 7  [env]\n"));
  EXPECT_THAT(r.out, HasSubstr("CACHE_ALCHEMY_CACHE_KEY_PREFIX = \"t1:\"  "
                               "[file " +
                               file + "]\n"));
  EXPECT_THAT(r.out,
              HasSubstr("CACHE_ALCHEMY_DEFAULT_EXPIRE   = 86400  [default]\n"));
  EXPECT_THAT(
      r.out,
      HasSubstr("# cache_alchemy.backends.memory.so is looked for in: "));
  // --config_file wins over the environment variable.
  const std::string other = ca::testing::TestEnv("TEST_TMPDIR") + "/cli2.json";
  std::ofstream(other) << R"({"CACHE_ALCHEMY_CACHE_KEY_PREFIX": "t2:"})";
  ProcessResult flag = Cli({"config", "--config_file=" + other},
                           {.env = {"CACHE_ALCHEMY_CONFIG_FILE=" + file}});
  EXPECT_THAT(flag.out, HasSubstr("\"t2:\"  [file " + other + "]\n"));
}

TEST_F(CliTest, HelpForEveryCommand) {
  ProcessResult general = Cli({"--help"});
  EXPECT_EQ(general.exit_code, 0);
  for (const char* command :
       {"config", "namespaces", "keys", "flush", "stats"}) {
    EXPECT_THAT(general.out, HasSubstr(absl::StrCat("  ", command, " ")));
    ProcessResult help = Cli({command, "--help"});
    EXPECT_EQ(help.exit_code, 0) << command;
    EXPECT_THAT(help.out,
                StartsWith(absl::StrCat("Usage: cache_alchemy ", command)));
    EXPECT_THAT(help.out, HasSubstr("Exit codes: 0 ok"));
    EXPECT_EQ(help.err, "");
  }
  ProcessResult flush = Cli({"help", "flush"});
  EXPECT_EQ(flush.exit_code, 0);
  EXPECT_THAT(
      flush.out,
      StartsWith("Usage: cache_alchemy flush BACKEND [--prefix] [--yes] "
                 "[--config_file] [--verbose]\n"));
  EXPECT_THAT(flush.out, HasSubstr("  --yes\n      flush without asking"));
}

// Each failure: its exit code and one line on stderr naming what was wrong.
TEST_F(CliTest, ExitCodesAndErrorMessages) {
  struct Case {
    std::vector<std::string> args;
    std::vector<std::string> env;
    int code;
    std::string error;
  };
  ca::testing::RedisServer down;
  const std::string down_url = down.url();
  down.Stop();
  const std::vector<Case> cases = {
      {{}, {}, 2, "no command given"},
      {{"frobnicate"}, {}, 2, "unknown command 'frobnicate'"},
      {{"keys", "json"}, {}, 2, "keys takes BACKEND NAME, got 1"},
      {{"config", "extra"}, {}, 2, "config takes no arguments, got 1"},
      {{"flush", "json", "--bogus"}, {}, 2, "unknown flag --bogus"},
      {{"namespaces", "json", "--yes"},
       {},
       2,
       "flag --yes does not apply to command 'namespaces'"},
      {{"flush", "json", "--yes=maybe"}, {}, 2, "flag --yes: "},
      {{"flush", "--prefix"}, {}, 2, "flag --prefix needs a value"},
      {{"namespaces", "nodots"}, {}, 2, "backend 'nodots' is neither"},
      {{"keys", kMemory, "f"}, {}, 2, "keeps its entries inside each process"},
      {{"config"},
       {"CACHE_ALCHEMY_DEFAULT_LIMIT=lots"},
       4,
       "CACHE_ALCHEMY_DEFAULT_LIMIT"},
      {{"namespaces", "json"},
       {"CACHE_ALCHEMY_REDIS_URL=http://:pw@example.com"},
       4,
       "CACHE_ALCHEMY_REDIS_URL (from env) is not a Redis URL"},
      {{"namespaces", "acme.backends.nothing.Cache"},
       {},
       5,
       "acme.backends.nothing.Cache"},
      {{"namespaces", "json"},
       {"CACHE_ALCHEMY_REDIS_URL=" + down_url},
       1,
       "cannot connect"},
      {{"flush", "json", "--yes"},
       {"CACHE_ALCHEMY_REDIS_URL=" + down_url},
       1,
       "cache clear failed: every function of backend '" + std::string(kJson) +
           "': redis " + down_url + ": cannot connect"},
      {{"stats", "--from=http://127.0.0.1:1/metrics"},
       {},
       1,
       "GET http://127.0.0.1:1/metrics: connect failed"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StrJoin(c.args, " "));
    ProcessResult r = Cli(c.args, {.env = c.env});
    EXPECT_EQ(r.exit_code, c.code) << r.err;
    EXPECT_THAT(r.err, StartsWith("cache_alchemy: error: "));
    EXPECT_THAT(r.err, HasSubstr(c.error));
    EXPECT_EQ(Lines(r.err).size(), 1u) << r.err;
    EXPECT_THAT(r.err, Not(HasSubstr(":pw@")));
  }
}

TEST_F(CliTest, VerboseAddsTheLibrarysLogLines) {
  ca::testing::RedisServer down;
  const std::string down_url = down.url();
  down.Stop();
  ProcessResult r = Cli({"flush", "json", "--yes", "--verbose"},
                        {.env = {"CACHE_ALCHEMY_REDIS_URL=" + down_url}});
  EXPECT_EQ(r.exit_code, 1);
  const std::vector<std::string> lines = Lines(r.err);
  ASSERT_EQ(lines.size(), 2u) << r.err;
  EXPECT_THAT(lines[0], StartsWith("cache_alchemy: log: ERROR: backend '" +
                                   std::string(kJson) +
                                   "': flush of prefix '' failed: "));
  EXPECT_THAT(lines[1], StartsWith("cache_alchemy: error: "));
}

TEST_F(CliTest, StatsCountsFunctionsAndEntriesPerBackend) {
  auto f = ca::json_cache({.name = "cli.stats"}, [](int x) { return x; });
  f(1);
  f(2);
  ProcessResult r = Cli({"stats", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, absl::StrCat("backend\tprefix\tfunctions\tentries\n", kJson,
                                "\t\t1\t2\n"));
  ProcessResult memory = Cli({"stats", kMemory});
  EXPECT_EQ(memory.exit_code, 0);
  EXPECT_THAT(memory.out, HasSubstr(absl::StrCat(kMemory, "\t\t-\t-\n")));
  EXPECT_THAT(memory.err, HasSubstr("--from"));
}

// The exporter of this process, read by the CLI from another process.
TEST_F(CliTest, StatsFromReadsARunningProcessExporter) {
  auto exporter = ca::metrics::StartHttpExporter(0);
  auto f = ca::cache({.limit = 1, .backend = kMemory, .name = "cli.exported"},
                     [](int x) { return x; });
  f(1);
  f(1);
  f(1);
  f(2);  // evicts 1
  ProcessResult r = Cli({"stats", "--from=" + exporter->url(), kMemory});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(lines[0],
            "backend\tfunctions\thits\tmisses\thit_ratio\terrors\tputs\t"
            "entries\tevictions");
  // Evictions count since the plugin was loaded in this process.
  EXPECT_THAT(lines[1],
              MatchesRegex(absl::StrCat(
                  kMemory, "\t1\t2\t2\t0\\.500\t0\t2\t1\t[1-9][0-9]*")));
  EXPECT_GE(exporter->requests_served(), 1);
}

}  // namespace
