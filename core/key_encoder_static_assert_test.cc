// An argument type without a key encoding must fail to compile with a
// message that says what to add. Compiles two snippets with g++ (the same
// compiler as the build): one without an EncodeCacheKey overload, which must
// fail with the message, and the same with the overload, which must compile.

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/compile_snippet.h"

namespace {

using ::testing::HasSubstr;

int Compile(const std::string& source, std::string* output) {
  return ::cache_alchemy::testing::CompileSnippet(source, output);
}

constexpr char kSnippet[] = R"(
#include <string>
#include "core/key_encoder.h"
namespace shop { struct Sku { int id; }; OVERLOAD }
void Key(const shop::Sku& sku) {
  std::string key;
  cache_alchemy::KeyWriter(&key).Add(sku);
}
)";

std::string Snippet(const std::string& overload) {
  std::string s = kSnippet;
  s.replace(s.find("OVERLOAD"), 8, overload);
  return s;
}

TEST(KeyEncoderStaticAssertTest, UnsupportedTypeSaysWhatToAdd) {
  std::string output;
  EXPECT_NE(Compile(Snippet(""), &output), 0);
  EXPECT_THAT(output, HasSubstr("has no cache-key encoding"));
  EXPECT_THAT(output, HasSubstr("EncodeCacheKey(cache_alchemy::KeyWriter& w"));
}

TEST(KeyEncoderStaticAssertTest, TheSameTypeWithAnOverloadCompiles) {
  std::string output;
  EXPECT_EQ(Compile(Snippet("void EncodeCacheKey(cache_alchemy::KeyWriter& w, "
                            "const Sku& s) { w.Add(s.id); }"),
                    &output),
            0)
      << output;
}

}  // namespace
