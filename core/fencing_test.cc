// Every way of removing entries is fenced (CONTRACT.md section 1): a value
// computed from data older than a clear is never stored after the clear
// returns. Each test holds a leader inside the function (it has read the old
// data), runs one kind of clear, then lets the leader finish: the old value
// must not be stored, so the next call computes the new one.

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "cache_alchemy/cache_alchemy.h"
#include "gtest/gtest.h"

namespace ca = cache_alchemy;

namespace {

constexpr char kMemory[] = "cache_alchemy.backends.memory.MemoryCache";

// The data a cached function reads, and a gate that holds its first
// computation after the read.
struct Source {
  std::atomic<int> version{1};
  absl::Notification entered, release;

  int Read() {
    const int seen = version.load();
    if (!entered.HasBeenNotified()) {
      entered.Notify();
      release.WaitForNotification();
    }
    return seen;
  }
};

// Calls `call` on a thread, waits until its computation has read version 1,
// changes the data to version 2, runs `clear`, lets the computation finish
// and returns what the call returned (the old value, as computed).
int RaceClear(Source& source, const std::function<int()>& call,
              const std::function<void()>& clear) {
  int first = 0;
  std::thread caller([&] { first = call(); });
  source.entered.WaitForNotification();
  source.version.store(2);
  clear();
  source.release.Notify();
  caller.join();
  return first;
}

TEST(FencingTest, FullClear) {
  Source source;
  auto f = ca::cache({.backend = kMemory}, [&](int) { return source.Read(); });
  EXPECT_EQ(RaceClear(
                source, [&] { return f(0); }, [&] { f.cache_clear(); }),
            1);
  EXPECT_EQ(f(0), 2);
}

TEST(FencingTest, PartialClear) {
  Source source;
  auto f = ca::cache({.strict = true, .backend = kMemory},
                     [&](int) { return source.Read(); });
  EXPECT_EQ(RaceClear(
                source, [&] { return f(0); }, [&] { f.cache_clear(0); }),
            1);
  EXPECT_EQ(f(0), 2);
}

TEST(FencingTest, FlushCache) {
  Source source;
  auto f = ca::cache({.backend = kMemory, .cache_key_prefix = "fencing-flush:"},
                     [&](int) { return source.Read(); });
  EXPECT_EQ(RaceClear(
                source, [&] { return f(0); },
                [&] { ca::flush_cache(kMemory, "fencing-flush:"); }),
            1);
  EXPECT_EQ(f(0), 2);
}

TEST(FencingTest, FlushCacheCascadesToDependents) {
  Source source;
  auto root =
      ca::cache({.backend = kMemory, .cache_key_prefix = "fencing-flush-root:"},
                [](int x) { return x; });
  auto dependent = ca::cache(
      {.backend = kMemory, .dependency = {ca::FunctionCacheDependency(root)}},
      [&](int x) { return root(x) + source.Read(); });
  EXPECT_EQ(RaceClear(
                source, [&] { return dependent(0); },
                [&] { ca::flush_cache(kMemory, "fencing-flush-root:"); }),
            1);
  EXPECT_EQ(dependent(0), 2);
}

TEST(FencingTest, CascadeFromADependency) {
  Source source;
  auto root = ca::cache({.backend = kMemory}, [](int x) { return x; });
  auto dependent = ca::cache(
      {.backend = kMemory, .dependency = {ca::FunctionCacheDependency(root)}},
      [&](int x) { return root(x) + source.Read(); });
  EXPECT_EQ(
      RaceClear(
          source, [&] { return dependent(0); }, [&] { root.cache_clear(); }),
      1);
  EXPECT_EQ(dependent(0), 2);
}

TEST(FencingTest, PartialCascadeByName) {
  Source source;
  auto root =
      ca::cache({.strict = true, .backend = kMemory, .params = {"user"}},
                [](int user) { return user; });
  auto dependent = ca::cache({.strict = true,
                              .backend = kMemory,
                              .dependency = {ca::FunctionCacheDependency(root)},
                              .params = {"user"}},
                             [&](int) { return source.Read(); });
  EXPECT_EQ(RaceClear(
                source, [&] { return dependent(7); },
                [&] { root.cache_clear(ca::arg("user", 7)); }),
            1);
  EXPECT_EQ(dependent(7), 2);
}

TEST(FencingTest, UserDependencyClear) {
  Source source;
  ca::CacheDependency table("fencing.table");
  auto f = ca::cache({.backend = kMemory, .dependency = {table}},
                     [&](int) { return source.Read(); });
  EXPECT_EQ(RaceClear(
                source, [&] { return f(0); }, [&] { table.clear(); }),
            1);
  EXPECT_EQ(f(0), 2);
}

TEST(FencingTest, ClearThroughAnotherWrapperOfTheSameName) {
  Source source;
  auto computing = ca::cache({.backend = kMemory, .name = "fencing-sibling"},
                             [&](int) { return source.Read(); });
  auto other = ca::cache({.backend = kMemory, .name = "fencing-sibling"},
                         [&](int) { return source.Read(); });
  EXPECT_EQ(
      RaceClear(
          source, [&] { return computing(0); }, [&] { other.cache_clear(); }),
      1);
  EXPECT_EQ(computing(0), 2);
  EXPECT_EQ(other(0), 2);
}

}  // namespace
