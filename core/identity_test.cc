// Identity and type safety (CONTRACT.md section 1): no store is ever shared
// between different argument or result types, wrappers without an explicit
// name never share entries, and keys are deterministic.

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#include "cache_alchemy/cache_alchemy.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ca = cache_alchemy;

namespace {

constexpr char kMemory[] = "cache_alchemy.backends.memory.MemoryCache";

// One call site of ca::cache for every instantiation: every wrapper made here
// gets the same default name.
template <typename R>
auto WrapAtOneSite(R (*fn)(int)) {
  return ca::cache({.backend = kMemory}, fn);
}
int Seven(int) { return 7; }
float NinePointEight(int) { return 9.8f; }

TEST(IdentityTest, OneCallSiteDifferentResultTypesNeverShare) {
  auto as_int = WrapAtOneSite(&Seven);
  auto as_float = WrapAtOneSite(&NinePointEight);
  EXPECT_EQ(as_int(1), 7);
  EXPECT_EQ(as_float(1), 9.8f);  // not the int 7 read as a float
  EXPECT_EQ(as_int(1), 7);
}

// A factory returning a wrapped closure: one call site, one signature, many
// functions.
auto MakeAdder(int n) {
  return ca::cache({.backend = kMemory}, [n](int x) { return x + n; });
}

TEST(IdentityTest, FactoryWrappersWithoutANameNeverShare) {
  auto add1 = MakeAdder(1);
  auto add100 = MakeAdder(100);
  EXPECT_EQ(add1(1), 2);
  EXPECT_EQ(add100(1), 101);
  EXPECT_NE(add1.name(), add100.name());
  // A copy is the same function: it shares.
  auto copy = add1;
  EXPECT_EQ(copy(1), 2);
  EXPECT_EQ(add1.hits(), 1);
}

TEST(IdentityTest, SameExplicitNameDifferentResultTypesNeverShare) {
  auto as_int =
      ca::cache({.backend = kMemory, .name = "typed"}, [](int x) { return x; });
  auto as_float = ca::cache({.backend = kMemory, .name = "typed"},
                            [](int x) { return static_cast<float>(x) + 0.5f; });
  EXPECT_EQ(as_int(7), 7);
  EXPECT_EQ(as_float(7), 7.5f);
  EXPECT_EQ(as_int(7), 7);
  EXPECT_EQ(as_int.hits(), 1);
}

TEST(IdentityTest, SameExplicitNameDifferentArgumentTypesNeverShare) {
  // int 7 and unsigned 7 have the same bytes.
  auto by_int = ca::cache({.backend = kMemory, .name = "args"},
                          [](int) { return std::string("int"); });
  auto by_unsigned =
      ca::cache({.backend = kMemory, .name = "args"},
                [](unsigned) { return std::string("unsigned"); });
  EXPECT_EQ(by_int(7), "int");
  EXPECT_EQ(by_unsigned(7u), "unsigned");
}

TEST(IdentityTest, SameSignatureAndNameShares) {
  int calls = 0;
  auto a = ca::cache({.backend = kMemory, .name = "shared-by-name"},
                     [&calls](int x) { return ++calls, x; });
  auto b = ca::cache({.backend = kMemory, .name = "shared-by-name"},
                     [&calls](int x) { return ++calls, x; });
  a(1);
  b(1);
  EXPECT_EQ(calls, 1);
  // Parameters by value or by const reference key alike.
  auto c = ca::cache({.backend = kMemory, .name = "shared-by-name"},
                     [&calls](const int& x) { return ++calls, x; });
  c(1);
  EXPECT_EQ(calls, 1);
}

TEST(IdentityTest, StrictAndFastKeysOfOneNameNeverShare) {
  // The fast key of "\x01" "a" and the strict key of "a" are the same bytes.
  auto fast = ca::cache({.backend = kMemory, .name = "mixed"},
                        [](std::string s) { return "fast:" + s; });
  auto strict = ca::cache({.strict = true, .backend = kMemory, .name = "mixed"},
                          [](std::string s) { return "strict:" + s; });
  EXPECT_EQ(strict("a"), "strict:a");
  const std::string tricky(
      "\x01"
      "a",
      2);
  EXPECT_EQ(fast(tricky), "fast:" + tricky);
}

// Fills the stack below the caller with `byte`, as unrelated calls would.
__attribute__((noinline)) void DirtyStack(int byte) {
  volatile char junk[4096];
  for (char& c : const_cast<char(&)[4096]>(junk)) c = static_cast<char>(byte);
}

TEST(IdentityTest, LongDoubleKeysIgnorePaddingBytes) {
  // Computed at run time, so the store writes the 10 bytes of an x87 value
  // and leaves the 6 padding bytes as they were.
  volatile int three = 3;
  long double a, b;
  std::memset(&a, 0xAA, sizeof(a));
  std::memset(&b, 0x55, sizeof(b));
  a = static_cast<long double>(three) / 2;
  b = static_cast<long double>(three) / 2;
  ASSERT_NE(std::memcmp(&a, &b, sizeof(a)), 0) << "padding did not differ";
  std::string ka, kb;
  DirtyStack(0xAA);
  ca::EncodeKeyPart(a, &ka);
  DirtyStack(0x55);
  ca::EncodeKeyPart(b, &kb);
  EXPECT_EQ(ka, kb);
  // Through a cached function: equal arguments are one key.
  int calls = 0;
  auto f = ca::cache({.backend = kMemory, .name = "long-double"},
                     [&calls](long double x) { return ++calls, x * 2; });
  DirtyStack(0xAA);
  EXPECT_EQ(f(a), 3.0L);
  DirtyStack(0x55);
  EXPECT_EQ(f(b), 3.0L);
  EXPECT_EQ(calls, 1);
  // Distinct values stay distinct keys.
  EXPECT_EQ(f(1.5L + 1e-18L), (1.5L + 1e-18L) * 2);
  EXPECT_EQ(calls, 2);
}

// Found reviewing the key encoder: -0.0 was keyed as 0.0 and every NaN as
// one NaN, so a function that tells them apart got the other's result back
// (1/x cached at 0.0 answered +inf for -0.0; copysign(1, x) cached at NaN
// answered 1 for -NaN). Arguments are keyed by what the function can see:
// a float's or double's bits, in both key formats.
TEST(IdentityTest, FloatingArgumentsTheFunctionCanTellApartNeverShare) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double payload = std::bit_cast<double>(
      std::bit_cast<uint64_t>(nan) | uint64_t{1});  // another quiet NaN
  for (bool strict : {false, true}) {
    SCOPED_TRACE(strict ? "strict" : "fast");
    auto inverse = ca::cache({.strict = strict, .backend = kMemory},
                             [](double x) { return 1 / x; });
    EXPECT_EQ(inverse(0.0), std::numeric_limits<double>::infinity());
    EXPECT_EQ(inverse(-0.0), -std::numeric_limits<double>::infinity());
    EXPECT_EQ(inverse(0.0), std::numeric_limits<double>::infinity());
    auto sign = ca::cache({.strict = strict, .backend = kMemory},
                          [](double x) { return std::copysign(1.0, x); });
    EXPECT_EQ(sign(nan), 1.0);
    EXPECT_EQ(sign(-nan), -1.0);
    auto bits = ca::cache({.strict = strict, .backend = kMemory},
                          [](double x) { return std::bit_cast<uint64_t>(x); });
    EXPECT_EQ(bits(nan), std::bit_cast<uint64_t>(nan));
    EXPECT_EQ(bits(payload), std::bit_cast<uint64_t>(payload));
    auto inverse_f = ca::cache({.strict = strict, .backend = kMemory},
                               [](float x) { return 1 / x; });
    EXPECT_EQ(inverse_f(0.0f), std::numeric_limits<float>::infinity());
    EXPECT_EQ(inverse_f(-0.0f), -std::numeric_limits<float>::infinity());
    auto inverse_l = ca::cache({.strict = strict, .backend = kMemory},
                               [](long double x) { return 1 / x; });
    EXPECT_EQ(inverse_l(0.0L), std::numeric_limits<long double>::infinity());
    EXPECT_EQ(inverse_l(-0.0L), -std::numeric_limits<long double>::infinity());
    auto sign_l = ca::cache({.strict = strict, .backend = kMemory},
                            [](long double x) { return std::signbit(x); });
    EXPECT_FALSE(sign_l(std::numeric_limits<long double>::quiet_NaN()));
    EXPECT_TRUE(sign_l(-std::numeric_limits<long double>::quiet_NaN()));
  }
}

}  // namespace
