// ca::json_cache over DistributedJsonCache (the config's default JSON backend)
// against a private redis-server.

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "cache_alchemy/cache_alchemy.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/redis_fixture.h"

namespace ca = cache_alchemy;

namespace {

using ::testing::HasSubstr;

struct NoCodec {
  int x = 0;
};

class JsonCacheTest : public ca::testing::RedisFixture {};

TEST_F(JsonCacheTest, StoresJsonTextUnderTheConfiguredBackend) {
  int calls = 0;
  auto f = ca::json_cache({.name = "words"}, [&calls](int n) {
    ++calls;
    return std::map<std::string, std::vector<int>>{{"n", {n, n + 1}}};
  });
  EXPECT_EQ(f(4).at("n"), (std::vector<int>{4, 5}));
  EXPECT_EQ(f(4).at("n"), (std::vector<int>{4, 5}));
  EXPECT_EQ(calls, 1);
  const std::string text =
      redis_->Command({"GET", OnlyValueKey("DistributedJsonCache", "words")})
          .str;
  EXPECT_THAT(text, HasSubstr("\"value\""));
  EXPECT_THAT(text, HasSubstr("\"n\""));
  EXPECT_THAT(
      ca::get_all_namespace("cache_alchemy.backends.json.DistributedJsonCache"),
      ::testing::ElementsAre("words"));
}

TEST_F(JsonCacheTest, CorruptValueIsAMissAndIsOverwritten) {
  int calls = 0;
  auto f = ca::json_cache({.name = "corrupt"},
                          [&calls](int n) { return ++calls, n * 2; });
  EXPECT_EQ(f(21), 42);
  const std::string key = OnlyValueKey("DistributedJsonCache", "corrupt");
  for (const char* garbage : {"{not json", "{\"value\": \"a string\"}", ""}) {
    redis_->Command({"SET", key, garbage});
    const int before = calls;
    EXPECT_EQ(f(21), 42) << garbage;
    EXPECT_EQ(calls, before + 1) << garbage;
    EXPECT_EQ(f(21), 42) << garbage;  // overwritten with a good value
    EXPECT_EQ(calls, before + 1) << garbage;
  }
  EXPECT_EQ(f.errors(), 3);  // each undecodable value is counted
}

// cereal's JSON reader cut strings at a NUL: a std::string result holding
// one came back shortened on every hit (a wrong value). Now it comes back
// whole, and a value it would still cut (a NUL inside a vector's string) is
// not stored at all: every call computes, each counted as an error.
TEST_F(JsonCacheTest, StringsWithNulBytesComeBackWholeOrAreNotStored) {
  int calls = 0;
  auto text = ca::json_cache({.name = "nul:text"}, [&calls](int n) {
    ++calls;
    return std::string("a\0b", 3) + std::to_string(n);
  });
  EXPECT_EQ(text(1), std::string("a\0b1", 4));
  EXPECT_EQ(text(1), std::string("a\0b1", 4));  // the hit
  EXPECT_EQ(calls, 1);
  auto words = ca::json_cache({.name = "nul:words"}, [&calls](int n) {
    ++calls;
    return std::vector<std::string>{std::string("x\0y", 3), std::to_string(n)};
  });
  calls = 0;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(words(2),
              (std::vector<std::string>{std::string("x\0y", 3), "2"}));
  }
  EXPECT_EQ(calls, 3);  // never served cut
  EXPECT_EQ(words.errors(), 3);
  EXPECT_FALSE(words.put({std::string("\0", 1)}, 3));
  EXPECT_TRUE(words.put({"no nul"}, 3));
  EXPECT_EQ(words(3), (std::vector<std::string>{"no nul"}));
}

TEST_F(JsonCacheTest, MissIsOneLookupAndOneStore) {
  auto f = ca::json_cache({.name = "trips"}, [](int n) { return n; });
  f(0);  // the first store of the process also loads the script
  const int64_t start = redis_->round_trips();
  f(1);
  EXPECT_EQ(redis_->round_trips() - start, 2);  // GET, EVALSHA
  f(1);
  EXPECT_EQ(redis_->round_trips() - start, 3);  // GET
}

TEST_F(JsonCacheTest, WithDeferredStoresAMissIsOneRoundTrip) {
  std::shared_ptr<ca::RedisClient> deferred = ca::RedisClient::FromUrl(
      ca::testing::SharedRedisServer()->url() + "?deferred_stores=1");
  config_.cache_redis_client = deferred;
  int calls = 0;
  auto f = ca::json_cache({.name = "one_trip"},
                          [&calls](int n) { return ++calls, n * 3; });
  EXPECT_EQ(f(0), 0);  // the first call registers the function
  const int64_t start = deferred->round_trips();
  EXPECT_EQ(f(1), 3);
  EXPECT_EQ(deferred->round_trips() - start, 1);  // MGET; EVALSHA sent
  EXPECT_EQ(f(1), 3);
  EXPECT_EQ(deferred->round_trips() - start, 2);  // MGET: a hit
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(f.hits(), 1);
  EXPECT_EQ(deferred->deferred_errors(), 0);
}

TEST_F(JsonCacheTest, MethodSkipsTheObject) {
  struct Account {
    int id;
  };
  int calls = 0;
  auto balance = ca::method_json_cache({.name = "balance"},
                                       [&calls](const Account& self, int day) {
                                         return ++calls, self.id + day;
                                       });
  Account a{1}, b{2};
  EXPECT_EQ(balance(a, 10), 11);
  EXPECT_EQ(balance(b, 10), 11);  // the object is not part of the key
  EXPECT_EQ(calls, 1);
}

TEST_F(JsonCacheTest, TypeWithoutCodecIsRefusedAtWrapTime) {
  try {
    ca::json_cache({.name = "nocodec"}, [](int) { return NoCodec{}; });
    ADD_FAILURE() << "a type without a JSON codec was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("NoCodec"));
    EXPECT_THAT(e.what(), HasSubstr("serialize"));
  }
}

// The key format of docs/redis.md, exactly: readable, one per call.
TEST_F(JsonCacheTest, KeysReadAsDocumented) {
  auto price = ca::json_cache(
      {.name = "app.price"},
      [](std::string sku, int quantity) { return sku.size() * quantity; });
  price("ab-1", 2);
  EXPECT_EQ(OnlyValueKey("DistributedJsonCache", "app.price"),
            "DistributedJsonCache:app.price@232e543c:{5q}:\"ab-1\",2");
}

enum class Shade : int16_t { kDark = -3, kLight = 7 };

// The key text of (a, b, c, d, e) as KeyWriter writes it (the reference the
// in-place text keys of scalar-only signatures must equal).
template <typename... T>
std::string ReferenceKey(bool strict, const T&... args) {
  std::string key;
  if (!strict) {
    ca::KeyWriter(&key, ca::KeyFormat::kText).Add(args...);
    return key;
  }
  auto segment = [&key](const auto& arg) {
    std::string text;
    ca::KeyWriter(&text, ca::KeyFormat::kText).Add(arg);
    ca::AppendStrictSegment(text, &key, ca::KeyFormat::kText);
  };
  (segment(args), ...);
  return key;
}

// Keys of scalar-only signatures are written in place, not by KeyWriter:
// both must give the same text for every kind of scalar and its edges
// (another process, or a partial clear, builds them the other way).
TEST_F(JsonCacheTest, ScalarKeysAreTheKeyWriterText) {
  using Args = std::tuple<int64_t, double, bool, Shade, uint64_t, float, char>;
  const std::vector<Args> cases = {
      {0, 0.0, false, Shade::kDark, 0, 0.0f, 'a'},
      {std::numeric_limits<int64_t>::min(), -0.0, true, Shade::kLight,
       std::numeric_limits<uint64_t>::max(), -1.5f, '\0'},
      {std::numeric_limits<int64_t>::max(), -2.2250738585072014e-308, true,
       Shade::kDark, 1, std::numeric_limits<float>::quiet_NaN(), '|'},
      {-1, std::numeric_limits<double>::quiet_NaN(), false, Shade::kLight, 42,
       std::numeric_limits<float>::infinity(), ','},
      {7, 1e300, true, static_cast<Shade>(300), 9, 3.4028235e38f, '"'},
  };
  int n = 0;
  for (const bool strict : {false, true}) {
    for (const Args& args : cases) {
      const std::string name = "scalars" + std::to_string(n++);
      auto f = ca::json_cache({.strict = strict, .name = name},
                              [](int64_t, double, bool, Shade, uint64_t, float,
                                 char) { return 1; });
      std::apply(f, args);
      const std::string key = OnlyValueKey("DistributedJsonCache", name);
      const std::string expected = std::apply(
          [strict](const auto&... a) { return ReferenceKey(strict, a...); },
          args);
      ASSERT_GE(key.size(), expected.size()) << key;
      EXPECT_EQ(key.substr(key.size() - expected.size()), expected)
          << "strict=" << strict << " key=" << key;
      EXPECT_EQ(key[key.size() - expected.size() - 1], ':') << key;
    }
  }
}

TEST_F(JsonCacheTest, MissingClientTellsToAssignIt) {
  config_.cache_redis_client = nullptr;
  try {
    ca::json_cache({.name = "no-client"}, [](int n) { return n; });
    ADD_FAILURE() << "wrapped without a Redis client";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("cache_redis_client"));
    EXPECT_THAT(e.what(), HasSubstr("assign"));
  }
}

}  // namespace
