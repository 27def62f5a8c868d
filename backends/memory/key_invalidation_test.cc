// DistributedMemoryCache's one-key invalidation (f.invalidate(args...),
// f.put(...)) across processes (fork), against a private redis-server: the
// key's copy is dropped in every other process and nothing else is, in
// either direction, and a computation in another process that began before
// the invalidation is not kept there.
//
// "After the invalidation has returned" means what push_invalidation_test.cc
// says of clears: process A's call returned, A told B so (a pipe), and B's
// subscriber has applied every message up to A's (its
// invalidations_received counter moved).

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "cache_alchemy/cache_alchemy.h"
#include "gtest/gtest.h"
#include "testing/redis_server.h"

namespace ca = cache_alchemy;

namespace {

using ::cache_alchemy::testing::SharedRedisServer;

constexpr char kBackend[] =
    "cache_alchemy.backends.memory.DistributedMemoryCache";

int64_t Stat(const std::string& name) {
  return ca::backend_stats(kBackend)[name];
}

bool WaitFor(const std::function<bool()>& done, int ms = 3000) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

// A forked child with a pipe each way carrying int64 messages.
class Child {
 public:
  explicit Child(const std::function<int(Child&)>& body) {
    int down[2], up[2];
    if (pipe(down) != 0 || pipe(up) != 0) std::abort();
    pid_ = fork();
    if (pid_ == 0) {
      close(down[1]);
      close(up[0]);
      in_ = down[0];
      out_ = up[1];
      const int code = body(*this);
      std::fflush(stderr);
      _exit(code);
    }
    close(down[0]);
    close(up[1]);
    in_ = up[0];
    out_ = down[1];
  }
  void Send(int64_t v) {
    if (write(out_, &v, sizeof(v)) != sizeof(v)) std::abort();
  }
  int64_t Receive() {
    pollfd p = {in_, POLLIN, 0};
    if (poll(&p, 1, 10000) <= 0) return -1;
    int64_t v = -1;
    if (read(in_, &v, sizeof(v)) != sizeof(v)) return -1;
    return v;
  }
  int Wait() {
    close(out_);
    int status = 0;
    waitpid(pid_, &status, 0);
    close(in_);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
  }

 private:
  pid_t pid_ = 0;
  int in_ = -1;
  int out_ = -1;
};

class KeyInvalidationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_ = ca::RedisClient::FromUrl(SharedRedisServer()->url());
    redis_->Command({"FLUSHALL"});
    config_ = std::make_unique<ca::config::DefaultConfig>();
    config_->cache_redis_client = redis_;
  }

  std::shared_ptr<ca::RedisClient> redis_;
  std::unique_ptr<ca::config::DefaultConfig> config_;
};

// 100 * (calls so far) + argument.
auto Counted(const char* name, int* calls) {
  return ca::memory_cache({.backend = kBackend, .name = name},
                          [calls](int a) { return ++*calls * 100 + a; });
}

TEST_F(KeyInvalidationTest, DropsThatKeyInTheOtherProcessAndNothingElse) {
  int calls = 0;
  Child child([&](Child& parent) {
    auto g = Counted("key:drop", &calls);
    if (g(1) != 101 || g(2) != 202) return 1;
    const int64_t trips = redis_->round_trips();
    if (g(1) != 101 || g(2) != 202) return 2;
    if (redis_->round_trips() != trips) return 3;  // local hits
    const int64_t received = Stat("invalidations_received");
    parent.Send(1);
    if (parent.Receive() != 2) return 4;  // the parent's invalidate returned
    if (!WaitFor([&] { return Stat("invalidations_received") > received; })) {
      return 5;
    }
    const int64_t before = redis_->round_trips();
    if (g(2) != 202) return 6;  // untouched, still local
    if (redis_->round_trips() != before) return 7;
    if (g(1) != 301) return 8;  // recomputed
    return 0;
  });
  auto f = Counted("key:drop", &calls);
  ASSERT_EQ(child.Receive(), 1);
  EXPECT_EQ(f.invalidate(1), 1);  // the child's timestamp was there
  child.Send(2);
  EXPECT_EQ(child.Wait(), 0);
}

TEST_F(KeyInvalidationTest, AChildsInvalidateReachesTheParent) {
  int calls = 0;
  auto f = Counted("key:child-first", &calls);
  EXPECT_EQ(f(1), 101);
  EXPECT_EQ(f(2), 202);
  const int64_t received = Stat("invalidations_received");
  Child child([&](Child& parent) {
    // The child's first operation: its publication must not carry the
    // parent's origin (the parent would skip it as its own).
    if (f.invalidate(1) != 1) return 1;
    parent.Send(1);
    return 0;
  });
  ASSERT_EQ(child.Receive(), 1);
  EXPECT_EQ(child.Wait(), 0);
  ASSERT_TRUE(
      WaitFor([&] { return Stat("invalidations_received") > received; }));
  EXPECT_EQ(f(2), 202);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(f(1), 301);
}

TEST_F(KeyInvalidationTest, FencesAComputationInTheOtherProcess) {
  Child child([&](Child& parent) {
    int calls = 0;
    auto g = ca::memory_cache(
        {.backend = kBackend, .name = "key:fence"}, [&](int a) {
          if (++calls == 1) {
            // Read the old data, then wait until the
            // parent's invalidation has arrived.
            const int64_t received = Stat("invalidations_received");
            parent.Send(1);
            if (parent.Receive() != 2) return -1;
            WaitFor([&] { return Stat("invalidations_received") > received; });
            return 1000 + a;  // computed before it
          }
          return 2000 + a;
        });
    if (g(1) != 1001) return 1;  // the caller gets what was computed...
    if (g(1) != 2001) return 2;  // ...but it was not kept
    if (calls != 2) return 3;
    if (g(1) != 2001) return 4;  // the new one is
    return 0;
  });
  auto f = ca::memory_cache({.backend = kBackend, .name = "key:fence"},
                            [](int a) { return 3000 + a; });
  ASSERT_EQ(child.Receive(), 1);
  f.invalidate(1);
  child.Send(2);
  EXPECT_EQ(child.Wait(), 0);
  EXPECT_GE(Stat("refused_stores"), 0);
}

TEST_F(KeyInvalidationTest, PutHereDropsTheOtherProcessesCopy) {
  int calls = 0;
  Child child([&](Child& parent) {
    auto g = Counted("key:put", &calls);
    if (g(1) != 101) return 1;
    const int64_t received = Stat("invalidations_received");
    parent.Send(1);
    if (parent.Receive() != 2) return 2;
    if (!WaitFor([&] { return Stat("invalidations_received") > received; })) {
      return 3;
    }
    // Values stay in their process: the child computes its own again.
    if (g(1) != 201) return 4;
    return 0;
  });
  auto f = Counted("key:put", &calls);
  ASSERT_EQ(child.Receive(), 1);
  EXPECT_TRUE(f.put(777, 1));
  EXPECT_EQ(f(1), 777);
  child.Send(2);
  EXPECT_EQ(child.Wait(), 0);
}

}  // namespace
