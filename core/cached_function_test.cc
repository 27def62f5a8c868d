// The wrapper's contract (CONTRACT.md sections 1 and 2) through the real
// MemoryCache plugin, loaded from disk by its dotted name.

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "cache_alchemy/cache_alchemy.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/fake_clock.h"

namespace ca = cache_alchemy;

namespace {

using ::testing::HasSubstr;

constexpr char kMemory[] = "cache_alchemy.backends.memory.MemoryCache";

// Counts the calls of a function body.
struct Counter {
  int calls = 0;
};

ca::CacheOptions Opts(const std::string& name) {
  return ca::CacheOptions{.backend = kMemory, .name = name};
}

TEST(CachedFunctionTest, HitsAndMisses) {
  Counter c;
  auto add = ca::cache(Opts("hits"), [&](int a, int b) {
    ++c.calls;
    return a + b;
  });
  EXPECT_EQ(add(1, 2), 3);
  EXPECT_EQ(add(1, 2), 3);
  EXPECT_EQ(add(2, 1), 3);
  EXPECT_EQ(c.calls, 2);
  EXPECT_EQ(add.hits(), 1);
  EXPECT_EQ(add.misses(), 2);
  EXPECT_EQ(add.size(), 2);
  EXPECT_EQ(add.backend(), kMemory);
}

TEST(CachedFunctionTest, StringArgumentsDoNotCollide) {
  Counter c;
  auto cat = ca::cache(Opts("collide"), [&](std::string a, std::string b) {
    ++c.calls;
    return a + "|" + b;
  });
  EXPECT_EQ(cat("ab", "c"), "ab|c");
  EXPECT_EQ(cat("a", "bc"), "a|bc");
  EXPECT_EQ(c.calls, 2);
}

TEST(CachedFunctionTest, LimitEvictsLeastRecentlyUsed) {
  Counter c;
  auto opts = Opts("lru");
  opts.limit = 2;
  auto f = ca::cache(opts, [&](int x) {
    ++c.calls;
    return x * 10;
  });
  f(1);
  f(2);
  f(1);  // 1 is now the most recently used
  f(3);  // evicts 2
  EXPECT_EQ(f.size(), 2);
  EXPECT_EQ(c.calls, 3);
  f(1);
  EXPECT_EQ(c.calls, 3);  // still cached
  f(2);
  EXPECT_EQ(c.calls, 4);  // was evicted
}

TEST(CachedFunctionTest, EvictionIsS3FifoByDefaultLruOnRequest) {
  // limit 3: 1 2 3 stored, 1 hit, then 4 and 5 stored.
  auto run = [](const std::string& eviction, std::vector<int>* recomputed) {
    int calls = 0;
    auto opts = Opts("eviction-" + (eviction.empty() ? "default" : eviction));
    opts.limit = 3;
    opts.eviction = eviction;
    auto f = ca::cache(opts, [&calls](int x) { return ++calls, x; });
    for (int x : {1, 2, 3, 1, 4, 5}) f(x);
    for (int x : {1, 2, 3, 4, 5}) {
      const int before = calls;
      f(x);
      if (calls != before) recomputed->push_back(x);
    }
  };
  std::vector<int> lru, s3fifo;
  run("lru", &lru);
  run("", &s3fifo);
  // LRU: the hit moved 1 up, so 4 evicted 2 and 5 evicted 3; reading back,
  // 1 hits and each miss evicts the least recently used (FIFO would have
  // evicted 1 first and recomputed all five).
  EXPECT_EQ(lru, (std::vector<int>{2, 3, 4, 5}));
  // S3-FIFO keeps the entry that was hit (1) through all of it.
  EXPECT_EQ(std::count(s3fifo.begin(), s3fifo.end(), 1), 0);
  try {
    auto opts = Opts("eviction-bogus");
    opts.eviction = "mru";
    ca::cache(opts, [](int x) { return x; });
    ADD_FAILURE() << "an unknown eviction policy was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("\"mru\""));
    EXPECT_THAT(e.what(), HasSubstr("\"lru\""));
  }
}

TEST(CachedFunctionTest, UnlimitedKeepsEverything) {
  auto opts = Opts("unlimited");
  opts.limit = -1;
  auto f = ca::cache(opts, [](int x) { return x; });
  for (int i = 0; i < 3000; ++i) f(i);
  EXPECT_EQ(f.size(), 3000);
}

TEST(CachedFunctionTest, ZeroLimitOrExpireIsPassThrough) {
  for (auto [limit, expire] : {std::pair<int64_t, int64_t>{0, 10}, {10, 0}}) {
    Counter c;
    auto opts = Opts("passthrough");
    opts.limit = limit;
    opts.expire = expire;
    auto f = ca::cache(opts, [&](int x) {
      ++c.calls;
      return x;
    });
    f(1);
    f(1);
    EXPECT_EQ(c.calls, 2);
    EXPECT_EQ(f.hits(), 0);
    EXPECT_EQ(f.misses(), 2);
    EXPECT_EQ(f.size(), 0);
    EXPECT_EQ(f.cache_clear(), 0);
  }
}

TEST(CachedFunctionTest, PassThroughNeverResolvesTheBackend) {
  auto f = ca::cache({.limit = 0, .backend = "no.such.Backend"},
                     [](int x) { return x; });
  EXPECT_EQ(f(4), 4);
}

TEST(CachedFunctionTest, RejectsSettingsBelowMinusOne) {
  auto fn = [](int x) { return x; };
  auto opts = Opts("bad");
  opts.limit = -2;
  try {
    ca::cache(opts, fn);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("limit is -2"));
  }
  opts.limit = 1;
  opts.expire = -5;
  try {
    ca::cache(opts, fn);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("expire is -5"));
  }
}

TEST(CachedFunctionTest, ExpiryFollowsTheInjectedClock) {
  ca::testing::FakeClock clock;
  ca::testing::ScopedClockOverride use(&clock);
  Counter c;
  auto opts = Opts("expiry");
  opts.expire = 10;
  auto f = ca::cache(opts, [&](int x) {
    ++c.calls;
    return x;
  });
  f(1);
  clock.Advance(std::chrono::milliseconds(9999));
  f(1);
  EXPECT_EQ(c.calls, 1);
  clock.Advance(std::chrono::milliseconds(1));
  EXPECT_EQ(f.size(), 0);
  f(1);
  EXPECT_EQ(c.calls, 2);

  auto never_opts = Opts("never-expires");
  never_opts.expire = -1;
  auto g = ca::cache(never_opts, [&](int x) {
    ++c.calls;
    return x;
  });
  g(1);
  clock.Advance(std::chrono::hours(24 * 365));
  g(1);
  EXPECT_EQ(c.calls, 3);
}

TEST(CachedFunctionTest, ExceptionsReachTheCallerAndAreNotStored) {
  Counter c;
  auto f = ca::cache(Opts("throws"), [&](int x) {
    ++c.calls;
    if (c.calls == 1) throw std::runtime_error("boom");
    return x;
  });
  EXPECT_THROW(f(1), std::runtime_error);
  EXPECT_EQ(f.size(), 0);
  EXPECT_EQ(f(1), 1);
  EXPECT_EQ(f(1), 1);
  EXPECT_EQ(c.calls, 2);
}

TEST(CachedFunctionTest, IsMethodLeavesTheObjectOutOfTheKey) {
  struct Account {
    int id;
  };
  Counter c;
  auto balance = ca::method_memory_cache({.backend = kMemory, .name = "method"},
                                         [&](const Account& self, int day) {
                                           ++c.calls;
                                           return self.id * 100 + day;
                                         });
  Account a{1}, b{2};
  EXPECT_EQ(balance(a, 5), 105);
  EXPECT_EQ(balance(b, 5), 105);  // same key: the object is not keyed
  EXPECT_EQ(c.calls, 1);

  auto size = ca::property_memory_cache({.backend = kMemory, .name = "prop"},
                                        [&](const Account& self) {
                                          ++c.calls;
                                          return self.id;
                                        });
  EXPECT_EQ(size(a), 1);
  EXPECT_EQ(size(b), 1);
  EXPECT_EQ(c.calls, 2);
}

TEST(CachedFunctionTest, UnkeyableFirstParameterNeedsIsMethod) {
  struct Opaque {};
  try {
    ca::cache(Opts("opaque"), [](const Opaque&, int x) { return x; });
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("first parameter has no cache-key"));
  }
}

TEST(CachedFunctionTest, SameNameSharesDifferentNameOrPrefixDoesNot) {
  Counter c;
  auto body = [&](int x) {
    ++c.calls;
    return x;
  };
  auto f1 = ca::cache(Opts("shared"), body);
  auto f2 = ca::cache(Opts("shared"), body);
  auto other = ca::cache(Opts("not-shared"), body);
  auto tenant_opts = Opts("shared");
  tenant_opts.cache_key_prefix = "tenant-b:";
  auto tenant = ca::cache(tenant_opts, body);
  f1(1);
  f2(1);
  EXPECT_EQ(c.calls, 1);
  other(1);
  tenant(1);
  EXPECT_EQ(c.calls, 3);
}

TEST(CachedFunctionTest, DefaultNamesComeFromTheCallSite) {
  auto f = ca::cache({.backend = kMemory}, [](int x) { return x; });
  auto g = ca::cache({.backend = kMemory}, [](int x) { return x; });
  EXPECT_THAT(f.name(), HasSubstr("cached_function_test.cc:"));
  EXPECT_NE(f.name(), g.name());
}

TEST(CachedFunctionTest, FunctionPointersAndStdFunctionsWrap) {
  std::function<int(int)> square = [](int x) { return x * x; };
  auto f = ca::cache(Opts("stdfunction"), square);
  EXPECT_EQ(f(3), 9);
  int (*negate)(int) = [](int x) { return -x; };
  auto g = ca::cache(Opts("pointer"), negate);
  EXPECT_EQ(g(3), -3);
  EXPECT_EQ(g(3), -3);
  EXPECT_EQ(g.hits(), 1);
}

TEST(CachedFunctionTest, ManyArgumentTypesKeyCorrectly) {
  Counter c;
  auto f = ca::cache(
      Opts("types"),
      [&](const std::vector<std::string>& v, std::optional<int> o,
          const std::map<std::string, double>& m, std::string_view sv) {
        ++c.calls;
        return v.size() + (o ? *o : 0) + m.size() + sv.size();
      });
  EXPECT_EQ(f({"a", "b"}, 1, {{"x", 1.0}}, "hey"), 7u);
  EXPECT_EQ(f({"a", "b"}, 1, {{"x", 1.0}}, "hey"), 7u);
  EXPECT_EQ(f({"a", "b"}, std::nullopt, {{"x", 1.0}}, "hey"), 6u);
  EXPECT_EQ(c.calls, 2);
}

// Strict mode and partial clears.

auto MakeStrictGreeting(Counter& c, const std::string& name,
                        std::vector<std::string> params = {"name", "times"}) {
  return ca::cache({.strict = true,
                    .backend = kMemory,
                    .name = name,
                    .params = std::move(params)},
                   [&c](std::string who, int times) {
                     ++c.calls;
                     return who + std::to_string(times);
                   });
}

TEST(StrictTest, PartialClearByValueAnyAndName) {
  Counter c;
  auto g = MakeStrictGreeting(c, "strict-partial");
  g("world", 1);
  g("world", 2);
  g("alice", 1);
  g("alice", 2);
  EXPECT_EQ(g.cache_clear("world"), 2);  // positional; rest is any
  EXPECT_EQ(g.size(), 2);
  EXPECT_EQ(g.cache_clear(ca::any, 1), 1);
  EXPECT_EQ(g.cache_clear(ca::arg("times", 2)), 1);
  EXPECT_EQ(g.size(), 0);
  g("bob", 3);
  EXPECT_EQ(g.cache_clear(ca::arg("name", "bob"), ca::arg("times", 4)), 0);
  EXPECT_EQ(g.cache_clear(std::string("bob"), ca::arg("times", 3)), 1);
}

TEST(StrictTest, PatternValuesMatchLiterally) {
  Counter c;
  auto g = MakeStrictGreeting(c, "strict-literal");
  g("world", 1);
  g("worldwide", 1);
  EXPECT_EQ(g.cache_clear("world.*"), 0);
  EXPECT_EQ(g.cache_clear("world*"), 0);
  EXPECT_EQ(g.size(), 2);
  EXPECT_EQ(g.cache_clear("world"), 1);
  EXPECT_EQ(g.size(), 1);
}

TEST(StrictTest, StrictKeysDoNotCollide) {
  Counter c;
  auto f = ca::cache({.strict = true, .backend = kMemory, .name = "strict-c"},
                     [&](std::string a, std::string b) {
                       ++c.calls;
                       return a + b;
                     });
  f("ab", "c");
  f("a", "bc");
  EXPECT_EQ(c.calls, 2);
  EXPECT_EQ(f.cache_clear("a"), 1);
  EXPECT_EQ(f.cache_clear("ab", "c"), 1);
}

TEST(StrictTest, PositionalNamesWhenParamsAreEmpty) {
  Counter c;
  auto g = MakeStrictGreeting(c, "strict-positional", {});
  g("x", 1);
  EXPECT_EQ(g.cache_clear(ca::any, 1), 1);
  EXPECT_THROW(g.cache_clear(ca::arg("name", "x")), std::invalid_argument);
}

TEST(StrictTest, BadPatternsThrowClearErrors) {
  Counter c;
  auto g = MakeStrictGreeting(c, "strict-bad");
  try {
    g.cache_clear(ca::arg("nmae", "x"));
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("no parameter named 'nmae'"));
    EXPECT_THAT(e.what(), HasSubstr("name, times"));
  }
  EXPECT_THROW(g.cache_clear("x", 1, 2), std::invalid_argument);
  EXPECT_THROW(g.cache_clear("x", ca::arg("name", "y")), std::invalid_argument);
  try {
    g.cache_clear(ca::any, "not an int");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("parameter 'times' of type int"));
  }
}

TEST(StrictTest, PartialClearOnNonStrictIsUnsupported) {
  auto f = ca::cache(Opts("non-strict"), [](int x) { return x; });
  f(1);
  EXPECT_THROW(f.cache_clear(1), ca::UnsupportedError);
  try {
    f.cache_clear(1);
  } catch (const std::logic_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("strict"));
  }
  EXPECT_EQ(f.cache_clear(), 1);
}

TEST(StrictTest, ParamsMustMatchTheSignature) {
  auto fn = [](int a, int b) { return a + b; };
  try {
    ca::cache({.strict = true, .backend = kMemory, .params = {"a"}}, fn);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("params names 1 parameters"));
  }
  EXPECT_THROW(
      ca::cache({.strict = true, .backend = kMemory, .params = {"a", "a"}}, fn),
      std::invalid_argument);
}

TEST(StrictTest, MethodParamsMayNameTheObjectOrNot) {
  struct Self {};
  auto body = [](const Self&, int day) { return day; };
  auto with_self = ca::method_memory_cache({.strict = true,
                                            .backend = kMemory,
                                            .name = "m1",
                                            .params = {"self", "day"}},
                                           body);
  auto without_self = ca::method_memory_cache(
      {.strict = true, .backend = kMemory, .name = "m2", .params = {"day"}},
      body);
  Self s;
  with_self(s, 1);
  without_self(s, 1);
  EXPECT_EQ(with_self.cache_clear(ca::arg("day", 1)), 1);
  EXPECT_EQ(without_self.cache_clear(1), 1);
}

TEST(NamespacesTest, FlushAndListByPrefix) {
  auto opts = Opts("flush-a");
  opts.cache_key_prefix = "flush-tenant:";
  auto a = ca::cache(opts, [](int x) { return x; });
  opts.name = "flush-b";
  auto b = ca::cache(opts, [](int x) { return x; });
  auto other = ca::cache(Opts("flush-other"), [](int x) { return x; });
  a(1);
  a(2);
  b(1);
  other(1);
  EXPECT_EQ(ca::get_all_namespace(kMemory, "flush-tenant:"),
            (std::set<std::string>{"flush-a", "flush-b"}));
  EXPECT_EQ(ca::flush_cache(kMemory, "flush-tenant:"), 3);
  EXPECT_EQ(a.size(), 0);
  EXPECT_EQ(other.size(), 1);
  EXPECT_TRUE(ca::get_all_namespace(kMemory, "flush-tenant:").empty());
}

TEST(BackendTest, UnknownBackendIsReportedWhenWrapping) {
  try {
    ca::cache({.backend = "cache_alchemy.backends.nope.NopeCache"},
              [](int x) { return x; });
    FAIL();
  } catch (const ca::BackendNotFoundError& e) {
    EXPECT_THAT(e.what(), HasSubstr("cache_alchemy.backends.nope.NopeCache"));
    EXPECT_THAT(e.what(), HasSubstr("cache_alchemy.backends.nope.so"));
    EXPECT_THAT(e.what(), HasSubstr("Searched:"));
  }
  try {
    ca::cache({.backend = "cache_alchemy.backends.memory.NoSuchClass"},
              [](int x) { return x; });
    FAIL();
  } catch (const ca::BackendNotFoundError& e) {
    EXPECT_THAT(e.what(), HasSubstr("has no class 'NoSuchClass'"));
    EXPECT_THAT(e.what(), HasSubstr("MemoryCache"));
  }
}

}  // namespace
