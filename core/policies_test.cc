// Staleness and what is stored (issue 16), through the real MemoryCache
// plugin with the fake clock: TTL jitter, refresh-ahead, cached exceptions,
// `unless`, and the checks made when a function is wrapped. Async functions:
// //core:async_test; the same features on every backend against real
// servers: //core:backend_features_test.

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <limits>
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
using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr char kMemory[] = "cache_alchemy.backends.memory.MemoryCache";

struct NotFound : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct Gone : NotFound {
  using NotFound::NotFound;
};

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

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

void WaitForRefreshes() { ca::internal::TaskPool::Refresh().WaitIdle(); }

class PoliciesTest : public ::testing::Test {
 protected:
  // Background work holds the functions, which read the clock: it ends
  // before the clock does.
  void TearDown() override { WaitForRefreshes(); }

  ca::CacheOptions Opts() {
    return ca::CacheOptions{.expire = 100, .backend = kMemory};
  }
  ca::testing::FakeClock clock_;
  ca::testing::ScopedClockOverride use_clock_{&clock_};
};

std::string WrapError(const std::function<void()>& wrap) {
  try {
    wrap();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no error";
}

// --- Checks at wrap time ---

TEST_F(PoliciesTest, BadOptionsAreRefusedAtWrapTime) {
  auto fn = [](int a) { return a; };
  for (double bad : {1.0, -0.1, 1.5, std::nan("")}) {
    auto o = Opts();
    o.expire_jitter = bad;
    EXPECT_THAT(WrapError([&] { ca::cache(o, fn); }),
                HasSubstr("expire_jitter"))
        << bad;
  }
  auto o = Opts();
  o.expire_jitter = 0.999;
  EXPECT_EQ(WrapError([&] { ca::cache(o, fn); }), "no error");

  o = Opts();
  o.refresh_after = milliseconds(0);
  EXPECT_THAT(WrapError([&] { ca::cache(o, fn); }),
              HasSubstr("refresh_after is 0 ms"));
  o.refresh_after = seconds(100);  // == expire
  EXPECT_THAT(WrapError([&] { ca::cache(o, fn); }),
              AllOf(HasSubstr("refresh_after (100000 ms)"),
                    HasSubstr("shorter than expire (100 s)")));
  o.expire = -1;  // never expires: any positive refresh_after
  EXPECT_EQ(WrapError([&] { ca::cache(o, fn); }), "no error");

  o = Opts();
  o.cache_exceptions = ca::CacheExceptions<NotFound>(milliseconds(0));
  EXPECT_THAT(WrapError([&] { ca::cache(o, fn); }),
              HasSubstr("cache_exceptions needs a positive lifetime"));

  o = Opts();
  o.unless = [](const std::string& s) { return s.empty(); };
  EXPECT_THAT(WrapError([&] { ca::cache(o, fn); }),
              AllOf(HasSubstr("unless takes std::"), HasSubstr("string"),
                    HasSubstr("caches int")));
}

struct Service {
  Service() = default;
  Service(const Service&) = delete;
};

TEST_F(PoliciesTest, RefreshAheadNeedsCopyableArguments) {
  auto o = Opts();
  o.is_method = true;
  o.refresh_after = seconds(10);
  EXPECT_THAT(
      WrapError([&] { ca::cache(o, [](const Service&, int a) { return a; }); }),
      AllOf(HasSubstr("copies the arguments"), HasSubstr("Service"),
            HasSubstr("not copyable")));
}

TEST_F(PoliciesTest, EnvelopedFunctionsNeverShareEntriesWithPlainOnes) {
  int calls = 0;
  auto fn = [&](int a) { return ++calls * 100 + a; };
  auto o = Opts();
  o.name = "policies.identity";
  auto plain = ca::cache(o, fn);
  o.refresh_after = seconds(10);
  auto ahead = ca::cache(o, fn);
  auto o2 = Opts();
  o2.name = "policies.identity";
  o2.cache_exceptions = ca::CacheExceptions<NotFound>(seconds(1));
  auto negative = ca::cache(o2, fn);
  o2.cache_exceptions = ca::CacheExceptions<Gone>(seconds(1));
  auto other_negative = ca::cache(o2, fn);
  EXPECT_EQ(plain(1), 101);
  EXPECT_EQ(ahead(1), 201);
  EXPECT_EQ(negative(1), 301);
  EXPECT_EQ(other_negative(1), 401);
  EXPECT_EQ(plain(1), 101);
  EXPECT_EQ(ahead(1), 201);
  // Jitter and unless do not change what is stored: shared.
  auto o3 = Opts();
  o3.name = "policies.identity";
  o3.expire_jitter = 0.5;
  o3.unless = [](const int& v) { return v < 0; };
  EXPECT_EQ(ca::cache(o3, fn)(1), 101);
}

// --- TTL jitter ---

TEST_F(PoliciesTest, JitterSpreadsExpiriesOverTheWindowDeterministically) {
  auto o = Opts();
  o.limit = -1;
  o.expire_jitter = 0.2;  // 80..100 s
  auto f = ca::cache(o, [](int a) { return a; });
  auto g = ca::cache(o, [](int a) { return a; });
  for (int i = 0; i < 1000; ++i) {
    f(i);
    g(i);
  }
  clock_.Advance(milliseconds(79'999));
  EXPECT_EQ(f.size(), 1000);
  std::vector<int64_t> alive;
  for (int s = 80; s <= 100; s += 5) {
    clock_.Advance(s == 80 ? milliseconds(1) : seconds(5));
    alive.push_back(f.size());
    // The same keys written at the same time expire the same way.
    EXPECT_EQ(g.size(), f.size());
  }
  // 80 s: (nearly) all alive; then evenly fewer; 100 s: none.
  EXPECT_GE(alive[0], 990);
  EXPECT_NEAR(alive[2], 500, 100);  // 90 s: about half
  EXPECT_GT(alive[1], alive[2]);
  EXPECT_GT(alive[2], alive[3]);
  EXPECT_EQ(alive[4], 0);
}

TEST_F(PoliciesTest, NoJitterMeansTheFullExpire) {
  auto f = ca::cache(Opts(), [](int a) { return a; });
  for (int i = 0; i < 100; ++i) f(i);
  clock_.Advance(milliseconds(99'999));
  EXPECT_EQ(f.size(), 100);
  clock_.Advance(milliseconds(1));
  EXPECT_EQ(f.size(), 0);
}

// --- Refresh-ahead ---

TEST_F(PoliciesTest,
       RefreshAheadServesTheOldValueAndRecomputesInTheBackground) {
  auto o = Opts();
  o.refresh_after = seconds(10);
  std::atomic<int> calls{0};
  auto f = ca::cache(
      o, [&](const std::string& s) { return s + std::to_string(++calls); });
  EXPECT_EQ(f("v"), "v1");
  clock_.Advance(milliseconds(9'999));
  EXPECT_EQ(f("v"), "v1");
  WaitForRefreshes();
  EXPECT_EQ(calls.load(), 1);
  clock_.Advance(milliseconds(1));
  EXPECT_EQ(f("v"), "v1");  // at once: the old value
  WaitForRefreshes();
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ(f.refreshes(), 1);
  EXPECT_EQ(f("v"), "v2");  // a hit of the refreshed value
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ(f.misses(), 1);
  EXPECT_EQ(f.hits(), 3);
}

TEST_F(PoliciesTest, OneBackgroundRefreshPerKeyAtATime) {
  auto o = Opts();
  o.refresh_after = seconds(10);
  std::atomic<int> calls{0};
  Gate entered, release;
  auto f = ca::cache(o, [&](int a) {
    const int n = ++calls;
    if (n == 3) {  // the first refresh
      entered.Open();
      release.Wait();
    }
    return n * 100 + a;
  });
  f(1);
  f(2);
  clock_.Advance(seconds(10));
  EXPECT_EQ(f(1), 101);
  entered.Wait();  // the refresh of key 1 runs
  for (int i = 0; i < 20; ++i) EXPECT_EQ(f(1), 101);
  release.Open();
  WaitForRefreshes();
  EXPECT_EQ(calls.load(), 3);
  EXPECT_EQ(f(1), 301);
  EXPECT_EQ(f(2), 202);  // another key: its own refresh
  WaitForRefreshes();
  EXPECT_EQ(calls.load(), 4);
}

TEST_F(PoliciesTest, ABackgroundErrorKeepsTheOldValueAndIsCounted) {
  std::vector<std::string> logged;
  std::mutex log_mu;
  ca::SetLogSink([&](const ca::LogRecord& r) {
    std::lock_guard<std::mutex> lock(log_mu);
    logged.emplace_back(r.message);
  });
  auto o = Opts();
  o.refresh_after = seconds(10);
  std::atomic<int> calls{0};
  auto f = ca::cache(o, [&](int a) {
    if (++calls == 2) throw std::runtime_error("database down");
    return calls.load() * 100 + a;
  });
  EXPECT_EQ(f(1), 101);
  clock_.Advance(seconds(10));
  EXPECT_EQ(f(1), 101);
  WaitForRefreshes();
  EXPECT_EQ(f.refresh_errors(), 1);
  EXPECT_EQ(f.refreshes(), 0);
  EXPECT_EQ(f(1), 101);  // still there; a new refresh is scheduled
  WaitForRefreshes();
  EXPECT_EQ(f(1), 301);
  ca::SetLogSink(nullptr);
  std::lock_guard<std::mutex> lock(log_mu);
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_THAT(logged[0], HasSubstr("background refresh failed: database down"));
}

// A background recomputation started from a stale hit is fenced from that
// hit's lookup: a clear, an invalidation or a put that comes while it runs
// wins, in every case.
class RefreshFenceTest : public PoliciesTest,
                         public ::testing::WithParamInterface<const char*> {};

TEST_P(RefreshFenceTest, ARemovalDuringTheRecomputationWins) {
  const std::string how = GetParam();
  auto o = Opts();
  o.strict = true;
  o.refresh_after = seconds(10);
  std::atomic<int> calls{0};
  Gate entered, release;
  auto f = ca::cache(o, [&](int a) {
    const int n = ++calls;
    if (n == 2) {  // the background refresh: read the old data, then wait
      entered.Open();
      release.Wait();
    }
    return n * 100 + a;
  });
  EXPECT_EQ(f(1), 101);
  clock_.Advance(seconds(10));
  EXPECT_EQ(f(1), 101);
  entered.Wait();
  if (how == "clear") f.cache_clear();
  if (how == "partial") f.cache_clear(1);
  if (how == "invalidate") f.invalidate(1);
  if (how == "put") f.put(555, 1);
  if (how == "flush") ca::flush_cache(kMemory);
  release.Open();
  WaitForRefreshes();
  EXPECT_EQ(f.refreshes(), 0);
  if (how == "put") {
    EXPECT_EQ(f(1), 555);
  } else {
    EXPECT_EQ(f(1), 301);  // computed again, not the refresh's 201
  }
}

INSTANTIATE_TEST_SUITE_P(EveryRemoval, RefreshFenceTest,
                         ::testing::Values("clear", "partial", "invalidate",
                                           "put", "flush"));

TEST_F(PoliciesTest, RefreshThreadsFromConfigOrProgram) {
  {
    ca::config::DefaultConfig config({{"CACHE_ALCHEMY_REFRESH_THREADS", "3"}});
    auto o = Opts();
    o.refresh_after = seconds(1);
    ca::cache(o, [](int a) { return a; });
    EXPECT_EQ(ca::refresh_threads(), 3);
  }
  EXPECT_THROW(ca::set_refresh_threads(0), std::invalid_argument);
  ca::set_refresh_threads(4);
  EXPECT_EQ(ca::refresh_threads(), 4);
  {
    // The program's setting wins from now on.
    ca::config::DefaultConfig config({{"CACHE_ALCHEMY_REFRESH_THREADS", "1"}});
    auto o = Opts();
    o.refresh_after = seconds(1);
    ca::cache(o, [](int a) { return a; });
    EXPECT_EQ(ca::refresh_threads(), 4);
  }
  ca::set_refresh_threads(2);
}

TEST_F(PoliciesTest, AForkedChildRefreshesWithAPoolOfItsOwn) {
  auto o = Opts();
  o.refresh_after = seconds(10);
  std::atomic<int> calls{0};
  auto f = ca::cache(o, [&](int a) { return ++calls * 100 + a; });
  f(1);
  f(2);
  clock_.Advance(seconds(10));
  f(1);  // the parent's pool threads run now
  WaitForRefreshes();
  ASSERT_GT(ca::internal::TaskPool::Refresh().threads(), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    // No thread of the parent's pool exists here.
    if (ca::internal::TaskPool::Refresh().threads() != 0) _exit(1);
    if (f(2) != 202) _exit(2);  // stale: refreshed in the background
    WaitForRefreshes();
    if (f(2) != 402) _exit(3);  // calls: 3 before the fork, 4th here
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(f(2), 202);  // the child's work stayed in the child
  // That hit was stale too: its background refresh uses `calls`, which
  // must outlive it (ASan's stack-use-after-return caught it running after
  // the test returned).
  WaitForRefreshes();
}

// --- Cached exceptions ---

TEST_F(PoliciesTest, ACachedExceptionIsRethrownUntilItsTtl) {
  auto o = Opts();
  o.cache_exceptions = ca::CacheExceptions<NotFound>(seconds(5));
  int calls = 0;
  auto f = ca::cache(o, [&](int a) -> int {
    ++calls;
    if (a < 0) throw NotFound("no user " + std::to_string(a));
    if (a == 0) throw std::logic_error("bug");
    return a;
  });
  const void* first = nullptr;
  try {
    f(-1);
  } catch (const NotFound& e) {
    first = &e;
    EXPECT_STREQ(e.what(), "no user -1");
  }
  try {
    f(-1);
    ADD_FAILURE() << "no exception";
  } catch (const NotFound& e) {
    // In-process backends keep the exception object itself.
    EXPECT_EQ(&e, first);
  }
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(f.hits(), 1);
  EXPECT_THROW(f(0), std::logic_error);  // not a cached type
  EXPECT_THROW(f(0), std::logic_error);
  EXPECT_EQ(calls, 3);
  clock_.Advance(milliseconds(4'999));
  EXPECT_THROW(f(-1), NotFound);
  EXPECT_EQ(calls, 3);
  clock_.Advance(milliseconds(1));
  EXPECT_THROW(f(-1), NotFound);  // computed again
  EXPECT_EQ(calls, 4);
  // Values are cached as before, and a cached exception goes with a clear.
  EXPECT_EQ(f(5), 5);
  EXPECT_EQ(f(5), 5);
  EXPECT_EQ(f.invalidate(-1), 1);
  EXPECT_THROW(f(-1), NotFound);
  EXPECT_EQ(calls, 6);
}

TEST_F(PoliciesTest, DerivedTypesMatchAndTheTtlNeverExceedsExpire) {
  auto o = Opts();
  o.expire = 2;
  o.cache_exceptions =
      ca::CacheExceptions<std::logic_error, NotFound>(seconds(60));
  int calls = 0;
  auto f = ca::cache(o, [&](int) -> int {
    ++calls;
    throw Gone("gone");
  });
  EXPECT_THROW(f(1), Gone);
  EXPECT_THROW(f(1), Gone);
  EXPECT_EQ(calls, 1);
  clock_.Advance(seconds(2));  // the function's expire, not 60 s
  EXPECT_THROW(f(1), Gone);
  EXPECT_EQ(calls, 2);
}

TEST_F(PoliciesTest, CallersJoiningAComputationGetItsException) {
  auto o = Opts();
  o.cache_exceptions = ca::CacheExceptions<NotFound>(seconds(5));
  std::atomic<int> calls{0};
  Gate entered, release;
  auto f = ca::cache(o, [&](int) -> int {
    ++calls;
    entered.Open();
    release.Wait();
    throw NotFound("missing");
  });
  std::atomic<int> thrown{0};
  std::thread leader([&] {
    try {
      f(1);
    } catch (const NotFound&) {
      ++thrown;
    }
  });
  entered.Wait();
  std::thread joiner([&] {
    try {
      f(1);
    } catch (const NotFound&) {
      ++thrown;
    }
  });
  std::this_thread::sleep_for(milliseconds(20));
  release.Open();
  leader.join();
  joiner.join();
  EXPECT_EQ(thrown.load(), 2);
  EXPECT_EQ(calls.load(), 1);
}

TEST_F(PoliciesTest, AClearDuringTheComputationKeepsTheExceptionOut) {
  auto o = Opts();
  o.cache_exceptions = ca::CacheExceptions<NotFound>(seconds(5));
  std::atomic<int> calls{0};
  Gate entered, release;
  auto f = ca::cache(o, [&](int) -> int {
    if (++calls == 1) {
      entered.Open();
      release.Wait();
      throw NotFound("missing");  // from data older than the clear
    }
    return 7;
  });
  std::thread leader([&] { EXPECT_THROW(f(1), NotFound); });
  entered.Wait();
  f.cache_clear();
  release.Open();
  leader.join();
  EXPECT_EQ(f(1), 7);
}

// --- unless ---

TEST_F(PoliciesTest, UnlessSkipsStoringSomeResults) {
  auto o = Opts();
  o.unless = [](const std::vector<int>& rows) { return rows.empty(); };
  int calls = 0;
  auto f = ca::cache(o, [&](int n) {
    ++calls;
    return std::vector<int>(n, 1);
  });
  EXPECT_TRUE(f(0).empty());
  EXPECT_TRUE(f(0).empty());
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(f(2).size(), 2u);
  EXPECT_EQ(f(2).size(), 2u);
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(f.size(), 1);
}

// A predicate that throws (it must not) stores nothing, and the callers
// that joined the computation still get its value.
TEST_F(PoliciesTest, AThrowingUnlessStoresNothingAndHangsNoOne) {
  auto o = Opts();
  o.unless = [](const int&) -> bool { throw std::runtime_error("oops"); };
  std::atomic<int> calls{0};
  Gate entered, release;
  auto f = ca::cache(o, [&](int a) {
    ++calls;
    entered.Open();
    release.Wait();
    return a;
  });
  std::atomic<int> sum{0};
  std::thread leader([&] { sum += f(1); });
  entered.Wait();
  std::thread joiner([&] { sum += f(1); });
  std::this_thread::sleep_for(milliseconds(20));
  release.Open();
  leader.join();
  joiner.join();
  EXPECT_EQ(sum.load(), 2);
  EXPECT_EQ(f.size(), 0);
  EXPECT_GE(f.errors(), 1);
}

TEST_F(PoliciesTest, UnlessAlsoGovernsBackgroundRefreshes) {
  auto o = Opts();
  o.refresh_after = seconds(10);
  o.unless = [](const int& v) { return v < 0; };
  std::atomic<int> calls{0};
  auto f = ca::cache(o, [&](int) { return ++calls == 1 ? 1 : -1; });
  EXPECT_EQ(f(0), 1);
  clock_.Advance(seconds(10));
  EXPECT_EQ(f(0), 1);
  WaitForRefreshes();
  // The fresh result is not to be stored, and the old one must not outlive
  // it: the entry is gone.
  EXPECT_EQ(f.size(), 0);
  EXPECT_EQ(f(0), -1);
}

}  // namespace
