// ConcurrentStore's marked entries (LookupMarked), which DistributedMemoryCache
// serves without a round trip: only a marked entry is served, past its
// header; an unmarked one is reported as such and neither visited nor
// counted; the mark belongs to the stored entry, not to its key.

#include "backends/memory/concurrent_store.h"

#include <chrono>
#include <optional>
#include <string>

#include "gtest/gtest.h"
#include "testing/fake_clock.h"

namespace cache_alchemy {
namespace memory {
namespace {

using Found = ConcurrentStore::Found;

StoredValue Bytes(std::string bytes) {
  StoredValue value;
  value.bytes = std::move(bytes);
  return value;
}

// A header as DistributedMemoryCache writes it: one length byte, then that
// many bytes (the Redis token).
std::string WithHeader(const std::string& token, const std::string& value) {
  return std::string(1, static_cast<char>(token.size())) + token + value;
}

void Record(void* out, const ValueView& value) {
  static_cast<std::optional<std::string>*>(out)->emplace(value.bytes);
}

class ConcurrentStoreMarkTest : public ::testing::Test {
 protected:
  // What LookupMarked found for `key`, and what it showed the visitor.
  Found LookupMarked(const std::string& key, std::optional<std::string>* seen) {
    seen->reset();
    Fence fence;
    return store_.LookupMarked(key, &Record, seen, &fence);
  }

  testing::FakeClock clock_;
  ConcurrentStore store_{{.limit = 100,
                          .expire_seconds = 10,
                          .clock = &clock_,
                          .key_format = KeyFormat::kText}};
};

TEST_F(ConcurrentStoreMarkTest, ServesOnlyMarkedEntriesPastTheirHeader) {
  ASSERT_TRUE(store_.Store("marked", Bytes(WithHeader("tok", "value-m")),
                           nullptr, /*marked=*/true));
  ASSERT_TRUE(store_.Store("unmarked", Bytes(WithHeader("tok", "value-u")),
                           nullptr, /*marked=*/false));
  std::optional<std::string> seen;

  EXPECT_EQ(LookupMarked("marked", &seen), Found::kHit);
  EXPECT_EQ(seen, "value-m");

  EXPECT_EQ(LookupMarked("unmarked", &seen), Found::kUnmarked);
  EXPECT_EQ(seen, std::nullopt);  // not visited

  EXPECT_EQ(LookupMarked("absent", &seen), Found::kMiss);
  EXPECT_EQ(seen, std::nullopt);

  // A plain lookup serves both, header and all.
  Fence fence;
  ASSERT_TRUE(store_.Lookup("unmarked", &Record, &seen, &fence));
  EXPECT_EQ(seen, WithHeader("tok", "value-u"));
}

TEST_F(ConcurrentStoreMarkTest, TheMarkBelongsToTheEntryNotTheKey) {
  std::optional<std::string> seen;
  ASSERT_TRUE(store_.Store("k", Bytes(WithHeader("t1", "old")), nullptr, true));
  ASSERT_EQ(LookupMarked("k", &seen), Found::kHit);
  // Replaced by an unmarked entry: the old mark does not carry over.
  ASSERT_TRUE(
      store_.Store("k", Bytes(WithHeader("t2", "new")), nullptr, false));
  EXPECT_EQ(LookupMarked("k", &seen), Found::kUnmarked);
  EXPECT_EQ(seen, std::nullopt);
  // And marked again.
  ASSERT_TRUE(
      store_.Store("k", Bytes(WithHeader("t3", "newer")), nullptr, true));
  EXPECT_EQ(LookupMarked("k", &seen), Found::kHit);
  EXPECT_EQ(seen, "newer");
}

TEST_F(ConcurrentStoreMarkTest, AnExpiredMarkedEntryIsAMiss) {
  ASSERT_TRUE(store_.Store("k", Bytes(WithHeader("t", "v")), nullptr, true));
  clock_.Advance(std::chrono::seconds(11));
  std::optional<std::string> seen;
  EXPECT_EQ(LookupMarked("k", &seen), Found::kMiss);
  EXPECT_EQ(seen, std::nullopt);
}

TEST_F(ConcurrentStoreMarkTest, AHeaderLongerThanTheValueIsNeverServed) {
  // Length byte 9, but only 3 bytes follow; and an empty value.
  ASSERT_TRUE(store_.Store("short",
                           Bytes(std::string("\x09"
                                             "abc",
                                             4)),
                           nullptr, true));
  ASSERT_TRUE(store_.Store("empty", Bytes(""), nullptr, true));
  std::optional<std::string> seen;
  EXPECT_EQ(LookupMarked("short", &seen), Found::kUnmarked);
  EXPECT_EQ(LookupMarked("empty", &seen), Found::kUnmarked);
  EXPECT_EQ(seen, std::nullopt);
  // A header that takes exactly the whole value leaves an empty value.
  ASSERT_TRUE(
      store_.Store("exact", Bytes(WithHeader("abc", "")), nullptr, true));
  EXPECT_EQ(LookupMarked("exact", &seen), Found::kHit);
  EXPECT_EQ(seen, "");
}

TEST_F(ConcurrentStoreMarkTest, AMarkedStoreIsFencedLikeAnyOther) {
  Fence fence;
  std::optional<std::string> seen;
  ASSERT_EQ(store_.LookupMarked("k", &Record, &seen, &fence), Found::kMiss);
  store_.Clear();
  EXPECT_FALSE(store_.Store("k", Bytes(WithHeader("t", "v")), &fence, true));
  EXPECT_EQ(LookupMarked("k", &seen), Found::kMiss);
}

}  // namespace
}  // namespace memory
}  // namespace cache_alchemy
