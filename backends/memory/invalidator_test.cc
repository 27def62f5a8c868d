// The Invalidator's changes of subscription state, driven directly (its
// listener methods) against a real redis-server: an entry marked before a
// subscription holds (as a forked child inherits its parent's) is dropped
// before the channel is live, so no lookup ever serves it unchecked; and a
// loss of the subscription stops local serving before it drops anything.

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "backends/memory/push_invalidation.h"
#include "core/redis_client.h"
#include "gtest/gtest.h"
#include "testing/fake_clock.h"
#include "testing/redis_server.h"

namespace cache_alchemy {
namespace memory {
namespace {

using Found = ConcurrentStore::Found;

// A local entry as DistributedMemoryCache stores it: the token (one length
// byte, then its bytes), then the value.
StoredValue Entry(const std::string& value) {
  StoredValue stored;
  stored.bytes = std::string("\x03tok", 4) + value;
  return stored;
}

void Record(void* out, const ValueView& value) {
  static_cast<std::optional<std::string>*>(out)->emplace(value.bytes);
}

class InvalidatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    invalidator_ = std::make_shared<Invalidator>(
        RedisClient::FromUrl(testing::SharedRedisServer()->url()),
        std::make_shared<PushCounters>());
    // Waits until the channel is subscribed.
    store_ = invalidator_->OpenStore(
        {"invalidator_test:", "f@00000000", -1, -1, false}, &clock_);
    ASSERT_TRUE(invalidator_->Live(*store_->channel));
  }

  testing::FakeClock clock_;
  std::shared_ptr<Invalidator> invalidator_;
  std::shared_ptr<LocalStore> store_;
};

// A reader serves what a subscribed DistributedMemoryCache lookup would
// serve, as fast as it can, while the subscription is lost and regained
// many times; each time, before it is regained, an entry marked in an
// earlier subscription is put back (a forked child starts with its
// parent's). Dropping after going live would leave a moment in which the
// reader serves it; the Invalidator drops first. (The reader pauses while
// the entry is put back: a reader that saw the channel live in the round
// before would otherwise find it, which no real store can do, since a
// marked store is refused once the subscription is lost.)
TEST_F(InvalidatorTest, AnEntryMarkedBeforeASubscriptionIsNeverServed) {
  const std::string channel = store_->channel->name;
  std::atomic<bool> stop{false};
  std::atomic<bool> pause{false};
  std::atomic<bool> paused{false};
  std::atomic<int64_t> live_lookups{0};
  std::atomic<int64_t> served{0};
  std::thread reader([&] {
    std::optional<std::string> seen;
    while (!stop.load()) {
      if (pause.load()) {
        paused.store(true);
        while (pause.load() && !stop.load()) {
        }
        paused.store(false);
        continue;  // looks at the channel afresh
      }
      if (!invalidator_->Live(*store_->channel)) continue;
      Fence fence;
      if (store_->store.LookupMarked("k", &Record, &seen, &fence) ==
          Found::kHit) {
        served.fetch_add(1);
      }
      live_lookups.fetch_add(1);
    }
  });
  constexpr int kRounds = 3000;
  for (int i = 0; i < kRounds; ++i) {
    pause.store(true);
    while (!paused.load()) std::this_thread::yield();
    invalidator_->OnDisconnected("test: subscription lost");
    ASSERT_FALSE(invalidator_->Live(*store_->channel));
    ASSERT_TRUE(store_->store.Store("k", Entry("old"), nullptr,
                                    /*marked=*/true));
    pause.store(false);  // the reader spins on the channel meanwhile
    invalidator_->OnSubscribed(channel);
    ASSERT_TRUE(invalidator_->Live(*store_->channel));
    // The reader ran beside this round: it made a live lookup since.
    const int64_t before = live_lookups.load();
    while (live_lookups.load() == before) std::this_thread::yield();
  }
  stop = true;
  reader.join();
  EXPECT_EQ(served.load(), 0);
  EXPECT_GE(live_lookups.load(), kRounds);
}

// Losing the subscription stops local serving at once (the entries go
// right after): a lookup that sees the channel down never serves a marked
// entry, and none is left when the subscription comes back.
TEST_F(InvalidatorTest, ALostSubscriptionDropsEveryEntry) {
  ASSERT_TRUE(store_->store.Store("a", Entry("1"), nullptr, true));
  ASSERT_TRUE(store_->store.Store("b", Entry("2"), nullptr, false));
  const uint64_t clears = store_->store.clears();
  invalidator_->OnDisconnected("test: subscription lost");
  EXPECT_FALSE(invalidator_->Live(*store_->channel));
  EXPECT_EQ(store_->store.Size(), 0);
  EXPECT_NE(store_->store.clears(), clears);  // fences computations
  invalidator_->OnSubscribed(store_->channel->name);
  EXPECT_TRUE(invalidator_->Live(*store_->channel));
  std::optional<std::string> seen;
  Fence fence;
  EXPECT_EQ(store_->store.LookupMarked("a", &Record, &seen, &fence),
            Found::kMiss);
}

}  // namespace
}  // namespace memory
}  // namespace cache_alchemy
