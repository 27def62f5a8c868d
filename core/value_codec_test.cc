// ValueCodec<R>: values round-trip in every format, and a stored value that
// is hostile (too deep, lying about its lengths, holding a bool that is not
// 0/1, truncated, with trailing bytes) is a miss: Decode returns false,
// without crashing, hanging or allocating more than the value's size allows.

#include "core/value_codec.h"

#include <bit>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/value_codec_fuzz.h"
#include "gtest/gtest.h"

// The largest single allocation made while `g_tracking` is set, and how
// many there were (`g_allocations`). Allocations
// above 1 GiB are refused (std::bad_alloc) instead of made, so a test of a
// lying length prefix cannot take the machine down when it fails.
namespace {
thread_local bool g_tracking = false;
thread_local size_t g_largest = 0;
thread_local size_t g_allocations = 0;
constexpr size_t kRefuseAbove = size_t{1} << 30;
}  // namespace

void* operator new(size_t size) {
  if (g_tracking) {
    if (size > g_largest) g_largest = size;
    ++g_allocations;
    if (size > kRefuseAbove) throw std::bad_alloc();
  }
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace cache_alchemy {
namespace {

struct Point {
  int x = 0;
  int y = 0;
  bool visible = false;
  std::string label;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(x, y, visible, label);
  }
  bool operator==(const Point&) const = default;
};

enum class Colour : int16_t { kRed = 1, kBlue = 2 };

struct Empty {
  template <class Archive>
  void serialize(Archive&) {}
  bool operator==(const Empty&) const = default;
};

// Runs `Decode` with allocation tracking; returns its result.
template <typename R>
bool TrackedDecode(ValueFormat format, const std::string& bytes,
                   std::optional<R>* out, size_t* largest) {
  StoredValue stored;
  stored.bytes = bytes;
  g_largest = 0;
  g_allocations = 0;
  g_tracking = true;
  const bool ok = ValueCodec<R>::Decode(format, stored, out);
  g_tracking = false;
  *largest = g_largest;
  return ok;
}

template <typename R>
bool Decode(ValueFormat format, const std::string& bytes,
            std::optional<R>* out) {
  size_t largest = 0;
  return TrackedDecode(format, bytes, out, &largest);
}

template <typename R>
std::string Encode(ValueFormat format, R value) {
  return ValueCodec<R>::Encode(format, std::make_shared<const R>(value)).bytes;
}

template <typename R>
void ExpectRoundTrip(const R& value) {
  for (ValueFormat format : {ValueFormat::kJson, ValueFormat::kBinary}) {
    std::optional<R> out;
    ASSERT_TRUE(Decode<R>(format, Encode(format, value), &out))
        << static_cast<int>(format);
    EXPECT_TRUE(*out == value) << static_cast<int>(format);
  }
}

// Little-endian portable binary: the endianness byte, then `body`.
std::string Binary(const std::string& body) {
  return std::string(1, '\1') + body;
}

std::string U64(uint64_t n) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out;
}

TEST(ValueCodecTest, ValuesRoundTripInEveryFormat) {
  ExpectRoundTrip(81);
  ExpectRoundTrip(true);
  ExpectRoundTrip(false);
  ExpectRoundTrip(std::string("a \"quoted\" [string] {with} \\ brackets"));
  ExpectRoundTrip(std::vector<std::string>{"a", "", "ccc"});
  ExpectRoundTrip(std::map<std::string, int>{{"x", 1}, {"y", -2}});
  ExpectRoundTrip(std::optional<bool>(true));
  ExpectRoundTrip(std::optional<bool>(false));
  ExpectRoundTrip(std::optional<bool>());
  ExpectRoundTrip(Point{1, -2, true, "p"});
  ExpectRoundTrip(Colour::kBlue);
  ExpectRoundTrip(std::variant<int, std::string>("v"));
  ExpectRoundTrip(std::vector<double>{1.5, -0.25});
  ExpectRoundTrip(std::vector<bool>{true, false, true});
  ExpectRoundTrip(std::vector<Empty>());
}

TEST(ValueCodecTest, BinaryWrittenBigEndianReadsBack) {
  std::ostringstream out;
  {
    cereal::PortableBinaryOutputArchive archive(
        out, cereal::PortableBinaryOutputArchive::Options::BigEndian());
    archive(std::vector<int32_t>{1, -2, 0x01020304}, uint64_t{7});
  }
  std::optional<std::vector<int32_t>> vec;
  // The trailing uint64 makes it not a whole vector: a miss.
  EXPECT_FALSE(Decode(ValueFormat::kBinary, out.str(), &vec));
  std::ostringstream only;
  {
    cereal::PortableBinaryOutputArchive archive(
        only, cereal::PortableBinaryOutputArchive::Options::BigEndian());
    archive(std::vector<int32_t>{1, -2, 0x01020304});
  }
  ASSERT_TRUE(Decode(ValueFormat::kBinary, only.str(), &vec));
  EXPECT_EQ(*vec, (std::vector<int32_t>{1, -2, 0x01020304}));
}

TEST(ValueCodecTest, DeeplyNestedJsonIsAMiss) {
  // 200 KB of '[' overflowed the stack of rapidjson's recursive parser.
  const std::string deep = "{\"value\":" + std::string(200 * 1024, '[');
  std::optional<int> out;
  EXPECT_FALSE(Decode(ValueFormat::kJson, deep, &out));
  EXPECT_FALSE(out.has_value());
  std::optional<std::vector<int>> list;
  EXPECT_FALSE(Decode(ValueFormat::kJson,
                      std::string(200 * 1024, '{') + std::string(10, '}'),
                      &list));
}

TEST(ValueCodecTest, JsonNestingLimit) {
  // Just past the limit is refused; at the limit the parser runs (and here
  // fails on the type, a miss all the same).
  const std::string over = "{\"value\":" + std::string(kMaxJsonDepth, '[') +
                           std::string(kMaxJsonDepth, ']') + "}";
  EXPECT_FALSE(internal::JsonPrescan(over, kMaxJsonDepth));
  const std::string at = "{\"value\":" + std::string(kMaxJsonDepth - 1, '[') +
                         std::string(kMaxJsonDepth - 1, ']') + "}";
  EXPECT_TRUE(internal::JsonPrescan(at, kMaxJsonDepth));
}

TEST(ValueCodecTest, JsonNestingSkipsStringContents) {
  // Brackets inside strings (escaped quotes included) do not nest.
  const std::string text = std::string(5000, '[') + "\\\"" + "{{{";
  std::optional<std::string> out;
  ASSERT_TRUE(
      Decode(ValueFormat::kJson, Encode(ValueFormat::kJson, text), &out));
  EXPECT_EQ(*out, text);
  EXPECT_TRUE(internal::JsonPrescan(R"({"a":"[[[\"[[["})", 1));
  EXPECT_FALSE(internal::JsonPrescan(R"({"a":"\\"[[)", 2));
  // Unmatched closers cannot buy depth back.
  EXPECT_FALSE(internal::JsonPrescan("]]]]][[", 1));
}

TEST(ValueCodecTest, ZeroSignificandNumbersCerealNeverWritesAreMisses) {
  // Found by value_codec_json_fuzz: rapidjson 1.1.0 computes clz(0), which
  // is undefined, for a number whose significand is zero but takes its slow
  // path ("0e99", or more than 22 zeros after the point). cereal writes zero
  // as 0, -0, 0.0 or -0.0 only; anything else is a miss before parsing.
  std::optional<double> number;
  for (const char* text :
       {"0e99", "-0E-400", "0.0e1", "0.00000000000000000000000000", "-0.000e+5",
        // Found next: the number ends where its grammar does ("+7" is
        // no part of it), so the 7 does not make the significand nonzero.
        "-0.0000000000000000000000000000+0007",
        // And then: more than 20 significant digits; rounding the first
        // 20 (UINT64_MAX) overflows to 0 in rapidjson, then clz(0).
        "0.0184467440737095516155555555555555555555555555555555555555555555",
        "184467440737095516155", "1.00000000000000000001",
        // And then: a magnitude far below a double's (rapidjson reads its
        // table of powers of ten out of bounds): "0." + 440 zeros + "778".
        "1e400", "1e-400", "12345e99999999999999999999"}) {
    EXPECT_FALSE(Decode(ValueFormat::kJson,
                        std::string(R"({"value":)") + text + "}", &number))
        << text;
  }
  EXPECT_FALSE(Decode(ValueFormat::kJson,
                      R"({"value":0.)" + std::string(440, '0') + "778}",
                      &number));
  for (const char* text :
       {"0", "-0", "0.0", "-0.0", "1e99", "0.5", "10", "-1.5e-7",
        "18446744073709551615", "-9223372036854775808",
        "100000000000000000000.0", "0.000000000000000000001234",
        "1.7976931348623157e308", "5e-324", "4.9406564584124654e-324",
        "2.2250738585072014e-308", "0.000001234", "1e21"}) {
    EXPECT_TRUE(Decode(ValueFormat::kJson,
                       std::string(R"({"value":)") + text + "}", &number))
        << text;
  }
  EXPECT_TRUE(
      Decode(ValueFormat::kJson, Encode(ValueFormat::kJson, 0.0), &number));
  EXPECT_TRUE(
      Decode(ValueFormat::kJson, Encode(ValueFormat::kJson, -0.0), &number));
  std::optional<std::string> text;
  EXPECT_TRUE(Decode(ValueFormat::kJson, R"({"value":"0e99"})", &text))
      << "inside a string it is text";
}

TEST(ValueCodecTest, BinaryLengthBeyondTheInputIsAMissWithoutAllocating) {
  // 12 bytes whose size prefix claims 4 GiB: cereal resized first and only
  // then failed to read, seconds and gigabytes later.
  const std::string lie = Binary(U64(uint64_t{4} << 30) + "abc");
  ASSERT_EQ(lie.size(), 12u);
  size_t largest = 0;
  std::optional<std::string> text;
  EXPECT_FALSE(TrackedDecode(ValueFormat::kBinary, lie, &text, &largest));
  EXPECT_LT(largest, size_t{4096}) << "allocated for a length it never had";
  std::optional<std::vector<std::string>> list;
  EXPECT_FALSE(TrackedDecode(ValueFormat::kBinary, lie, &list, &largest));
  EXPECT_LT(largest, size_t{4096});
  std::optional<std::vector<int64_t>> numbers;
  EXPECT_FALSE(TrackedDecode(ValueFormat::kBinary,
                             Binary(U64(~uint64_t{0}) + "abc"), &numbers,
                             &largest));
  EXPECT_LT(largest, size_t{4096});
  // A size that fits the bytes left but not the element width: refused at
  // the element bytes, after an allocation bounded by the input's size.
  EXPECT_FALSE(TrackedDecode(ValueFormat::kBinary, Binary(U64(3) + "abcdefgh"),
                             &numbers, &largest));
  EXPECT_LT(largest, size_t{4096});
}

TEST(ValueCodecTest, BoolOtherThanZeroOrOneIsAMiss) {
  std::optional<bool> flag;
  EXPECT_TRUE(Decode(ValueFormat::kBinary, Binary("\1"), &flag));
  EXPECT_TRUE(*flag);
  EXPECT_FALSE(Decode(ValueFormat::kBinary, Binary("\2"), &flag));
  EXPECT_FALSE(Decode(ValueFormat::kBinary, Binary("\xff"), &flag));
  // std::optional's engaged flag ("nullopt") and its value.
  std::optional<std::optional<bool>> maybe;
  EXPECT_TRUE(
      Decode(ValueFormat::kBinary, Binary(std::string("\0\1", 2)), &maybe));
  EXPECT_EQ(*maybe, std::optional<bool>(true));
  EXPECT_FALSE(Decode(ValueFormat::kBinary, Binary("\7"), &maybe));
  EXPECT_FALSE(
      Decode(ValueFormat::kBinary, Binary(std::string("\0\x42", 2)), &maybe));
  // A bool inside a struct.
  std::string point = Encode(ValueFormat::kBinary, Point{1, 2, true, "p"});
  std::optional<Point> p;
  ASSERT_TRUE(Decode(ValueFormat::kBinary, point, &p));
  point[1 + 4 + 4] = '\3';  // endianness, x, y, then `visible`
  EXPECT_FALSE(Decode(ValueFormat::kBinary, point, &p));
  // The endianness byte is 0 or 1 too.
  EXPECT_FALSE(Decode(ValueFormat::kBinary, "\2\1", &flag));
  // JSON booleans were always typed; keep it so.
  EXPECT_FALSE(Decode(ValueFormat::kJson, R"({"value":2})", &flag));
}

TEST(ValueCodecTest, TruncatedOrPaddedValuesAreMisses) {
  const std::string whole =
      Encode(ValueFormat::kBinary, std::vector<std::string>{"ab", "cd"});
  std::optional<std::vector<std::string>> out;
  ASSERT_TRUE(Decode(ValueFormat::kBinary, whole, &out));
  for (size_t cut = 0; cut < whole.size(); ++cut) {
    EXPECT_FALSE(Decode(ValueFormat::kBinary, whole.substr(0, cut), &out))
        << cut;
  }
  EXPECT_FALSE(Decode(ValueFormat::kBinary, whole + "x", &out));
  EXPECT_FALSE(Decode(ValueFormat::kJson, "", &out));
  EXPECT_FALSE(Decode(ValueFormat::kJson, "{\"value\":[\"ab\"", &out));
  EXPECT_FALSE(Decode(ValueFormat::kJson, "[1, 2]", &out));
}

TEST(ValueCodecTest, ZeroByteElementsBeyondTheInputAreAMiss) {
  // The documented corner (core/bounded_binary_archive.h): more empty
  // elements than bytes left reads as a lie. A miss, never a wrong value.
  std::optional<std::vector<Empty>> out;
  EXPECT_TRUE(Decode(ValueFormat::kBinary,
                     Encode(ValueFormat::kBinary, std::vector<Empty>()), &out));
  EXPECT_FALSE(Decode(ValueFormat::kBinary,
                      Encode(ValueFormat::kBinary, std::vector<Empty>(1)),
                      &out));
  // With bytes after the size, as many empty elements as those bytes pass.
  std::optional<std::pair<std::vector<Empty>, int32_t>> pair;
  EXPECT_TRUE(Decode(
      ValueFormat::kBinary,
      Encode(ValueFormat::kBinary, std::make_pair(std::vector<Empty>(4), 7)),
      &pair));
}

}  // namespace
}  // namespace cache_alchemy

namespace cache_alchemy {
namespace {

using fuzz::ReadJsonBothWays;

// The direct reader of scalar and string results reads exactly what
// cereal's JSONInputArchive reads (the two differ only as the next tests
// show: out-of-range numbers, NULs).
TEST(ValueCodecTest, DirectJsonReaderReadsWhatCerealReads) {
  const std::vector<std::string> documents = {
      R"({"value":5})",
      R"({"other":[1,{"x":2}],"value":5})",
      R"({"value":5,"value":6})",
      R"({"valuex":5})",
      R"({"valu":5})",
      R"({})",
      R"([5])",
      R"(5)",
      R"("value")",
      R"(null)",
      R"()",
      R"(   )",
      R"({"value":"5"})",
      R"({"value":5} x)",
      R"({"value":5}{})",
      R"({"value":5})" + std::string("\0tail", 5),
      R"( {"value" : -7 } )",
      R"({"value":true})",
      R"({"value":false})",
      R"({"value":null})",
      R"({"value":-0})",
      R"({"value":1.0})",
      R"({"value":1.5})",
      R"({"value":2147483647})",
      R"({"value":2147483648})",
      R"({"value":-2147483648})",
      R"({"value":4294967295})",
      R"({"value":9223372036854775807})",
      R"({"value":9223372036854775808})",
      R"({"value":18446744073709551615})",
      R"({"value":-1})",
      R"({"value":NaN})",
      R"({"value":Infinity})",
      R"({"value":-Infinity})",
      R"({"value":1e308})",
      R"({"value":"text"})",
      R"({"value":""})",
      R"({"value":"a\"b\\c\/d\u00e9\ud83d\ude00"})",
      R"({"value":"\ud800"})",
      R"({"value":"bad \x"})",
      R"({"value":"unterminated)",
      R"({"value":[1]})",
      R"({"value":{"value":1}})",
      R"({"value":5,})",
      R"({'value':5})",
      R"({"value":05})",
      R"({"value":+5})",
      R"({"value":.5})",
      R"({"value":5 /* comment */})",
      "{\"value\":\"\xff\xfe\"}",
      "{\"va\\u006cue\":5}"};
  for (const std::string& json : documents) {
    SCOPED_TRACE(json);
    {
      auto [direct, cereal] = ReadJsonBothWays<int>(json);
      EXPECT_EQ(direct, cereal);
    }
    {
      auto [direct, cereal] = ReadJsonBothWays<int64_t>(json);
      EXPECT_EQ(direct, cereal);
    }
    {
      auto [direct, cereal] = ReadJsonBothWays<uint64_t>(json);
      EXPECT_EQ(direct, cereal);
    }
    {
      auto [direct, cereal] = ReadJsonBothWays<unsigned>(json);
      EXPECT_EQ(direct, cereal);
    }
    {
      auto [direct, cereal] = ReadJsonBothWays<bool>(json);
      EXPECT_EQ(direct, cereal);
    }
    {
      auto [direct, cereal] = ReadJsonBothWays<double>(json);
      ASSERT_EQ(direct.has_value(), cereal.has_value());
      if (direct && *direct == *direct) {
        EXPECT_EQ(*direct, *cereal);
      }
    }
    {
      auto [direct, cereal] = ReadJsonBothWays<std::string>(json);
      EXPECT_EQ(direct, cereal);
    }
  }
}

// Found writing the direct reader: cereal reads a JSON string with its
// C string, so a std::string result holding a NUL came back cut at it (a
// wrong value on every hit of a JSON backend). Now the direct reader keeps
// every byte, and a NUL inside any other type is refused when stored.
TEST(ValueCodecTest, JsonStringResultKeepsTheBytesAfterANul) {
  ExpectRoundTrip(std::string("a\0b", 3));
  ExpectRoundTrip(std::string("\0", 1));
  ExpectRoundTrip(std::string("text \\u0000 that only looks like a NUL"));
}

TEST(ValueCodecTest, JsonNulInsideAnyOtherTypeIsRefusedWhenStored) {
  using Words = std::vector<std::string>;
  try {
    Encode(ValueFormat::kJson, Words{"ok", std::string("a\0b", 3)});
    ADD_FAILURE() << "stored a value cereal reads back cut at the NUL";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("NUL"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Encode(ValueFormat::kJson, Point{1, 2, true, {"\0", 1}}),
               std::invalid_argument);
  // The text \u0000 (a backslash, then "u0000") is no NUL; an escaped
  // backslash before a real NUL is one.
  ExpectRoundTrip(Words{"\\u0000", "\\\\u0000", "u0000"});
  EXPECT_THROW(Encode(ValueFormat::kJson, Words{std::string("\\\0", 2)}),
               std::invalid_argument);
  // The binary format keeps NULs, so nothing is refused there.
  using Scores = std::map<std::string, int>;
  const Scores with_nul{{std::string("k\0", 2), 1}};
  std::optional<Scores> out;
  ASSERT_TRUE(Decode(ValueFormat::kBinary,
                     Encode(ValueFormat::kBinary, with_nul), &out));
  EXPECT_EQ(*out, with_nul);
  EXPECT_FALSE(internal::JsonHasNul(R"(["\\u0000"])"));
  EXPECT_TRUE(internal::JsonHasNul(R"(["\u0000"])"));
  EXPECT_TRUE(internal::JsonHasNul(R"(["\\\u0000"])"));
}

// cereal converts the number it reads with static_cast: 70000 read as an
// int16_t became 4464, 256 as a uint8_t 0, 1e300 as a float undefined
// behaviour. A stored number outside the result's range is a miss.
TEST(ValueCodecTest, JsonNumberOutsideTheResultTypeIsAMiss) {
  std::optional<int16_t> small;
  EXPECT_FALSE(Decode(ValueFormat::kJson, R"({"value":70000})", &small));
  EXPECT_FALSE(Decode(ValueFormat::kJson, R"({"value":-32769})", &small));
  EXPECT_TRUE(Decode(ValueFormat::kJson, R"({"value":-32768})", &small));
  EXPECT_EQ(*small, -32768);
  std::optional<uint8_t> byte;
  EXPECT_FALSE(Decode(ValueFormat::kJson, R"({"value":256})", &byte));
  EXPECT_TRUE(Decode(ValueFormat::kJson, R"({"value":255})", &byte));
  EXPECT_EQ(*byte, 255);
  std::optional<float> single;
  EXPECT_FALSE(Decode(ValueFormat::kJson, R"({"value":1e300})", &single));
  EXPECT_FALSE(Decode(ValueFormat::kJson, R"({"value":-1e300})", &single));
  EXPECT_TRUE(Decode(ValueFormat::kJson, R"({"value":Infinity})", &single));
  EXPECT_TRUE(Decode(ValueFormat::kJson, R"({"value":0.5})", &single));
  EXPECT_EQ(*single, 0.5f);
  ExpectRoundTrip(int16_t{-32768});
  ExpectRoundTrip(uint8_t{255});
  ExpectRoundTrip(3.25f);
  ExpectRoundTrip(int64_t{-9223372036854775807 - 1});
  ExpectRoundTrip(uint64_t{18446744073709551615u});
  ExpectRoundTrip(-0.1);
  ExpectRoundTrip(std::numeric_limits<double>::infinity());
}

// The point of the direct reader: a scalar hit of a JSON backend allocates
// nothing (cereal's archive allocated a 64 KiB pool, a parse stack and its
// iterators, and copied the bytes into an istringstream).
TEST(ValueCodecTest, JsonScalarDecodesWithoutAllocating) {
  std::optional<int> number;
  ASSERT_TRUE(
      Decode(ValueFormat::kJson, Encode(ValueFormat::kJson, 81), &number));
  EXPECT_EQ(g_allocations, 0u);
  std::optional<std::string> text;
  ASSERT_TRUE(Decode(ValueFormat::kJson,
                     Encode(ValueFormat::kJson, std::string("short")), &text));
  EXPECT_EQ(g_allocations, 0u);
  // A long string still decodes (the document outgrows its buffers on the
  // stack and allocates chunks).
  const std::string big(100000, 'x');
  ASSERT_TRUE(
      Decode(ValueFormat::kJson, Encode(ValueFormat::kJson, big), &text));
  EXPECT_EQ(*text, big);
  EXPECT_GT(g_allocations, 1u);
}

}  // namespace
}  // namespace cache_alchemy

namespace cache_alchemy {
namespace {

// Every value must read back as the same value, not a near one: doubles
// and floats of every magnitude (random bit patterns, subnormals and the
// extremes included) through the JSON archive, and strings whatever their
// bytes (JSON does not validate UTF-8 here, so invalid sequences survive).
TEST(ValueCodecTest, JsonNumbersAndBytesReadBackExactly) {
  uint64_t state = 0x9e3779b97f4a7c15u;
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  int checked = 0;
  for (int i = 0; i < 20000; ++i) {
    const double d = std::bit_cast<double>(next());
    if (d != d) continue;  // NaN never equals itself
    std::optional<double> back;
    ASSERT_TRUE(
        Decode(ValueFormat::kJson, Encode(ValueFormat::kJson, d), &back))
        << d;
    ASSERT_EQ(std::bit_cast<uint64_t>(*back), std::bit_cast<uint64_t>(d))
        << Encode(ValueFormat::kJson, d);
    const float f = std::bit_cast<float>(static_cast<uint32_t>(next()));
    if (f != f) continue;
    std::optional<float> back_f;
    ASSERT_TRUE(
        Decode(ValueFormat::kJson, Encode(ValueFormat::kJson, f), &back_f));
    ASSERT_EQ(std::bit_cast<uint32_t>(*back_f), std::bit_cast<uint32_t>(f))
        << Encode(ValueFormat::kJson, f);
    ++checked;
  }
  EXPECT_GT(checked, 19000);
  for (double d :
       {std::numeric_limits<double>::denorm_min(),
        std::numeric_limits<double>::min(), std::numeric_limits<double>::max(),
        -0.0, 0.1, 1e23, 2.2250738585072011e-308, 9007199254740993.0}) {
    ExpectRoundTrip(d);
  }
  ExpectRoundTrip(std::string("\xff\xfe\x80 \xc3\x28 \xed\xa0\x80"));
  ExpectRoundTrip(std::vector<std::string>{"\x01\x1f\x7f", "\xf4\x90\x80\x80"});
}

}  // namespace
}  // namespace cache_alchemy
