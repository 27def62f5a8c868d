// Dependencies across backends: a MemoryCache function depending on a Redis
// JSON one and the other way round, against a private redis-server.

#include <memory>
#include <string>

#include "cache_alchemy/cache_alchemy.h"
#include "gtest/gtest.h"
#include "testing/redis_fixture.h"

namespace ca = cache_alchemy;

namespace {

constexpr char kMemory[] = "cache_alchemy.backends.memory.MemoryCache";
constexpr char kJson[] = "cache_alchemy.backends.json.DistributedJsonCache";

class CrossBackendDependencyTest : public ca::testing::RedisFixture {};

TEST_F(CrossBackendDependencyTest, MemoryDependsOnJson) {
  auto prices = ca::cache({.strict = true,
                           .backend = kJson,
                           .name = "cross:prices",
                           .params = {"sku"}},
                          [](std::string sku) { return sku.size() * 100; });
  auto quote = ca::cache(
      {.strict = true,
       .backend = kMemory,
       .dependency = {ca::FunctionCacheDependency(prices)},
       .name = "cross:quote",
       .params = {"sku", "quantity"}},
      [&](std::string sku, int quantity) { return prices(sku) * quantity; });
  EXPECT_EQ(quote("ab", 2), 400u);
  EXPECT_EQ(quote("abc", 1), 300u);
  EXPECT_EQ(prices.size(), 2);
  // A partial clear in Redis reaches the in-process dependent precisely.
  EXPECT_EQ(prices.cache_clear("ab"), 2);
  EXPECT_EQ(quote.size(), 1);
  EXPECT_EQ(prices.cache_clear(), 2);
  EXPECT_EQ(quote.size(), 0);
}

TEST_F(CrossBackendDependencyTest, JsonDependsOnMemory) {
  auto base = ca::cache({.backend = kMemory, .name = "cross:base"},
                        [](int x) { return x + 1; });
  auto report = ca::cache({.backend = kJson,
                           .dependency = {ca::FunctionCacheDependency(base)},
                           .name = "cross:report"},
                          [&](int x) { return std::to_string(base(x)); });
  EXPECT_EQ(report(1), "2");
  EXPECT_EQ(report(2), "3");
  EXPECT_EQ(redis_->Command({"KEYS", "DistributedJsonCache:cross:report@*}:*"})
                .elements.size(),
            2u);
  EXPECT_EQ(base.cache_clear(), 4);
  EXPECT_EQ(report.size(), 0);
  EXPECT_TRUE(
      redis_->Command({"KEYS", "DistributedJsonCache:cross:report@*}:*"})
          .elements.empty());
}

}  // namespace
