// Misuses of ca::cache that a user is likely to write fail to compile with a
// message that says what to do, and only the message that applies: a generic
// lambda, a void, reference or move-only result, a first parameter without a
// key encoding where nothing can make it a method's object, and a later one
// (where is_method would not help, so the message does not suggest it).
// Each misuse sits in one snippet (g++ reports every failed static_assert of
// a file, so one compile checks them all); the correct uses next to them
// must compile.

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/compile_snippet.h"

namespace {

using ::cache_alchemy::testing::CompileSnippet;
using ::testing::HasSubstr;

constexpr char kHeader[] = R"(
#include <memory>
#include <string>
#include <vector>
#include "core/cached_function.h"
namespace ca = cache_alchemy;
struct Db { int handle = 0; };  // no key encoding
)";

constexpr char kMisuses[] = R"(
void GenericLambda() { ca::cache({}, [](auto x) { return x; }); }
void VoidResult() { ca::memory_cache([](int) {}); }
void MoveOnlyResult() {
  ca::memory_cache([](int n) { return std::make_unique<int>(n); });
}
int g_value = 0;
void ReferenceResult() {
  ca::memory_cache([](int) -> const int& { return g_value; });
}
void FirstParameter() { ca::memory_cache([](const Db&, int n) { return n; }); }
void LaterParameter() {
  ca::method_memory_cache([](const Db&, Db) { return 1; });
}
void NestedInLaterParameter() {
  ca::method_memory_cache([](const Db&, std::vector<Db>) { return 1; });
}
)";

constexpr char kCorrectUses[] = R"(
void Uses() {
  ca::cache({}, [](int x) { return x; });
  ca::memory_cache([](int n) { return std::make_shared<const int>(n); });
  ca::method_memory_cache([](const Db&, int n) { return n; });
  // is_method set in the options: checked when wrapping, not compiling.
  ca::cache({.is_method = true}, [](const Db&, int n) { return n; });
  ca::memory_cache([](std::vector<std::string> v) { return v.size(); });
}
)";

size_t Count(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos;
       at = text.find(part, at + 1)) {
    ++n;
  }
  return n;
}

TEST(CachedFunctionStaticAssertTest, EachMisuseSaysWhatToDo) {
  std::string output;
  ASSERT_NE(CompileSnippet(std::string(kHeader) + kMisuses, &output, "misuses"),
            0);
  EXPECT_THAT(output, HasSubstr("cannot name this callable's signature"));
  EXPECT_THAT(output, HasSubstr("returns void, so there is nothing to cache"));
  EXPECT_THAT(output, HasSubstr("the result type is not copyable"));
  EXPECT_THAT(output, HasSubstr("returns a reference"));
  EXPECT_THAT(
      output,
      HasSubstr("the first parameter's type has no cache-key encoding"));
  EXPECT_THAT(output, HasSubstr("a parameter after the first has a type with "
                                "no cache-key encoding"));
  EXPECT_THAT(output, HasSubstr("this type has no cache-key encoding"));
  // is_method is suggested once: for the first parameter, the only place
  // where it applies.
  EXPECT_EQ(Count(output, "is_method"), 1u) << output;
  // One message per misuse, not a cascade of template errors after each.
  EXPECT_LE(Count(output, "error:"), 10u) << output;
}

constexpr char kAsyncMisuses[] = R"(
#include <future>
void FutureOfVoid() {
  ca::memory_cache([](int) { return std::async([] {}); });
}
void FutureOfMoveOnly() {
  ca::memory_cache([](int) {
    std::promise<std::unique_ptr<int>> p;
    return p.get_future();
  });
}
void UnlessWithoutAFixedSignature() {
  ca::CacheOptions o{.unless = [](const auto& v) { return !v; }};
}
)";

constexpr char kAsyncCorrectUses[] = R"(
#include <future>
void Uses() {
  auto f = ca::memory_cache([](int n) {
    return std::async(std::launch::deferred, [n] { return n; });
  });
  auto g = ca::memory_cache([](int n) {
    std::promise<std::string> p;
    p.set_value(std::to_string(n));
    return p.get_future().share();
  });
  ca::CacheOptions o{.unless = [](const std::string& s) { return s.empty(); }};
}
)";

TEST(CachedFunctionStaticAssertTest, AsyncMisusesSayWhatToDo) {
  std::string output;
  ASSERT_NE(CompileSnippet(std::string(kHeader) + kAsyncMisuses, &output,
                           "async_misuses"),
            0);
  EXPECT_EQ(Count(output,
                  "an async function's future must carry a copyable "
                  "value"),
            2u)
      << output;
  EXPECT_THAT(output, HasSubstr("`unless` needs a callable with one fixed "
                                "signature"));
  EXPECT_LE(Count(output, "error:"), 4u) << output;
  std::string correct;
  EXPECT_EQ(CompileSnippet(std::string(kHeader) + kAsyncCorrectUses, &correct,
                           "async_correct"),
            0)
      << correct;
}

TEST(CachedFunctionStaticAssertTest, TheCorrectUsesCompile) {
  std::string output;
  EXPECT_EQ(
      CompileSnippet(std::string(kHeader) + kCorrectUses, &output, "correct"),
      0)
      << output;
}

}  // namespace
