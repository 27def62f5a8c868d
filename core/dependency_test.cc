// Dependencies between caches: the seed example, transitive chains, cycles,
// precise partial cascades, lifetimes, table-style dependencies, concurrency.

#include <malloc.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cache_alchemy/cache_alchemy.h"
#include "gtest/gtest.h"

namespace ca = cache_alchemy;

namespace {

constexpr char kMemory[] = "cache_alchemy.backends.memory.MemoryCache";

ca::CacheOptions Opts(const std::string& name,
                      std::vector<ca::CacheDependency> deps = {}) {
  return {.backend = kMemory, .dependency = std::move(deps), .name = name};
}

TEST(DependencyTest, SeedExampleAddAndDouble) {
  int add_calls = 0, double_calls = 0;
  auto add = ca::memory_cache(Opts("seed:add"), [&](int a, int b) {
    ++add_calls;
    return a + b;
  });
  auto add_and_double = ca::memory_cache(
      Opts("seed:add_and_double", {ca::FunctionCacheDependency(add)}),
      [&](int a, int b) {
        ++double_calls;
        return add(a, b) * 2;
      });
  EXPECT_EQ(add_and_double(1, 2), 6);
  EXPECT_EQ(add_and_double(1, 2), 6);
  EXPECT_EQ(add_calls, 1);
  EXPECT_EQ(double_calls, 1);
  // Clearing add clears its dependent; the count includes both.
  EXPECT_EQ(add.cache_clear(), 2);
  EXPECT_EQ(add_and_double.size(), 0);
  EXPECT_EQ(add_and_double(1, 2), 6);
  EXPECT_EQ(double_calls, 2);
  // Clearing the dependent leaves the dependency alone.
  EXPECT_EQ(add_and_double.cache_clear(), 1);
  EXPECT_EQ(add.size(), 1);
}

TEST(DependencyTest, TransitiveChain) {
  auto a = ca::cache(Opts("chain:a"), [](int x) { return x; });
  auto b = ca::cache(Opts("chain:b", {ca::FunctionCacheDependency(a)}),
                     [](int x) { return x; });
  auto c = ca::cache(Opts("chain:c", {ca::FunctionCacheDependency(b)}),
                     [](int x) { return x; });
  a(1);
  b(1);
  b(2);
  c(1);
  EXPECT_EQ(a.cache_clear(), 4);
  EXPECT_EQ(c.size(), 0);
}

TEST(DependencyTest, CycleTerminatesAndClearsEachOnce) {
  // Wrappers with one identity share entries and graph node, so a1 -> b -> a2
  // is the cycle a -> b -> a.
  auto a1 = ca::cache(Opts("cycle:a"), [](int x) { return x; });
  auto b = ca::cache(Opts("cycle:b", {ca::FunctionCacheDependency(a1)}),
                     [](int x) { return x + 1; });
  auto a2 = ca::cache(Opts("cycle:a", {ca::FunctionCacheDependency(b)}),
                      [](int x) { return x; });
  a1(1);
  a1(2);
  b(1);
  EXPECT_EQ(a2.size(), 2);  // shared with a1
  EXPECT_EQ(b.cache_clear(), 3);
  EXPECT_EQ(a1.size(), 0);
  a1(1);
  b(1);
  EXPECT_EQ(a1.size(), 1);
  EXPECT_EQ(b.size(), 1);
  EXPECT_EQ(a1.cache_clear(), 2);
  EXPECT_EQ(ca::FunctionCacheDependency(b).clear(), 0);
}

TEST(DependencyTest, DiamondClearsFullyWhenAnyPathIsFull) {
  auto root = ca::cache({.strict = true,
                         .backend = kMemory,
                         .name = "diamond:root",
                         .params = {"user"}},
                        [](int user) { return user; });
  auto precise = ca::cache({.strict = true,
                            .backend = kMemory,
                            .dependency = {ca::FunctionCacheDependency(root)},
                            .name = "diamond:precise",
                            .params = {"user"}},
                           [](int user) { return user; });
  auto coarse =
      ca::cache(Opts("diamond:coarse", {ca::FunctionCacheDependency(root)}),
                [](int user) { return user; });
  auto sink = ca::cache({.strict = true,
                         .backend = kMemory,
                         .dependency = {ca::FunctionCacheDependency(precise),
                                        ca::FunctionCacheDependency(coarse)},
                         .name = "diamond:sink",
                         .params = {"user"}},
                        [](int user) { return user; });
  for (int u : {1, 2}) {
    root(u);
    precise(u);
    coarse(u);
    sink(u);
  }
  // root(1) partial: precise loses user 1 only; coarse (non-strict) is
  // cleared fully, so sink must be cleared fully as well.
  EXPECT_EQ(root.cache_clear(1), 1 + 1 + 2 + 2);
  EXPECT_EQ(precise.size(), 1);
  EXPECT_EQ(sink.size(), 0);
}

TEST(DependencyTest, PartialClearCascadesByName) {
  auto orders = ca::cache({.strict = true,
                           .backend = kMemory,
                           .name = "partial:orders",
                           .params = {"user_id", "page"}},
                          [](int user_id, int page) { return user_id * page; });
  auto dep = ca::FunctionCacheDependency(orders);
  // Same parameter name and type, at another position: precise.
  auto summary = ca::cache({.strict = true,
                            .backend = kMemory,
                            .dependency = {dep},
                            .name = "partial:summary",
                            .params = {"currency", "user_id"}},
                           [](std::string currency, int user_id) {
                             return currency + std::to_string(user_id);
                           });
  // Strict but other names: full.
  auto other_names = ca::cache({.strict = true,
                                .backend = kMemory,
                                .dependency = {dep},
                                .name = "partial:other",
                                .params = {"customer"}},
                               [](int customer) { return customer; });
  // Same name, other type: full (the encodings are not comparable).
  auto other_type = ca::cache({.strict = true,
                               .backend = kMemory,
                               .dependency = {dep},
                               .name = "partial:type",
                               .params = {"user_id"}},
                              [](int64_t user_id) { return user_id; });
  // Not strict: full.
  auto plain = ca::cache(Opts("partial:plain", {dep}),
                         [](int user_id) { return user_id; });
  for (int u : {1, 2}) {
    orders(u, 1);
    summary("EUR", u);
    summary("USD", u);
    other_names(u);
    other_type(u);
    plain(u);
  }
  const int64_t removed = orders.cache_clear(ca::arg("user_id", 1));
  EXPECT_EQ(orders.size(), 1);
  EXPECT_EQ(summary.size(), 2);  // only user 2 left
  EXPECT_EQ(summary.cache_clear(ca::any, 2), 2);
  EXPECT_EQ(other_names.size(), 0);
  EXPECT_EQ(other_type.size(), 0);
  EXPECT_EQ(plain.size(), 0);
  EXPECT_EQ(removed, 1 + 2 + 2 + 2 + 2);
}

TEST(DependencyTest, PositionalNamesDoNotCascadePrecisely) {
  auto source = ca::cache(
      {.strict = true, .backend = kMemory, .name = "positional:source"},
      [](int x) { return x; });
  auto dependent =
      ca::cache({.strict = true,
                 .backend = kMemory,
                 .dependency = {ca::FunctionCacheDependency(source)},
                 .name = "positional:dependent"},
                [](int x) { return x; });
  source(1);
  dependent(1);
  dependent(2);
  EXPECT_EQ(source.cache_clear(1), 3);  // dependent cleared fully
}

TEST(DependencyTest, DestroyedDependentsLeaveTheGraph) {
  auto base = ca::cache(Opts("lifetime:base"), [](int x) { return x; });
  {
    auto dependent =
        ca::cache(Opts("lifetime:dep", {ca::FunctionCacheDependency(base)}),
                  [](int x) { return x; });
    dependent(1);
  }
  base(1);
  EXPECT_EQ(base.cache_clear(), 1);

  // A dependency handle that outlives its function still clears dependents.
  std::optional<ca::FunctionCacheDependency> dep;
  std::optional<decltype(base)> dependent;
  {
    auto gone = ca::cache(Opts("lifetime:gone"), [](int x) { return x; });
    dep.emplace(gone);
    dependent.emplace(
        ca::cache(Opts("lifetime:after", {*dep}), [](int x) { return x; }));
  }
  (*dependent)(1);
  EXPECT_EQ(dep->clear(), 1);
}

// Wrapping and destroying functions while their dependencies stay alive
// (and are never cleared) keeps the graph's memory bounded: dead entries are
// forgotten as new ones arrive, not only at the next clear.
TEST(DependencyTest, WrapDestroyChurnWithoutClearsStaysBounded) {
  ca::CacheDependency table("churn.table");
  auto root = ca::cache(Opts("churn:root"), [](int x) { return x; });
  ca::FunctionCacheDependency on_root(root);
  auto churn = [&](int n) {
    for (int i = 0; i < n; ++i) {
      auto f = ca::cache({.backend = kMemory, .dependency = {table, on_root}},
                         [](int x) { return x; });
      f(i);
    }
  };
  churn(2000);  // warm up allocator caches
  const size_t before = mallinfo2().uordblks;
  churn(30000);
  const size_t after = mallinfo2().uordblks;
  EXPECT_LT(after > before ? after - before : 0, size_t{2} << 20)
      << "30,000 wrap/destroy cycles grew the heap by " << (after - before)
      << " bytes";
}

TEST(DependencyTest, TableDependencyClearedDirectly) {
  ca::CacheDependency orders_table("db.orders");
  auto total = ca::cache(Opts("table:total", {orders_table}),
                         [](int user) { return user * 10; });
  auto count =
      ca::cache(Opts("table:count", {ca::CacheDependency("db.orders")}),
                [](int user) { return user; });
  auto unrelated =
      ca::cache(Opts("table:unrelated", {ca::CacheDependency("db.users")}),
                [](int user) { return user; });
  total(1);
  total(2);
  count(1);
  unrelated(1);
  EXPECT_EQ(orders_table.id(), "db.orders");
  EXPECT_EQ(orders_table.clear(), 3);
  EXPECT_EQ(unrelated.size(), 1);
}

TEST(DependencyTest, ConcurrentClearsAndRegistrations) {
  auto base = ca::cache(Opts("concurrent:base"), [](int x) { return x; });
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        auto dependent = ca::cache(Opts("concurrent:dep" + std::to_string(t),
                                        {ca::FunctionCacheDependency(base)}),
                                   [](int x) { return x * 2; });
        if (dependent(i % 7) != (i % 7) * 2) wrong.fetch_add(1);
        base(i % 5);
      }
    });
  }
  threads.emplace_back([&] {
    while (!stop.load()) base.cache_clear();
  });
  for (int t = 0; t < 4; ++t) threads[t].join();
  stop.store(true);
  threads.back().join();
  EXPECT_EQ(wrong.load(), 0);
  // After everything settled, a clear cascades to the surviving dependent.
  auto last =
      ca::cache(Opts("concurrent:last", {ca::FunctionCacheDependency(base)}),
                [](int x) { return x; });
  last(1);
  base.cache_clear();
  EXPECT_EQ(last.size(), 0);
}

}  // namespace
