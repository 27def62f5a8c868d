// Async cached functions (issue 16): a function returning std::future<T> or
// std::shared_future<T> caches the T when it arrives, joins concurrent misses
// onto one computation, never stores a failed one, and is fenced like any
// miss (a clear while it is pending: not stored). Through the real
// MemoryCache plugin; the other backends: //core:backend_features_test.

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cache_alchemy/cache_alchemy.h"
#include "core/internal/task_pool.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/fake_clock.h"

namespace ca = cache_alchemy;

namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kMemory[] = "cache_alchemy.backends.memory.MemoryCache";

// Waits until every pending computation was delivered and stored (or
// refused): only when none is left pending.
void WaitForStores() { ca::internal::TaskPool::Waiters().WaitIdle(); }

bool Ready(const auto& future, milliseconds within = milliseconds(0)) {
  return future.wait_for(within) == std::future_status::ready;
}

// Computations a test completes by hand: each call of the wrapped function
// gets the next promise's future.
class Promises {
 public:
  std::future<int> Next() {
    std::lock_guard<std::mutex> lock(mu_);
    promises_.push_back(std::make_shared<std::promise<int>>());
    return promises_.back()->get_future();
  }
  std::promise<int>& operator[](size_t i) {
    std::lock_guard<std::mutex> lock(mu_);
    return *promises_.at(i);
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return promises_.size();
  }

 private:
  std::mutex mu_;
  std::vector<std::shared_ptr<std::promise<int>>> promises_;
};

class AsyncTest : public ::testing::Test {
 protected:
  void TearDown() override {
    ca::internal::TaskPool::Refresh().WaitIdle();
    WaitForStores();
  }
};

TEST_F(AsyncTest, CachesTheValueNotTheFuture) {
  std::atomic<int> calls{0};
  auto f = ca::cache({.backend = kMemory}, [&](int a) {
    ++calls;
    return std::async(std::launch::async, [a] { return a * 2; });
  });
  std::future<int> first = f(21);
  EXPECT_EQ(first.get(), 42);
  WaitForStores();
  std::future<int> second = f(21);
  EXPECT_TRUE(Ready(second));  // a hit is ready at once
  EXPECT_EQ(second.get(), 42);
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(f.hits(), 1);
  EXPECT_EQ(f.misses(), 1);
  EXPECT_EQ(f.size(), 1);
}

TEST_F(AsyncTest, SharedFuturesToo) {
  std::atomic<int> calls{0};
  auto f = ca::cache({.backend = kMemory}, [&](std::string s) {
    ++calls;
    std::promise<std::string> p;
    p.set_value(s + "!");
    return p.get_future().share();
  });
  std::shared_future<std::string> a = f("x");
  EXPECT_EQ(a.get(), "x!");
  EXPECT_EQ(f("x").get(), "x!");
  EXPECT_EQ(calls.load(), 1);
}

TEST_F(AsyncTest, ConcurrentMissesJoinOneComputation) {
  Promises promises;
  std::atomic<int> calls{0};
  auto f = ca::cache({.backend = kMemory}, [&](int) {
    ++calls;
    return promises.Next();
  });
  std::vector<std::future<int>> futures;
  for (int i = 0; i < 5; ++i) futures.push_back(f(7));
  EXPECT_EQ(calls.load(), 1);
  for (auto& fu : futures) EXPECT_FALSE(Ready(fu));
  promises[0].set_value(70);
  for (auto& fu : futures) EXPECT_EQ(fu.get(), 70);
  WaitForStores();
  EXPECT_EQ(f(7).get(), 70);
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(f.misses(), 1);
  EXPECT_EQ(f.hits(), 5);
}

TEST_F(AsyncTest, AFailedComputationIsNeverStored) {
  Promises promises;
  auto f =
      ca::cache({.backend = kMemory}, [&](int) { return promises.Next(); });
  std::future<int> a = f(1), b = f(1);
  promises[0].set_exception(
      std::make_exception_ptr(std::runtime_error("backend timeout")));
  EXPECT_THROW(a.get(), std::runtime_error);
  EXPECT_THROW(b.get(), std::runtime_error);
  WaitForStores();
  std::future<int> c = f(1);  // computed again
  ASSERT_EQ(promises.size(), 2u);
  promises[1].set_value(5);
  EXPECT_EQ(c.get(), 5);
}

TEST_F(AsyncTest, AThrowBeforeTheFutureReachesTheCallerAndIsNotStored) {
  std::atomic<int> calls{0};
  auto f = ca::cache({.backend = kMemory}, [&](int a) -> std::future<int> {
    if (++calls == 1) throw std::invalid_argument("bad request");
    std::promise<int> p;
    p.set_value(a);
    return p.get_future();
  });
  EXPECT_THROW(f(1), std::invalid_argument);
  EXPECT_EQ(f(1).get(), 1);
  EXPECT_EQ(calls.load(), 2);
}

TEST_F(AsyncTest, AClearWhilePendingKeepsTheValueOut) {
  Promises promises;
  auto f =
      ca::cache({.backend = kMemory}, [&](int) { return promises.Next(); });
  std::future<int> before = f(1);  // reads the old data
  EXPECT_EQ(f.cache_clear(), 0);
  promises[0].set_value(1);    // the old value arrives after the clear
  EXPECT_EQ(before.get(), 1);  // delivered to who asked before the clear
  WaitForStores();
  EXPECT_EQ(f.size(), 0);  // but not stored
  std::future<int> next = f(1);
  ASSERT_EQ(promises.size(), 2u);
  promises[1].set_value(2);
  EXPECT_EQ(next.get(), 2);
}

TEST_F(AsyncTest, CallersAfterAClearDoNotJoinAComputationFromBefore) {
  Promises promises;
  auto f =
      ca::cache({.backend = kMemory}, [&](int) { return promises.Next(); });
  std::future<int> before = f(1);
  f.cache_clear();
  std::future<int> after = f(1);  // its own computation
  ASSERT_EQ(promises.size(), 2u);
  promises[0].set_value(1);
  EXPECT_EQ(before.get(), 1);
  EXPECT_FALSE(Ready(after));
  promises[1].set_value(2);
  EXPECT_EQ(after.get(), 2);
  WaitForStores();
  EXPECT_EQ(f(1).get(), 2);
}

TEST_F(AsyncTest, InvalidatePutAndRefreshFenceAPendingComputation) {
  Promises promises;
  auto f =
      ca::cache({.backend = kMemory}, [&](int) { return promises.Next(); });
  std::future<int> pending = f(1);
  EXPECT_TRUE(f.put(9, 1));
  promises[0].set_value(1);
  EXPECT_EQ(pending.get(), 1);
  WaitForStores();
  EXPECT_EQ(f(1).get(), 9);  // the put value, not the pending one's
  std::future<int> refreshed = f.refresh(1);
  ASSERT_EQ(promises.size(), 2u);
  promises[1].set_value(10);
  EXPECT_EQ(refreshed.get(), 10);
  WaitForStores();
  EXPECT_EQ(f(1).get(), 10);
  EXPECT_EQ(f.invalidate(1), 1);
  std::future<int> again = f(1);
  ASSERT_EQ(promises.size(), 3u);
  promises[2].set_value(11);
  EXPECT_EQ(again.get(), 11);
}

TEST_F(AsyncTest, TheValueIsStoredEvenIfNobodyWaits) {
  Promises promises;
  auto f =
      ca::cache({.backend = kMemory}, [&](int) { return promises.Next(); });
  f(1);  // the future is dropped at once
  promises[0].set_value(5);
  WaitForStores();
  std::future<int> hit = f(1);
  EXPECT_TRUE(Ready(hit));
  EXPECT_EQ(hit.get(), 5);
  EXPECT_EQ(promises.size(), 1u);
}

// A caller never waits for anything but its computation: pending futures of
// other calls (any number of them) do not delay it, since each is waited
// for on a thread of its own.
TEST_F(AsyncTest, ACallerWaitsForItsComputationOnly) {
  Promises promises;
  auto f = ca::cache({.limit = -1, .backend = kMemory},
                     [&](int) { return promises.Next(); });
  std::vector<std::future<int>> stuck;
  for (int i = 0; i < 50; ++i) stuck.push_back(f(i));  // never completed yet
  std::future<int> mine = f(1000);
  std::thread completer([&] {
    std::this_thread::sleep_for(milliseconds(10));
    promises[50].set_value(1);
  });
  EXPECT_TRUE(Ready(mine, seconds(5)));
  completer.join();
  EXPECT_EQ(mine.get(), 1);
  for (int i = 0; i < 50; ++i) promises[i].set_value(i);
  for (auto& s : stuck) s.get();
}

// A child forked while a computation is pending in the parent: the thread
// that would finish it is not in the child, so a caller there starts its
// own instead of waiting forever (async and plain functions alike).
TEST_F(AsyncTest, AForkedChildNeverJoinsItsParentsPendingComputation) {
  Promises promises;
  auto f =
      ca::cache({.backend = kMemory}, [&](int) { return promises.Next(); });
  std::future<int> pending = f(1);
  std::promise<void> entered, release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<bool> first{true};
  auto g = ca::cache({.backend = kMemory}, [&](int a) {
    if (first.exchange(false)) {  // the parent's leader
      entered.set_value();
      released.wait();
    }
    return a;
  });
  std::thread leader([&] { g(1); });
  entered.get_future().wait();
  const pid_t pid = fork();
  if (pid == 0) {
    std::future<int> mine = f(1);
    if (promises.size() != 2) _exit(1);
    promises[1].set_value(2);
    if (!Ready(mine, seconds(5)) || mine.get() != 2) _exit(2);
    // g's leader thread is blocked in the parent only.
    auto async_g = std::async(std::launch::async, [&] { return g(1); });
    if (async_g.wait_for(seconds(5)) != std::future_status::ready) _exit(3);
    if (async_g.get() != 1) _exit(4);
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  release.set_value();
  leader.join();
  promises[0].set_value(1);
  EXPECT_EQ(pending.get(), 1);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST_F(AsyncTest, CachedExceptionsAndUnless) {
  struct NotFound : std::runtime_error {
    using std::runtime_error::runtime_error;
  };
  std::atomic<int> calls{0};
  auto f =
      ca::cache({.backend = kMemory,
                 .cache_exceptions = ca::CacheExceptions<NotFound>(seconds(5)),
                 .unless = [](const int& v) { return v == 0; }},
                [&](int a) {
                  ++calls;
                  std::promise<int> p;
                  if (a < 0) {
                    p.set_exception(std::make_exception_ptr(NotFound("none")));
                  } else {
                    p.set_value(a);
                  }
                  return p.get_future();
                });
  EXPECT_THROW(f(-1).get(), NotFound);
  EXPECT_THROW(f(-1).get(), NotFound);  // cached
  EXPECT_EQ(f(0).get(), 0);
  EXPECT_EQ(f(0).get(), 0);  // not stored (unless)
  EXPECT_EQ(calls.load(), 3);
}

TEST_F(AsyncTest, RefreshAhead) {
  ca::testing::FakeClock clock;
  ca::testing::ScopedClockOverride use(&clock);
  std::atomic<int> calls{0};
  auto f = ca::cache(
      {.expire = 100, .backend = kMemory, .refresh_after = seconds(10)},
      [&](int a) {
        return std::async(std::launch::async,
                          [&calls, a] { return ++calls * 100 + a; });
      });
  EXPECT_EQ(f(1).get(), 101);
  WaitForStores();
  clock.Advance(seconds(10));
  std::future<int> stale = f(1);
  EXPECT_TRUE(Ready(stale));
  EXPECT_EQ(stale.get(), 101);
  ca::internal::TaskPool::Refresh().WaitIdle();
  EXPECT_EQ(f(1).get(), 201);
  EXPECT_EQ(f.refreshes(), 1);
}

}  // namespace
