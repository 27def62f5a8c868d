// The keys a CachedFunction builds in place for scalar-only signatures are
// byte for byte the keys KeyWriter builds (the general path, and what
// partial-clear patterns are made of), in both key shapes and with the
// first parameter skipped (methods). Keys reach Redis and other processes,
// so a different byte is a silent miss everywhere, or worse, a partial
// clear that misses entries it should remove.

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "cache_alchemy/cache_alchemy.h"
#include "gtest/gtest.h"

namespace cache_alchemy {
namespace internal {

struct CachedFunctionPeer {
  // The key the call `f(args...)` looks up.
  template <typename R, typename... Args>
  static std::string Key(const CachedFunction<R(Args...)>& f,
                         const Args&... args) {
    typename CachedFunction<R(Args...)>::KeyBuffer buffer;
    return std::string(f.MakeKey(&buffer, args...));
  }
  // The same key through KeyWriter, as for arguments of any type.
  template <typename R, typename... Args>
  static std::string GeneralKey(const CachedFunction<R(Args...)>& f,
                                const Args&... args) {
    std::string key;
    KeyWriter writer(&key, f.key_format_);
    size_t index = 0;
    (f.EncodeArg(args, index++, writer), ...);
    return key;
  }
};

}  // namespace internal
namespace {

using internal::CachedFunctionPeer;

constexpr char kMemory[] = "cache_alchemy.backends.memory.MemoryCache";

enum class Small : int16_t { kLow = -300, kHigh = 12345 };

CacheOptions Opts(const std::string& name, bool strict, bool method) {
  CacheOptions o{.backend = kMemory, .name = name};
  o.strict = strict;
  o.is_method = method;
  return o;
}

// Every combination of `values` of two parameters, both shapes, with and
// without the first parameter skipped, agrees with KeyWriter.
template <typename A, typename B>
void ExpectKeysMatchKeyWriter(const std::string& name, const std::vector<A>& as,
                              const std::vector<B>& bs) {
  for (bool strict : {false, true}) {
    for (bool method : {false, true}) {
      SCOPED_TRACE(name + (strict ? " strict" : " fast") +
                   (method ? " method" : ""));
      auto f = memory_cache(
          Opts(name + (strict ? ":s" : ":f") + (method ? ":m" : ""), strict,
               method),
          [](A, B) { return 0; });
      for (const A& a : as) {
        for (const B& b : bs) {
          const std::string key = CachedFunctionPeer::Key(f, a, b);
          EXPECT_EQ(key, CachedFunctionPeer::GeneralKey(f, a, b));
          EXPECT_FALSE(key.empty());
        }
      }
    }
  }
}

template <typename T>
std::vector<T> Extremes() {
  using L = std::numeric_limits<T>;
  return {T{0},     T{1},     static_cast<T>(-1),
          L::min(), L::max(), static_cast<T>(L::max() / 3)};
}

TEST(CachedFunctionKeyTest, TwoIntsAreTheirBytes) {
  auto fast = memory_cache(Opts("key:ints", false, false),
                           [](int a, int b) { return a + b; });
  EXPECT_EQ(CachedFunctionPeer::Key(fast, 1, -2),
            std::string("\x01\0\0\0\xfe\xff\xff\xff", 8));
  auto strict = memory_cache(Opts("key:ints:strict", true, false),
                             [](int a, int b) { return a + b; });
  EXPECT_EQ(CachedFunctionPeer::Key(strict, 1, -2),
            std::string("\x04\x01\0\0\0\x04\xfe\xff\xff\xff", 10));
}

TEST(CachedFunctionKeyTest, ScalarKeysMatchKeyWriter) {
  ExpectKeysMatchKeyWriter<int, int>("key:ii", Extremes<int>(),
                                     Extremes<int>());
  ExpectKeysMatchKeyWriter<bool, int8_t>("key:bc", {false, true},
                                         Extremes<int8_t>());
  ExpectKeysMatchKeyWriter<uint16_t, char>("key:uc", Extremes<uint16_t>(),
                                           {'a', '\0', '\xff'});
  ExpectKeysMatchKeyWriter<double, float>(
      "key:df",
      {0.0, -0.0, 1.5, -2.25e300, std::numeric_limits<double>::infinity(),
       std::numeric_limits<double>::quiet_NaN()},
      {0.0f, -0.0f, 3.5f, std::numeric_limits<float>::denorm_min()});
  ExpectKeysMatchKeyWriter<Small, uint64_t>(
      "key:eu", {Small::kLow, Small::kHigh}, Extremes<uint64_t>());
  ExpectKeysMatchKeyWriter<int64_t, bool>("key:lb", Extremes<int64_t>(),
                                          {false, true});
  // Wider than one 16-byte word when strict (18 bytes): the other path.
  ExpectKeysMatchKeyWriter<int64_t, int64_t>("key:ll", Extremes<int64_t>(),
                                             Extremes<int64_t>());
}

// The keys behave as keys: equal arguments hit, different ones miss, and a
// partial clear by one argument (a pattern KeyWriter encodes) removes
// exactly the entries with that argument.
TEST(CachedFunctionKeyTest, PackedStrictKeysClearByArgument) {
  int calls = 0;
  auto f = memory_cache(Opts("key:clear", true, false), [&](int16_t a, int b) {
    ++calls;
    return a * 1000 + b;
  });
  for (int16_t a : {-1, 0, 7}) {
    for (int b : {-1, 1, 1 << 20}) EXPECT_EQ(f(a, b), a * 1000 + b);
  }
  EXPECT_EQ(calls, 9);
  EXPECT_EQ(f(int16_t{-1}, -1), -1001);
  EXPECT_EQ(calls, 9);
  EXPECT_EQ(f.cache_clear(int16_t{-1}, AnyPattern{}), 3);
  EXPECT_EQ(f.cache_clear(AnyPattern{}, 1 << 20), 2);
  EXPECT_EQ(f(int16_t{0}, -1), -1);
  EXPECT_EQ(calls, 9);
  EXPECT_EQ(f(int16_t{-1}, 1), -999);
  EXPECT_EQ(calls, 10);
}

}  // namespace
}  // namespace cache_alchemy
