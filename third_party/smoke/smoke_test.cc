// Canary: every external repository of the project compiles and links, and a
// plugin shared library (-fvisibility=hidden) loads through Boost.DLL.
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <boost/dll/import.hpp>
#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/filesystem.hpp>
#include <cereal/archives/json.hpp>
#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/vector.hpp>
#include <hiredis/hiredis.h>
#include <libmemcached/memcached.h>
#include <nlohmann/json.hpp>

#include "absl/base/thread_annotations.h"
#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/hash/hash.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace {

absl::StatusOr<int> Half(int x) {
  if (x % 2 != 0) return absl::InvalidArgumentError(absl::StrFormat("%d is odd", x));
  return x / 2;
}

int Apply(absl::FunctionRef<int(int)> f, int x) { return f(x); }

TEST(SmokeTest, Abseil) {
  EXPECT_EQ(absl::StrCat("a", 1, "b"), "a1b");
  absl::flat_hash_map<std::string, int> m{{"x", 1}};
  absl::flat_hash_set<int> s{1, 2};
  absl::node_hash_map<int, std::string> n{{1, "one"}};
  EXPECT_EQ(m["x"], 1);
  EXPECT_TRUE(s.contains(2));
  EXPECT_EQ(n[1], "one");
  EXPECT_NE(absl::HashOf(std::string("k")), 0u);

  absl::Mutex mu;
  int guarded = 0;
  {
    absl::MutexLock lock(&mu);
    ++guarded;
  }
  EXPECT_EQ(guarded, 1);

  EXPECT_EQ(*Half(4), 2);
  EXPECT_EQ(Half(3).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(Half(3).status().message()), ::testing::HasSubstr("odd"));

  absl::Time t = absl::Now();
  EXPECT_GT(t + absl::Seconds(1), t);

  absl::AnyInvocable<int(int)> inc = [](int x) { return x + 1; };
  EXPECT_EQ(inc(1), 2);
  EXPECT_EQ(Apply([](int x) { return x * 3; }, 2), 6);

  absl::optional<int> opt = 5;
  EXPECT_EQ(opt.value_or(0), 5);

  absl::BitGen gen;
  int r = absl::Uniform(gen, 0, 10);
  EXPECT_GE(r, 0);
  EXPECT_LT(r, 10);

  bool cleaned = false;
  { absl::Cleanup c = [&] { cleaned = true; }; }
  EXPECT_TRUE(cleaned);
}

TEST(SmokeTest, BoostDllProgramLocation) {
  EXPECT_TRUE(boost::filesystem::exists(boost::dll::program_location()));
}

TEST(SmokeTest, BoostDllPluginFromRunfiles) {
  // Runfiles: the test runs in its runfiles tree, where data files keep their
  // workspace-relative paths.
  boost::dll::fs::path plugin = "third_party/smoke/smoke_plugin.so";
  ASSERT_TRUE(boost::filesystem::exists(plugin)) << boost::filesystem::current_path();
  auto add_one = boost::dll::import_alias<int(int)>(boost::filesystem::absolute(plugin), "smoke_add_one");
  EXPECT_EQ(add_one(41), 42);

  // Only the alias is exported: the C++ function itself stays hidden.
  boost::dll::shared_library lib(boost::filesystem::absolute(plugin));
  EXPECT_TRUE(lib.has("smoke_add_one"));
  EXPECT_FALSE(lib.has("_ZN5smoke6AddOneEi"));
}

TEST(SmokeTest, Hiredis) {
  timeval timeout{1, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", 1, timeout);
  ASSERT_NE(c, nullptr);
  EXPECT_NE(c->err, 0);  // nothing listens on port 1
  redisFree(c);
}

TEST(SmokeTest, Memcached) {
  memcached_st* mc = memcached_create(nullptr);
  ASSERT_NE(mc, nullptr);
  EXPECT_EQ(memcached_server_count(mc), 0u);
  memcached_free(mc);
}

TEST(SmokeTest, CerealRoundTrips) {
  const std::vector<int> in{1, -2, 300000};
  {
    std::stringstream ss;
    {
      cereal::JSONOutputArchive out(ss);
      out(cereal::make_nvp("v", in));
    }
    std::vector<int> back;
    cereal::JSONInputArchive input(ss);
    input(cereal::make_nvp("v", back));
    EXPECT_EQ(back, in);
  }
  {
    std::stringstream ss;
    {
      cereal::PortableBinaryOutputArchive out(ss);
      out(in);
    }
    std::vector<int> back;
    cereal::PortableBinaryInputArchive input(ss);
    input(back);
    EXPECT_EQ(back, in);
  }
}

TEST(SmokeTest, NlohmannJson) {
  auto j = nlohmann::json::parse(R"({"a": [1, 2], "b": "c"})");
  EXPECT_EQ(j["a"][1].get<int>(), 2);
  EXPECT_EQ(j["b"], "c");
}

}  // namespace
