// A process that uses the library can fork() while its other threads are
// inside absl::Mutex operations (a Redis subscriber, a user's worker), and
// the child does not hang on its first lock. Debian's Abseil (no NDEBUG)
// runs deadlock detection under one process-wide spin lock; a fork while
// another thread held it left the child hanging (core/cache.cc turns the
// detection off when the library loads).

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "cache_alchemy/cache_alchemy.h"
#include "gtest/gtest.h"

namespace ca = cache_alchemy;

namespace {

// Waits up to `timeout` for `pid`; kills it and returns false if it has not
// exited by then.
bool ExitsWithin(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      return WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return false;
}

TEST(ForkSafetyTest, ChildLocksWhileParentThreadsHeldAbslMutexes) {
  // The library is in use (and loaded) in this process.
  auto f = ca::cache({.backend = "cache_alchemy.backends.memory.MemoryCache"},
                     [](int x) { return x + 1; });
  EXPECT_EQ(f(1), 2);
  std::atomic<bool> stop{false};
  std::vector<std::thread> workers;
  for (int t = 0; t < 2; ++t) {
    workers.emplace_back([&stop] {
      absl::Mutex a, b;
      while (!stop.load(std::memory_order_relaxed)) {
        absl::MutexLock la(&a);
        absl::MutexLock lb(&b);  // an order for the detector to record
      }
    });
  }
  int hung = 0;
  for (int i = 0; i < 200 && hung == 0; ++i) {
    const pid_t pid = fork();
    if (pid == 0) {
      absl::Mutex m;
      m.Lock();
      m.Unlock();
      _exit(0);
    }
    if (!ExitsWithin(pid, std::chrono::seconds(10))) ++hung;
  }
  stop = true;
  for (auto& w : workers) w.join();
  EXPECT_EQ(hung, 0) << "a forked child hung on its first absl::Mutex lock";
}

}  // namespace
