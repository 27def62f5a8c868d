// ca::pickle_cache over DistributedPickleCache (the config's default pickle
// backend) against a private redis-server.

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "cache_alchemy/cache_alchemy.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/redis_fixture.h"

namespace ca = cache_alchemy;

namespace {

using ::testing::HasSubstr;

// A user type stored through its cereal serialize().
struct Order {
  std::string customer;
  std::vector<double> lines;
  bool operator==(const Order&) const = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(customer, lines);
  }
};

struct NoCodec {
  int x = 0;
};

class PickleCacheTest : public ca::testing::RedisFixture {};

TEST_F(PickleCacheTest, UserStructRoundTrips) {
  int calls = 0;
  auto load = ca::pickle_cache({.name = "order"}, [&calls](int id) {
    ++calls;
    return Order{"customer " + std::to_string(id), {1.5, 2.25 * id}};
  });
  const Order expected{"customer 3", {1.5, 6.75}};
  EXPECT_EQ(load(3), expected);
  EXPECT_EQ(load(3), expected);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(load.hits(), 1);
}

TEST_F(PickleCacheTest, CorruptValueIsAMissAndIsOverwritten) {
  int calls = 0;
  auto load = ca::pickle_cache({.name = "corrupt"}, [&calls](int id) {
    ++calls;
    return Order{"c" + std::to_string(id), {double(id)}};
  });
  load(1);
  const std::string key = OnlyValueKey("DistributedPickleCache", "corrupt");
  // Cut short, and a length prefix promising more than there is.
  for (std::string garbage :
       {std::string("\x01", 1), std::string("\x01\xff\xff\xff\xff\xff", 6)}) {
    redis_->Command({"SET", key, garbage});
    const int before = calls;
    EXPECT_EQ(load(1).customer, "c1");
    EXPECT_EQ(calls, before + 1);
    EXPECT_EQ(load(1).customer, "c1");
    EXPECT_EQ(calls, before + 1);
  }
}

TEST_F(PickleCacheTest, TypeWithoutCodecIsRefusedAtWrapTime) {
  try {
    ca::pickle_cache({.name = "nocodec"}, [](int) { return NoCodec{}; });
    ADD_FAILURE() << "a type without a binary codec was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("NoCodec"));
    EXPECT_THAT(e.what(), HasSubstr("binary"));
  }
}

}  // namespace
