#include "core/key_encoder.h"

#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "gtest/gtest.h"

namespace user {
struct Point {
  int x;
  int y;
  std::string label;
};
void EncodeCacheKey(cache_alchemy::KeyWriter& w, const Point& p) {
  w.Add(p.x, p.y, p.label);
}
struct NoEncoding {};
}  // namespace user

namespace cache_alchemy {
namespace {

template <typename... T>
std::string Key(const T&... values) {
  std::string out;
  KeyWriter(&out).Add(values...);
  return out;
}

enum class Color { kRed, kGreen };

TEST(KeyEncoderTest, StringsNeverCollideAcrossBoundaries) {
  EXPECT_NE(Key(std::string("ab"), std::string("c")),
            Key(std::string("a"), std::string("bc")));
  EXPECT_NE(Key(std::string(""), std::string("a")),
            Key(std::string("a"), std::string("")));
  // A length prefix that looks like data must not alias either.
  EXPECT_NE(Key(std::string("\x01", 1), std::string("a")),
            Key(std::string("\x01"
                            "a",
                            2),
                std::string("")));
}

TEST(KeyEncoderTest, StringLikeTypesAgree) {
  const std::string s = "hello";
  EXPECT_EQ(Key(s), Key(std::string_view("hello")));
  const char* p = "hello";
  const char* null = nullptr;
  EXPECT_NE(Key(p), Key(null));
  const char* empty = "";
  EXPECT_NE(Key(empty), Key(null));
}

TEST(KeyEncoderTest, ScalarsAreFixedWidthAndDistinct) {
  EXPECT_EQ(Key(1).size(), sizeof(int));
  EXPECT_NE(Key(1, 23), Key(12, 3));
  EXPECT_NE(Key(true), Key(false));
  EXPECT_EQ(Key(Color::kGreen), Key(1));
  EXPECT_NE(Key(Color::kGreen), Key(Color::kRed));
}

TEST(KeyEncoderTest, FloatingPointNormalizesZeroAndNan) {
  EXPECT_EQ(Key(0.0), Key(-0.0));
  EXPECT_EQ(Key(std::nan("1")), Key(std::nan("2")));
  EXPECT_NE(Key(1.5), Key(2.5));
}

TEST(KeyEncoderTest, OptionalTagsPresence) {
  EXPECT_NE(Key(std::optional<int>()), Key(std::optional<int>(0)));
  EXPECT_NE(Key(std::optional<std::string>(""), std::optional<std::string>()),
            Key(std::optional<std::string>(), std::optional<std::string>("")));
}

TEST(KeyEncoderTest, ContainersAreLengthPrefixed) {
  using V = std::vector<std::string>;
  EXPECT_NE(Key(V{"a", "b"}, V{}), Key(V{"a"}, V{"b"}));
  EXPECT_NE(Key(std::vector<int>{1, 2}), Key(std::vector<int>{1, 2, 0}));
  EXPECT_EQ(Key(std::vector<bool>{true, false}),
            Key(std::vector<bool>{true, false}));
  EXPECT_NE(Key(std::vector<bool>{true}), Key(std::vector<bool>{false}));
  EXPECT_NE(Key(std::map<std::string, int>{{"a", 1}}),
            Key(std::map<std::string, int>{{"a", 2}}));
  EXPECT_EQ(Key(std::set<int>{3, 1, 2}), Key(std::set<int>{1, 2, 3}));
  EXPECT_NE(Key(std::array<int, 2>{1, 2}), Key(std::array<int, 2>{2, 1}));
}

TEST(KeyEncoderTest, TuplesAndPairsEncodeEachElement) {
  EXPECT_EQ(Key(std::make_pair(1, std::string("x"))),
            Key(std::make_tuple(1, std::string("x"))));
  EXPECT_NE(Key(std::make_tuple(std::string("ab"), std::string("c"))),
            Key(std::make_tuple(std::string("a"), std::string("bc"))));
}

TEST(KeyEncoderTest, UserTypesUseTheirOverload) {
  EXPECT_EQ(Key(user::Point{1, 2, "p"}), Key(1, 2, std::string("p")));
  EXPECT_NE(Key(user::Point{1, 2, "ab"}, std::string("c")),
            Key(user::Point{1, 2, "a"}, std::string("bc")));
}

TEST(KeyEncoderTest, EncodabilityTrait) {
  EXPECT_TRUE(IsKeyEncodable<int>::value);
  EXPECT_TRUE(IsKeyEncodable<const std::string&>::value);
  EXPECT_TRUE((IsKeyEncodable<std::vector<std::map<int, std::string>>>::value));
  EXPECT_TRUE(IsKeyEncodable<user::Point>::value);
  EXPECT_FALSE(IsKeyEncodable<user::NoEncoding>::value);
  EXPECT_FALSE(IsKeyEncodable<int*>::value);
}

TEST(StrictKeyTest, SplitsAndMatchesSegmentsLiterally) {
  std::string key;
  AppendStrictSegment(Key(std::string("world.*")), &key);
  AppendStrictSegment(Key(7), &key);
  std::vector<std::string_view> segments;
  ASSERT_TRUE(SplitStrictKey(key, &segments));
  ASSERT_EQ(segments.size(), 2u);

  KeyPattern exact{{Key(std::string("world.*")), std::nullopt}};
  KeyPattern regex_like{{Key(std::string("world.x")), std::nullopt}};
  KeyPattern other_int{{std::nullopt, Key(8)}};
  KeyPattern too_short{{std::nullopt}};
  EXPECT_TRUE(StrictKeyMatches(key, exact));
  EXPECT_FALSE(StrictKeyMatches(key, regex_like));
  EXPECT_FALSE(StrictKeyMatches(key, other_int));
  EXPECT_FALSE(StrictKeyMatches(key, too_short));
  EXPECT_FALSE(StrictKeyMatches("\xff", exact));  // malformed: no match
}

TEST(StrictKeyTest, VarintRoundTrips) {
  for (uint64_t n : {0ull, 1ull, 127ull, 128ull, 300ull, 1ull << 40}) {
    std::string buf;
    AppendVarint(n, &buf);
    std::string_view in = buf;
    uint64_t back = 0;
    ASSERT_TRUE(ReadVarint(&in, &back));
    EXPECT_EQ(back, n);
    EXPECT_TRUE(in.empty());
  }
}

}  // namespace
}  // namespace cache_alchemy
