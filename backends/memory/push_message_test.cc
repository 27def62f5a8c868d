// The invalidation messages of DistributedMemoryCache: binary-safe round
// trips, and malformed input rejected (a foreign publisher on the channel
// must not crash or clear anything).

#include <string>

#include "backends/memory/push_invalidation.h"
#include "gtest/gtest.h"

namespace cache_alchemy {
namespace memory {
namespace {

TEST(InvalidationMessageTest, RoundTripsEveryKind) {
  Invalidation partial;
  partial.origin = 0x0102030405060708ull;
  partial.kind = Invalidation::Kind::kPartial;
  partial.name = std::string("f\0:g", 4);
  partial.pattern.segments = {std::string("\x01*", 2), std::nullopt,
                              std::string()};
  Invalidation out;
  ASSERT_TRUE(DecodeInvalidation(EncodeInvalidation(partial), &out));
  EXPECT_EQ(out.origin, partial.origin);
  EXPECT_EQ(out.kind, Invalidation::Kind::kPartial);
  EXPECT_EQ(out.name, partial.name);
  EXPECT_EQ(out.pattern.segments, partial.pattern.segments);

  Invalidation full{7, Invalidation::Kind::kFull, "name", {}};
  ASSERT_TRUE(DecodeInvalidation(EncodeInvalidation(full), &out));
  EXPECT_EQ(out.kind, Invalidation::Kind::kFull);
  EXPECT_EQ(out.name, "name");
  EXPECT_TRUE(out.pattern.segments.empty());

  Invalidation flush{9, Invalidation::Kind::kFlush, "", {}};
  ASSERT_TRUE(DecodeInvalidation(EncodeInvalidation(flush), &out));
  EXPECT_EQ(out.kind, Invalidation::Kind::kFlush);
  EXPECT_EQ(out.origin, 9u);
}

TEST(InvalidationMessageTest, RejectsMalformedInput) {
  Invalidation out;
  EXPECT_FALSE(DecodeInvalidation("", &out));
  EXPECT_FALSE(DecodeInvalidation("hello", &out));
  const std::string good = EncodeInvalidation(
      {1, Invalidation::Kind::kPartial, "f", {{std::string("a")}}});
  for (size_t cut = 0; cut < good.size(); ++cut) {
    Invalidation partial;
    // Every strict prefix is malformed except where a field list may end.
    const bool ok = DecodeInvalidation(good.substr(0, cut), &partial);
    if (ok) {
      EXPECT_EQ(partial.kind, Invalidation::Kind::kPartial) << cut;
    }
  }
  std::string unknown_kind = good;
  unknown_kind[10] = 'Q';  // varint(8) origin(8) varint(1) kind
  EXPECT_FALSE(DecodeInvalidation(unknown_kind, &out));
  EXPECT_FALSE(DecodeInvalidation(good + "\x05"
                                         "ab",
                                  &out));  // cut field
}

TEST(InvalidationMessageTest, OneKeyRoundTripsBinarySafe) {
  Invalidation key{0x1122334455667788ull,
                   Invalidation::Kind::kKey,
                   "app.f@1234abcd",
                   {},
                   std::string("\0\xff|\"k\"", 6)};
  Invalidation out;
  ASSERT_TRUE(DecodeInvalidation(EncodeInvalidation(key), &out));
  EXPECT_EQ(out.origin, key.origin);
  EXPECT_EQ(out.kind, Invalidation::Kind::kKey);
  EXPECT_EQ(out.name, "app.f@1234abcd");
  EXPECT_EQ(out.key, key.key);
  EXPECT_TRUE(out.pattern.segments.empty());
  // An empty key is a key too.
  key.key.clear();
  ASSERT_TRUE(DecodeInvalidation(EncodeInvalidation(key), &out));
  EXPECT_EQ(out.key, "");
}

TEST(InvalidationMessageTest, OneKeyRejectsMalformedInput) {
  const std::string good =
      EncodeInvalidation({1, Invalidation::Kind::kKey, "f", {}, "the-key"});
  Invalidation out;
  for (size_t cut = 0; cut < good.size(); ++cut) {
    // Every strict prefix lacks the key (or part of it).
    EXPECT_FALSE(DecodeInvalidation(good.substr(0, cut), &out)) << cut;
  }
  EXPECT_FALSE(DecodeInvalidation(good + "x", &out));  // trailing bytes
  // A key message of an older encoder (no key field) is not a full clear.
  EXPECT_FALSE(DecodeInvalidation(
      EncodeInvalidation({1, Invalidation::Kind::kFull, "f", {}})
          .replace(10, 1, "K"),
      &out));
}

TEST(InvalidationMessageTest, ChannelIsPerPrefix) {
  EXPECT_EQ(InvalidationChannel(""), "cache_alchemy:invalidations");
  EXPECT_EQ(InvalidationChannel("t1:"), "t1:cache_alchemy:invalidations");
}

}  // namespace
}  // namespace memory
}  // namespace cache_alchemy
