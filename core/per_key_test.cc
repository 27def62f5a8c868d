// The per-key operations of every cached function (issue 16): invalidate,
// put, refresh and uncached, through the real MemoryCache plugin. Each
// removal is fenced like a clear: a computation that read the data before
// it is not stored after it (the tests hold a leader inside the function,
// as core/fencing_test.cc does). The same operations on every other backend,
// against real servers: //core:backend_features_test.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "cache_alchemy/cache_alchemy.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ca = cache_alchemy;

namespace {

constexpr char kMemory[] = "cache_alchemy.backends.memory.MemoryCache";

// A one-shot gate (std:: only: no absl::Notification in these tests).
class Gate {
 public:
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return open_; });
  }
  bool IsOpen() {
    std::lock_guard<std::mutex> lock(mu_);
    return open_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// The data a cached function reads, and a gate that holds its first
// computation after the read.
struct Source {
  std::atomic<int> version{1};
  std::atomic<int> reads{0};
  Gate entered, release;

  int Read() {
    const int seen = version.load();
    ++reads;
    if (!entered.IsOpen()) {
      entered.Open();
      release.Wait();
    }
    return seen;
  }
};

// Runs `call` on a thread until its computation has read version 1, changes
// the data to version 2, runs `change` (which must make the old value
// unstorable), lets the computation finish, and returns what it returned.
int Race(Source& source, const std::function<int()>& call,
         const std::function<void()>& change) {
  int first = 0;
  std::thread caller([&] { first = call(); });
  source.entered.Wait();
  source.version.store(2);
  change();
  source.release.Open();
  caller.join();
  return first;
}

TEST(PerKeyTest, InvalidateRemovesExactlyThatEntry) {
  int calls = 0;
  auto f = ca::cache({.backend = kMemory}, [&](int a, std::string b) {
    ++calls;
    return b + std::to_string(a);
  });
  f(1, "x");
  f(2, "x");
  f(1, "y");
  EXPECT_EQ(f.size(), 3);
  EXPECT_EQ(f.invalidate(1, "x"), 1);
  EXPECT_EQ(f.invalidate(1, "x"), 0);  // gone already
  EXPECT_EQ(f.size(), 2);
  f(2, "x");
  f(1, "y");
  EXPECT_EQ(calls, 3);  // the others stayed
  f(1, "x");
  EXPECT_EQ(calls, 4);
}

TEST(PerKeyTest, InvalidateOnAStrictFunctionAndAMethod) {
  struct Service {};
  int calls = 0;
  auto f = ca::cache({.is_method = true, .strict = true, .backend = kMemory},
                     [&](const Service&, int a) {
                       ++calls;
                       return a;
                     });
  const Service s1, s2;
  f(s1, 1);
  f(s1, 2);
  // The object is not part of the key: any instance names the entry.
  EXPECT_EQ(f.invalidate(s2, 1), 1);
  f(s1, 2);
  EXPECT_EQ(calls, 2);
  f(s1, 1);
  EXPECT_EQ(calls, 3);
}

TEST(PerKeyTest, InvalidateCascadesAsAClearWithEveryParameterGiven) {
  auto root = ca::cache({.backend = kMemory, .params = {"user"}},
                        [](int user) { return user; });
  int strict_calls = 0, plain_calls = 0, unnamed_calls = 0;
  // Strict with the same parameter name: loses exactly the matching entries.
  auto precise = ca::cache({.strict = true,
                            .backend = kMemory,
                            .dependency = {ca::FunctionCacheDependency(root)},
                            .params = {"user", "day"}},
                           [&](int user, int day) {
                             ++strict_calls;
                             return user * 100 + day;
                           });
  // Not strict: cleared fully.
  auto plain = ca::cache(
      {.backend = kMemory, .dependency = {ca::FunctionCacheDependency(root)}},
      [&](int user) {
        ++plain_calls;
        return user;
      });
  // Strict without names: cannot apply it precisely, cleared fully.
  auto unnamed = ca::cache({.strict = true,
                            .backend = kMemory,
                            .dependency = {ca::FunctionCacheDependency(root)}},
                           [&](int user) {
                             ++unnamed_calls;
                             return user;
                           });
  root(7);
  root(8);
  precise(7, 1);
  precise(7, 2);
  precise(8, 1);
  plain(7);
  plain(8);
  unnamed(8);
  // 1 (root) + 2 (precise: user 7) + 2 (plain) + 1 (unnamed).
  EXPECT_EQ(root.invalidate(7), 6);
  EXPECT_EQ(root.size(), 1);
  precise(8, 1);
  EXPECT_EQ(strict_calls, 3);  // user 8 stayed
  precise(7, 1);
  EXPECT_EQ(strict_calls, 4);
  plain(8);
  EXPECT_EQ(plain_calls, 3);
  unnamed(8);
  EXPECT_EQ(unnamed_calls, 2);
}

TEST(PerKeyTest, InvalidateFencesAComputationThatReadBefore) {
  Source source;
  auto f = ca::cache({.backend = kMemory}, [&](int) { return source.Read(); });
  EXPECT_EQ(Race(
                source, [&] { return f(0); }, [&] { f.invalidate(0); }),
            1);
  EXPECT_EQ(f(0), 2);
}

TEST(PerKeyTest, InvalidateThroughAnotherWrapperOfTheSameName) {
  Source source;
  auto computing = ca::cache({.backend = kMemory, .name = "per-key.sibling"},
                             [&](int) { return source.Read(); });
  auto other = ca::cache({.backend = kMemory, .name = "per-key.sibling"},
                         [&](int) { return source.Read(); });
  EXPECT_EQ(
      Race(
          source, [&] { return computing(0); }, [&] { other.invalidate(0); }),
      1);
  EXPECT_EQ(computing(0), 2);
}

TEST(PerKeyTest, InvalidateFencesADependentsComputation) {
  Source source;
  auto root = ca::cache({.backend = kMemory}, [](int x) { return x; });
  auto dependent = ca::cache(
      {.backend = kMemory, .dependency = {ca::FunctionCacheDependency(root)}},
      [&](int x) { return root(x) * 0 + source.Read(); });
  EXPECT_EQ(
      Race(
          source, [&] { return dependent(0); }, [&] { root.invalidate(0); }),
      1);
  EXPECT_EQ(dependent(0), 2);
}

TEST(PerKeyTest, PutStoresWithoutCallingAndCascades) {
  int calls = 0, dependent_calls = 0;
  auto f = ca::cache({.backend = kMemory}, [&](int a) {
    ++calls;
    return a;
  });
  auto dependent = ca::cache(
      {.backend = kMemory, .dependency = {ca::FunctionCacheDependency(f)}},
      [&](int a) {
        ++dependent_calls;
        return f(a) + 1;
      });
  EXPECT_TRUE(f.put(42, 1));
  EXPECT_EQ(f(1), 42);
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(dependent(1), 43);
  EXPECT_EQ(dependent_calls, 1);
  // Write-through: a new value replaces the old, and what was computed from
  // the old one goes.
  EXPECT_TRUE(f.put(50, 1));
  EXPECT_EQ(f(1), 50);
  EXPECT_EQ(dependent(1), 51);
  EXPECT_EQ(dependent_calls, 2);
  EXPECT_EQ(calls, 0);
}

TEST(PerKeyTest, PutFencesAComputationThatReadBefore) {
  Source source;
  auto f = ca::cache({.backend = kMemory}, [&](int) { return source.Read(); });
  // A writer changed the data and puts the new value while a reader is
  // still computing from the old data: the reader's value must not replace
  // the put one.
  EXPECT_EQ(Race(
                source, [&] { return f(0); }, [&] { f.put(2, 0); }),
            1);
  EXPECT_EQ(f(0), 2);
  EXPECT_EQ(source.reads.load(), 1);  // a hit of the put value
}

TEST(PerKeyTest, PutHonoursUnless) {
  auto f = ca::cache(
      {.backend = kMemory, .unless = [](const int& v) { return v < 0; }},
      [](int a) { return a; });
  EXPECT_FALSE(f.put(-1, 5));
  EXPECT_EQ(f.size(), 0);
  EXPECT_TRUE(f.put(1, 5));
  EXPECT_EQ(f(5), 1);
}

TEST(PerKeyTest, RefreshRecomputesAndReplaces) {
  int calls = 0;
  auto f = ca::cache({.backend = kMemory}, [&](int a) { return ++calls * a; });
  EXPECT_EQ(f(10), 10);
  EXPECT_EQ(f(10), 10);
  EXPECT_EQ(f.refresh(10), 20);
  EXPECT_EQ(f(10), 20);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(f.misses(), 2);
}

TEST(PerKeyTest, RefreshFencesAComputationThatReadBefore) {
  Source source;
  std::atomic<bool> first{true};
  auto f = ca::cache({.backend = kMemory}, [&](int) {
    if (first.exchange(false)) return source.Read();
    return source.version.load() * 10;
  });
  int refreshed = 0;
  EXPECT_EQ(
      Race(
          source, [&] { return f(0); }, [&] { refreshed = f.refresh(0); }),
      1);
  EXPECT_EQ(refreshed, 20);
  EXPECT_EQ(f(0), 20);  // the refreshed value, not the held leader's 1
}

TEST(PerKeyTest, CallersDuringARefreshWaitForIt) {
  Gate entered, release;
  std::atomic<int> calls{0};
  auto f = ca::cache({.backend = kMemory}, [&](int) {
    const int n = ++calls;
    if (n == 2) {  // the refresh
      entered.Open();
      release.Wait();
    }
    return n;
  });
  EXPECT_EQ(f(0), 1);
  int refreshed = 0, joined = 0;
  std::thread refresher([&] { refreshed = f.refresh(0); });
  entered.Wait();
  std::thread caller([&] { joined = f(0); });
  // The caller finds no entry and joins the refresh's computation.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  release.Open();
  refresher.join();
  caller.join();
  EXPECT_EQ(refreshed, 2);
  EXPECT_EQ(joined, 2);
  EXPECT_EQ(calls.load(), 2);
}

TEST(PerKeyTest, UncachedNeitherReadsNorStores) {
  int calls = 0;
  auto f = ca::cache({.backend = kMemory}, [&](int a) { return ++calls + a; });
  EXPECT_EQ(f(1), 2);
  EXPECT_EQ(f.uncached(1), 3);
  EXPECT_EQ(f.uncached(1), 4);
  EXPECT_EQ(f(1), 2);  // the cached value stayed
  EXPECT_EQ(f.hits(), 1);
  EXPECT_EQ(f.misses(), 1);
}

TEST(PerKeyTest, PassThroughFunctions) {
  int calls = 0;
  auto f = ca::cache({.limit = 0, .backend = kMemory},
                     [&](int a) { return ++calls + a; });
  EXPECT_EQ(f.invalidate(1), 0);
  EXPECT_FALSE(f.put(5, 1));
  EXPECT_EQ(f.refresh(1), 2);
  EXPECT_EQ(f(1), 3);
}

}  // namespace
