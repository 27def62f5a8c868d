// Concurrency: single flight, clears racing computations, and a stress mix of
// calls, clears and wraps from many threads.

#include <atomic>
#include <random>
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

TEST(ConcurrencyTest, WaitersShareTheLeadersException) {
  std::atomic<int> started{0};
  std::atomic<int> computations{0};
  auto failing =
      ca::cache({.backend = kMemory, .name = "stampede-throw"}, [&](int) {
        computations.fetch_add(1);
        while (started.load() < 4) std::this_thread::yield();
        throw std::runtime_error("backend of the app is down");
        return 0;
      });
  std::atomic<int> caught{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      started.fetch_add(1);
      try {
        failing(1);
      } catch (const std::runtime_error&) {
        caught.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(caught.load(), 4);
  EXPECT_GE(computations.load(), 1);
  EXPECT_EQ(failing.size(), 0);
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

TEST(ConcurrencyTest, StressCallsClearsAndWraps) {
  constexpr int kThreads = 8;
  constexpr int kOpsPerThread = 3000;
  auto shared = ca::cache(
      {.limit = 64,
       .strict = true,
       .backend = kMemory,
       .name = "stress",
       .params = {"x", "tag"}},
      [](int x, std::string tag) { return std::to_string(x * 2) + tag; });
  std::atomic<int64_t> calls{0};
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      for (int i = 0; i < kOpsPerThread; ++i) {
        const int op = rng() % 100;
        const int x = rng() % 100;
        const std::string tag = (x % 2) ? "odd" : "even";
        if (op < 90) {
          calls.fetch_add(1);
          if (shared(x, tag) != std::to_string(x * 2) + tag) wrong.fetch_add(1);
        } else if (op < 94) {
          shared.cache_clear(ca::arg("tag", tag));
        } else if (op < 96) {
          shared.cache_clear();
        } else {
          // Wrapping concurrently with calls: a new handle on the same name.
          auto again = ca::cache({.limit = 64,
                                  .strict = true,
                                  .backend = kMemory,
                                  .name = "stress",
                                  .params = {"x", "tag"}},
                                 [](int x, std::string tag) {
                                   return std::to_string(x * 2) + tag;
                                 });
          if (again(x, tag) != std::to_string(x * 2) + tag) wrong.fetch_add(1);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(shared.hits() + shared.misses(), calls.load());
  EXPECT_GT(shared.hits(), 0);
  EXPECT_LE(shared.size(), 64);
}

}  // namespace
