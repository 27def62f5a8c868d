// Concurrency: single flight, clears racing computations, and a stress mix of
// calls, clears and wraps from many threads.

#include <array>
#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "cache_alchemy/cache_alchemy.h"
#include "gtest/gtest.h"

namespace ca = cache_alchemy;

namespace {

constexpr char kMemory[] = "cache_alchemy.backends.memory.MemoryCache";

TEST(ConcurrencyTest, StampedeComputesOnce) {
  constexpr int kThreads = 8;
  std::atomic<int> started{0};
  std::atomic<int> computations{0};
  auto slow = ca::cache({.backend = kMemory, .name = "stampede"}, [&](int x) {
    computations.fetch_add(1);
    // Hold the computation until every caller has started its call.
    while (started.load() < kThreads) std::this_thread::yield();
    return x * 2;
  });
  std::vector<std::thread> threads;
  std::vector<int> results(kThreads);
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      started.fetch_add(1);
      results[i] = slow(21);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(computations.load(), 1);
  for (int r : results) EXPECT_EQ(r, 42);
  EXPECT_EQ(slow.misses(), 1);
  EXPECT_EQ(slow.hits(), kThreads - 1);
}

// Waiters get the leader's exception itself (one computation, one exception
// object), not one of their own: each thread records the address of the
// exception it caught and whether it ran the function; every thread that did
// not run it must have caught an object some computation threw.
TEST(ConcurrencyTest, WaitersShareTheLeadersException) {
  constexpr int kThreads = 4;
  for (int attempt = 0; attempt < 5; ++attempt) {
    absl::Notification leader_entered, release;
    std::atomic<int> computations{0};
    std::mutex mu;
    std::set<const void*> thrown;  // by the computations
    thread_local bool computed = false;
    auto failing = ca::cache({.backend = kMemory}, [&](int) -> int {
      computed = true;
      computations.fetch_add(1);
      if (!leader_entered.HasBeenNotified()) leader_entered.Notify();
      release.WaitForNotification();
      try {
        throw std::runtime_error("backend of the app is down");
      } catch (const std::runtime_error& e) {
        std::lock_guard<std::mutex> lock(mu);
        thrown.insert(&e);
        throw;
      }
    });
    std::vector<const void*> caught(kThreads, nullptr);
    // (Not vector<bool>: its elements share words, and threads write them.)
    std::vector<char> ran(kThreads, 0);
    std::vector<std::thread> threads;
    auto call = [&](int i) {
      computed = false;
      try {
        failing(1);
      } catch (const std::runtime_error& e) {
        caught[i] = &e;
      }
      ran[i] = computed;
    };
    threads.emplace_back(call, 0);
    leader_entered.WaitForNotification();
    for (int i = 1; i < kThreads; ++i) threads.emplace_back(call, i);
    // Give the others time to join the flight (if one is late, it leads a
    // computation of its own and the attempt is repeated).
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    release.Notify();
    for (auto& t : threads) t.join();
    int waiters = 0;
    for (int i = 0; i < kThreads; ++i) {
      ASSERT_NE(caught[i], nullptr) << "thread " << i << " caught nothing";
      ASSERT_TRUE(thrown.count(caught[i]))
          << "thread " << i << " caught an exception no computation threw";
      if (!ran[i]) ++waiters;
    }
    EXPECT_EQ(computations.load(), kThreads - waiters);
    EXPECT_EQ(failing.size(), 0);
    if (waiters > 0) return;  // the property was observed
  }
  FAIL() << "no caller ever waited for another's computation";
}

TEST(ConcurrencyTest, ValueComputedBeforeAClearIsNotStored) {
  absl::Notification entered, release;
  std::atomic<int> version{1};
  auto read = ca::cache({.backend = kMemory, .name = "clear-race"}, [&](int) {
    const int seen = version.load();
    if (!entered.HasBeenNotified()) {
      entered.Notify();
      release.WaitForNotification();
    }
    return seen;
  });
  std::thread caller([&] { EXPECT_EQ(read(0), 1); });
  entered.WaitForNotification();
  // The data changes and the cache is cleared while the old value is being
  // computed: that value must not outlive the clear.
  version.store(2);
  read.cache_clear();
  release.Notify();
  caller.join();
  EXPECT_EQ(read.size(), 0);
  EXPECT_EQ(read(0), 2);
}

// Calls, full and partial clears and new wrappers of the same name from many
// threads, over data that changes: each key's data has a version, and a
// writer bumps it before clearing the key. A call that starts after such a
// clear returned must see that version or a later one (`floor`); an older
// one is a stale read.
TEST(ConcurrencyTest, StressCallsClearsAndWrapsNeverReadStale) {
  constexpr int kThreads = 8;
  constexpr int kOpsPerThread = 3000;
  constexpr int kKeys = 32;
  std::array<std::atomic<int>, kKeys> version{};
  std::array<std::atomic<int>, kKeys> floor{};
  auto body = [&version](int x, std::string) { return version[x].load(); };
  const ca::CacheOptions options{.limit = 24,
                                 .strict = true,
                                 .backend = kMemory,
                                 .name = "stress",
                                 .params = {"x", "tag"}};
  auto shared = ca::cache(options, body);
  std::atomic<int64_t> calls{0};
  std::atomic<int> stale{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      for (int i = 0; i < kOpsPerThread; ++i) {
        const int op = rng() % 100;
        const int x = rng() % kKeys;
        const std::string tag = (x % 2) ? "odd" : "even";
        if (op < 85) {
          calls.fetch_add(1);
          const int at_least = floor[x].load();
          if (shared(x, tag) < at_least) stale.fetch_add(1);
        } else if (op < 97) {
          const int v = version[x].fetch_add(1) + 1;
          switch (op % 3) {
            case 0:
              shared.cache_clear(ca::arg("tag", tag));
              break;
            case 1:
              shared.cache_clear(x);
              break;
            default:
              shared.cache_clear();
          }
          int seen = floor[x].load();
          while (seen < v && !floor[x].compare_exchange_weak(seen, v)) {
          }
        } else {
          // A new wrapper of the same name, concurrently with the rest.
          auto again = ca::cache(options, body);
          const int at_least = floor[x].load();
          if (again(x, tag) < at_least) stale.fetch_add(1);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(stale.load(), 0);
  EXPECT_EQ(shared.hits() + shared.misses(), calls.load());
  EXPECT_GT(shared.hits(), 0);
  EXPECT_LE(shared.size(), 24);
}

}  // namespace
