#include "core/key_encoder.h"

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
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

template <typename... T>
std::string Text(const T&... values) {
  std::string out;
  KeyWriter(&out, KeyFormat::kText).Add(values...);
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
  EXPECT_EQ(Key(1.0).size(), sizeof(double));
  EXPECT_NE(Key(1, 23), Key(12, 3));
  EXPECT_NE(Key(true), Key(false));
  EXPECT_EQ(Key(Color::kGreen), Key(1));
  EXPECT_NE(Key(Color::kGreen), Key(Color::kRed));
}

// Keys are what the function can see: -0.0 is not 0.0 (1/x tells them
// apart), nor one NaN another (copysign, the bits).
TEST(KeyEncoderTest, FloatingPointKeysAreTheBits) {
  EXPECT_NE(Key(0.0), Key(-0.0));
  EXPECT_NE(Key(0.0f), Key(-0.0f));
  EXPECT_NE(Key(std::nan("1")), Key(std::nan("2")));
  EXPECT_NE(Key(std::nan("")), Key(-std::nan("")));
  EXPECT_EQ(Key(std::nan("")), Key(std::nan("")));
  EXPECT_NE(Key(1.5), Key(2.5));
  EXPECT_NE(Key(0.0L), Key(-0.0L));
  EXPECT_NE(Key(std::nanl("")), Key(-std::nanl("")));
  EXPECT_EQ(Key(std::nanl("")), Key(std::nanl("")));
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

TEST(TextKeyTest, ReadsAsTheArguments) {
  EXPECT_EQ(Text(2), "2");
  EXPECT_EQ(Text(-17, 3u), "-17,3");
  EXPECT_EQ(Text(true, false), "true,false");
  EXPECT_EQ(Text(1.5, -0.0, 0.1), "1.5,-0,0.1");
  EXPECT_EQ(Text(std::numeric_limits<double>::quiet_NaN()), "nan");
  EXPECT_EQ(Text(Color::kGreen), "1");
  EXPECT_EQ(Text(std::string("bob")), "\"bob\"");
  EXPECT_EQ(Text(std::optional<int>(), std::optional<int>(5)), "null,5");
  EXPECT_EQ(Text(std::vector<int>{1, 2}), "[1,2]");
  EXPECT_EQ(Text(std::set<std::string>{"b", "a"}), "[\"a\",\"b\"]");
  EXPECT_EQ(Text(std::make_pair(1, std::string("a"))), "(1,\"a\")");
  EXPECT_EQ(Text(std::map<std::string, int>{{"k", 1}, {"l", 2}}),
            "{\"k\":1,\"l\":2}");
  EXPECT_EQ(Text(user::Point{1, 2, "p"}), "(1,2,\"p\")");
  EXPECT_EQ(Text(std::vector<std::vector<int>>{{1}, {}}), "[[1],[]]");
  const char* null = nullptr;
  EXPECT_EQ(Text(null, "x"), "null,\"x\"");
}

TEST(TextKeyTest, IsPrintableAndSafeInSingleQuotes) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  const std::string key = Text(all);
  for (char c : key) {
    const auto u = static_cast<unsigned char>(c);
    EXPECT_TRUE(u >= 0x20 && u < 0x7f) << "byte " << int(u);
    EXPECT_NE(c, '\'');
  }
  EXPECT_EQ(Text(std::string("a\"b\\c'd\n\xff|e")),
            "\"a\\\"b\\\\c\\x27d\\x0a\\xff|e\"");
}

TEST(TextKeyTest, NeverCollides) {
  using S = std::string;
  EXPECT_NE(Text(S("ab"), S("c")), Text(S("a"), S("bc")));
  EXPECT_NE(Text(S("a,\"b")), Text(S("a"), S("b")));
  EXPECT_NE(Text(std::vector<S>{"a", "b"}, std::vector<S>{}),
            Text(std::vector<S>{"a"}, std::vector<S>{"b"}));
  // An engaged optional around a value that may be null is marked.
  using OO = std::optional<std::optional<int>>;
  EXPECT_NE(Text(OO()), Text(OO(std::optional<int>())));
  EXPECT_EQ(Text(OO(std::optional<int>(3))), "?3");
  EXPECT_NE(Text(user::Point{1, 2, "ab"}, S("c")),
            Text(user::Point{1, 2, "a"}, S("bc")));
  // Floating point: every value its own text, the sign of a zero or a NaN
  // and a NaN's payload included.
  EXPECT_NE(Text(0.0), Text(-0.0));
  EXPECT_EQ(Text(-0.0), "-0");
  EXPECT_EQ(Text(std::numeric_limits<double>::quiet_NaN()), "nan");
  EXPECT_EQ(Text(-std::numeric_limits<double>::quiet_NaN()), "-nan");
  EXPECT_EQ(Text(std::bit_cast<double>(uint64_t{0x7ff8000000000001})),
            "nan:0x7ff8000000000001");
  EXPECT_EQ(Text(std::bit_cast<float>(uint32_t{0xffc00002})),
            "-nan:0xffc00002");
  EXPECT_EQ(Text(-std::numeric_limits<float>::quiet_NaN()), "-nan");
  EXPECT_NE(Text(0.0L), Text(-0.0L));
  EXPECT_NE(Text(0.1), Text(0.1 + 1e-17));
  EXPECT_NE(Text(1.5L), Text(1.5L + 1e-18L));
}

TEST(StrictKeyTest, TextSegmentsSplitOutsideQuotes) {
  std::string key;
  AppendStrictSegment(Text(std::string("a|b")), &key, KeyFormat::kText);
  AppendStrictSegment(Text(7), &key, KeyFormat::kText);
  AppendStrictSegment(Text(std::string("q\"|")), &key, KeyFormat::kText);
  EXPECT_EQ(key, "\"a|b\"|7|\"q\\\"|\"");
  std::vector<std::string_view> segments;
  ASSERT_TRUE(SplitStrictKey(key, &segments, KeyFormat::kText));
  ASSERT_EQ(segments.size(), 3u);
  EXPECT_EQ(segments[0], "\"a|b\"");
  EXPECT_EQ(segments[1], "7");
  EXPECT_EQ(segments[2], "\"q\\\"|\"");
  KeyPattern seven{{std::nullopt, Text(7), std::nullopt}};
  EXPECT_TRUE(StrictKeyMatches(key, seven, KeyFormat::kText));
  KeyPattern eight{{std::nullopt, Text(8), std::nullopt}};
  EXPECT_FALSE(StrictKeyMatches(key, eight, KeyFormat::kText));
  EXPECT_TRUE(SplitStrictKey("", &segments, KeyFormat::kText));
  EXPECT_TRUE(segments.empty());
  for (const char* bad : {"\"open", "a||b", "|a", "a|"}) {
    EXPECT_FALSE(SplitStrictKey(bad, &segments, KeyFormat::kText)) << bad;
  }
}

TEST(KeyEncoderTest, LongDoubleIsExactAndSelfDelimiting) {
  EXPECT_NE(Key(0.0L), Key(-0.0L));
  EXPECT_NE(Key(1.5L), Key(1.5L + 1e-18L));
  EXPECT_NE(Key(1.5L, 2.0L), Key(1.5L + 1e-18L, 2.0L));
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
