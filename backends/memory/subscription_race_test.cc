// DistributedMemoryCache's lookup when the subscription is lost at the worst
// moment: right after the lookup saw the channel live (a test hook, compiled
// into :distributed_memory_cache_with_test_hooks only). The lookup's fence
// then omits the Redis generation (the subscription vouched for it), so the
// store that follows must be refused: a clear published while the
// subscription was down never arrives here, and a value kept then would be
// served after it, with a fresh timestamp of its own in Redis.

#include <memory>
#include <string>

#include "backends/memory/distributed_memory_cache.h"
#include "core/redis_client.h"
#include "gtest/gtest.h"
#include "testing/fake_clock.h"
#include "testing/redis_server.h"

namespace cache_alchemy {
namespace memory {
namespace {

void RecordInt(void* out, const ValueView& value) {
  *static_cast<int*>(out) = *static_cast<const int*>(value.object);
}

StoredValue Value(int v) {
  StoredValue stored;
  stored.object = std::make_shared<const int>(v);
  return stored;
}

class SubscriptionRaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    host_.clock = &clock_;
    host_.redis = RedisClient::FromUrl(testing::SharedRedisServer()->url());
    // Opens (and waits for) the subscription of the prefix's channel.
    ns_.reset(backend_.Open(
        {"subscription_race_test:", "f@00000000", -1, -1, false}, host_));
  }
  void TearDown() override { test_hooks::after_live_check = nullptr; }

  testing::FakeClock clock_;
  HostContext host_;
  DistributedMemoryCache backend_;
  std::unique_ptr<CacheNamespace> ns_;
};

TEST_F(SubscriptionRaceTest,
       AStoreIsRefusedWhenTheSubscriptionWasLostMidLookup) {
  // Subscribed: a miss, then a store, then a local hit.
  Fence fence;
  int out = 0;
  ASSERT_FALSE(ns_->Lookup("warm", &RecordInt, &out, &fence));
  ASSERT_TRUE(ns_->Store("warm", Value(1), &fence));
  ASSERT_TRUE(ns_->Lookup("warm", &RecordInt, &out, &fence));
  ASSERT_EQ(out, 1);

  // The subscription is lost just after the lookup saw it live.
  test_hooks::after_live_check = [](Invalidator* invalidator) {
    test_hooks::after_live_check = nullptr;  // once
    invalidator->OnDisconnected("test: lost mid-lookup");
  };
  ASSERT_FALSE(ns_->Lookup("k", &RecordInt, &out, &fence));
  ASSERT_EQ(test_hooks::after_live_check, nullptr);  // it ran
  // (A clear elsewhere now would not reach this process.)
  EXPECT_FALSE(ns_->Store("k", Value(2), &fence));
  EXPECT_FALSE(ns_->Lookup("k", &RecordInt, &out, nullptr));
}

}  // namespace
}  // namespace memory
}  // namespace cache_alchemy
