// Proves the TSan build sees what it must: data guarded by absl::Mutex (Lock,
// ReaderLock, Await, CondVar, Notification) is not reported, and a real
// race still is (a death test: TSan halts on the report). Under a build
// without TSan the tests have nothing to prove and are skipped.

#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace {

#if defined(__SANITIZE_THREAD__)
constexpr bool kTsan = true;
#else
constexpr bool kTsan = false;
#endif

TEST(AbslMutexAnnotationsTest, GuardedDataIsNotReported) {
  if (!kTsan) GTEST_SKIP() << "not a TSan build";
  absl::Mutex mu;
  std::vector<int> guarded;  // plain memory, only touched under mu
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        if (i % 3 == 0) {
          absl::ReaderMutexLock lock(&mu);
          (void)guarded.size();
        } else {
          absl::MutexLock lock(&mu);
          guarded.push_back(t * 1000 + i);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(guarded.size(), 4u * 133u);
}

TEST(AbslMutexAnnotationsTest, AwaitCondVarAndNotificationHandOffData) {
  if (!kTsan) GTEST_SKIP() << "not a TSan build";
  absl::Mutex mu;
  absl::CondVar cv;
  bool ready = false;
  std::string payload;  // written before the hand-off, read after it
  std::thread producer([&] {
    payload = "computed";
    absl::MutexLock lock(&mu);
    ready = true;
    cv.Signal();
  });
  {
    absl::MutexLock lock(&mu);
    while (!ready) cv.Wait(&mu);
  }
  EXPECT_EQ(payload, "computed");
  producer.join();

  bool done = false;
  std::string second;
  std::thread writer([&] {
    second = "awaited";
    absl::MutexLock lock(&mu);
    done = true;
  });
  {
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(&done));
  }
  EXPECT_EQ(second, "awaited");
  writer.join();

  // Both orders: the waiter first (it blocks on the mutex) and the notifier
  // first (the waiter returns on the flag, without the mutex).
  for (bool notify_first : {false, true}) {
    absl::Notification notified;
    std::string third;
    std::thread notifier([&] {
      third = "notified";
      notified.Notify();
    });
    if (notify_first) {
      while (!notified.HasBeenNotified()) std::this_thread::yield();
    }
    notified.WaitForNotification();
    EXPECT_EQ(third, "notified");
    notifier.join();
  }
}

// The annotations do not blind TSan: an unguarded write racing with a read
// is still reported (and halts the process, as in CI).
TEST(AbslMutexAnnotationsDeathTest, AnUnguardedRaceIsStillReported) {
  if (!kTsan) GTEST_SKIP() << "not a TSan build";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        absl::Mutex unrelated;
        long racy = 0;
        std::thread writer([&] {
          for (int i = 0; i < 1000; ++i) racy = racy + 1;
        });
        for (int i = 0; i < 1000; ++i) {
          absl::MutexLock lock(&unrelated);  // a lock, but not racy's
          racy = racy + 1;
        }
        writer.join();
      },
      "ThreadSanitizer: data race");
}

}  // namespace
