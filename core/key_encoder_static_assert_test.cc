// An argument type without a key encoding must fail to compile with a
// message that says what to add. Compiles two snippets with g++ (the same
// compiler as the build): one without an EncodeCacheKey overload, which must
// fail with the message, and the same with the overload, which must compile.

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/runfiles.h"

namespace {

using ::testing::HasSubstr;

using ::cache_alchemy::testing::TestEnv;

// Compiles `source` with the repository's headers (from runfiles) on the
// include path; returns g++'s exit status and fills `*output`.
int Compile(const std::string& source, std::string* output) {
  const std::string dir = TestEnv("TEST_TMPDIR");
  const std::string file = dir + "/snippet.cc";
  const std::string log = dir + "/snippet.log";
  std::ofstream(file) << source;
  const std::string include = ::cache_alchemy::testing::Runfile("");
  const std::string command = "/usr/bin/g++ -std=c++20 -fsyntax-only -I" +
                              include + " " + file + " >" + log + " 2>&1";
  const int status = std::system(command.c_str());
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  *output = text.str();
  return status;
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
