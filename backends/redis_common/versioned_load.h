// File: backends/redis_common/versioned_load.h
// -----------------------------------------------------------------------------
//
// A load that can tell a stale answer from a right one, for the failover and
// resharding tests: cached functions (one per backend, strict, one int
// parameter) return the current version of their key's data; a writer
// bumps a key's version and then clears that key (partial clear), retrying
// until the clear succeeds, and only then raises the key's floor; readers
// call the functions on random keys and count every answer below the floor
// they read before calling (stale), and every exception that reaches them.
// The versions and floors are testing/versioned_keys.h, on the heap (one
// process; the fault soak, testing/soak/, shares them between processes).
// A sampler records when the functions' fail-open error counters moved.
//
//   VersionedLoad load({kJson, kPickle, kMemory}, /*keys=*/64);
//   load.Start(/*readers=*/4);
//   ... kill a master, reshard ...
//   load.Stop();
//   EXPECT_EQ(load.stale(), 0);
//
// Test-only. Thread-safe where it says so; Start and Stop from one thread.

#ifndef CACHE_ALCHEMY_BACKENDS_REDIS_COMMON_VERSIONED_LOAD_H_
#define CACHE_ALCHEMY_BACKENDS_REDIS_COMMON_VERSIONED_LOAD_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "cache_alchemy/cache_alchemy.h"
#include "testing/versioned_keys.h"

namespace cache_alchemy {
namespace testing {

class VersionedLoad {
 public:
  using Clock = std::chrono::steady_clock;

  // One cached function per backend (dotted names), named
  // "load:<prefix>:<class>", over `keys` keys. Wrapping needs a current
  // config with a Redis client.
  VersionedLoad(const std::vector<std::string>& backends, int keys,
                const std::string& prefix = "v")
      : keys_(keys),
        memory_(VersionedKeys::Words(keys, backends.size())),
        data_(memory_.data(), keys, backends.size()) {
    for (const std::string& backend : backends) {
      const std::string name = backend.substr(backend.rfind('.') + 1);
      Add(name, cache({.strict = true,
                       .backend = backend,
                       .name = "load:" + prefix + ":" + name,
                       .params = {"k"}},
                      [this](int k) { return data_.Version(k); }));
    }
  }
  ~VersionedLoad() { Stop(); }

  // Starts `readers` reader threads, the writer (one bump and clear every
  // `write_every`) and the sampler.
  void Start(int readers, std::chrono::milliseconds write_every =
                              std::chrono::milliseconds(2)) {
    start_ = Clock::now();
    stop_.store(false);
    for (int r = 0; r < readers; ++r) {
      threads_.emplace_back([this, r] { Read(r); });
    }
    threads_.emplace_back([this, write_every] { Write(write_every); });
    threads_.emplace_back([this] { Sample(); });
  }

  void Stop() {
    stop_.store(true);
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }

  // Totals over every function (thread-safe).
  int64_t calls() const { return calls_.load(); }
  int64_t stale() const { return stale_.load(); }
  int64_t exceptions() const { return exceptions_.load(); }
  int64_t clears() const { return clears_.load(); }
  int64_t failed_clears() const { return failed_clears_.load(); }
  int64_t hits() const { return Sum(&Function::hits); }
  int64_t misses() const { return Sum(&Function::misses); }
  int64_t errors() const { return Sum(&Function::errors); }
  std::string last_exception() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_exception_;
  }

  // The first and last time (ms since `since`) the error counters moved
  // after `since`; -1 when they did not. Call after Stop().
  std::pair<int64_t, int64_t> ErrorWindowAfter(Clock::time_point since) const {
    std::lock_guard<std::mutex> lock(mu_);
    int64_t first = -1, last = -1, before = -1;
    for (const auto& [at, errors] : samples_) {
      if (at < since) {
        before = errors;
        continue;
      }
      if (before >= 0 && errors > before) {
        const int64_t ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(at - since)
                .count();
        if (first < 0) first = ms;
        last = ms;
      }
      before = errors;
    }
    return {first, last};
  }

  // What a failure at `since` (a master killed) cost, measured by
  // StopAfterRecovery.
  struct Recovery {
    bool resumed = false;         // clean calls again within the timeout
    int64_t resumed_ms = -1;      // since `since`
    int64_t first_error_ms = -1;  // ErrorWindowAfter(since)
    int64_t last_error_ms = -1;
    int64_t hits_after = 0;  // in 300 ms once resumed
    int64_t misses_after = 0;
  };
  // Waits (at most `timeout`) until caching resumed (WaitForCleanCalls),
  // counts hits and misses over the next 300 ms, stops the load, and prints
  // one line of figures headed `what`, with `promoted_ms` (when the
  // replica was promoted, since `since`).
  Recovery StopAfterRecovery(Clock::time_point since, int64_t promoted_ms,
                             const char* what,
                             std::chrono::milliseconds timeout) {
    Recovery r;
    r.resumed = WaitForCleanCalls(3000, timeout);
    r.resumed_ms = MsSince(since);
    const int64_t hits = this->hits(), misses = this->misses();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    r.hits_after = this->hits() - hits;
    r.misses_after = this->misses() - misses;
    Stop();
    std::tie(r.first_error_ms, r.last_error_ms) = ErrorWindowAfter(since);
    std::printf(
        "%s: promoted %lld ms after the kill; fail-open errors from %lld to "
        "%lld ms after it (hits were misses meanwhile); clean again at %lld "
        "ms; %lld calls, %lld stale, %lld exceptions, %lld clears (%lld "
        "refused and retried); afterwards %lld hits / %lld misses\n",
        what, static_cast<long long>(promoted_ms),
        static_cast<long long>(r.first_error_ms),
        static_cast<long long>(r.last_error_ms),
        static_cast<long long>(r.resumed_ms), static_cast<long long>(calls()),
        static_cast<long long>(stale()), static_cast<long long>(exceptions()),
        static_cast<long long>(clears()),
        static_cast<long long>(failed_clears()),
        static_cast<long long>(r.hits_after),
        static_cast<long long>(r.misses_after));
    return r;
  }

  static int64_t MsSince(Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() -
                                                                 t)
        .count();
  }

  // Waits until every function answered `calls` more calls with no new
  // error, or `timeout` passed; returns whether it did. While the load runs.
  bool WaitForCleanCalls(int64_t calls, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    int64_t errors = this->errors(), from = this->calls();
    while (Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      if (this->errors() != errors) {
        errors = this->errors();
        from = this->calls();
      } else if (this->calls() - from >= calls) {
        return true;
      }
    }
    return false;
  }

 private:
  struct Function {
    std::string name;
    std::function<int(int)> call;
    std::function<void(int)> clear;
    std::function<int64_t()> hits, misses, errors;
    int index = 0;  // in data_
  };

  template <typename Cached>
  void Add(const std::string& name, Cached cached_function) {
    auto fn = std::make_unique<Function>();
    fn->name = name;
    fn->index = static_cast<int>(functions_.size());
    auto cached = std::make_shared<Cached>(std::move(cached_function));
    fn->call = [cached](int k) { return (*cached)(k); };
    fn->clear = [cached](int k) { cached->cache_clear(k); };
    fn->hits = [cached] { return cached->hits(); };
    fn->misses = [cached] { return cached->misses(); };
    fn->errors = [cached] { return cached->errors(); };
    functions_.push_back(std::move(fn));
  }

  int64_t Sum(std::function<int64_t()> Function::*counter) const {
    int64_t total = 0;
    for (const auto& fn : functions_) total += ((*fn).*counter)();
    return total;
  }

  void Note(const std::exception& e) {
    std::lock_guard<std::mutex> lock(mu_);
    last_exception_ = e.what();
  }

  void Read(int seed) {
    std::mt19937 random(seed + 1);
    while (!stop_.load()) {
      const int k = static_cast<int>(random() % keys_);
      for (const auto& fn : functions_) {
        const int floor = data_.FloorOf(fn->index, k).version;
        try {
          if (fn->call(k) < floor) stale_.fetch_add(1);
        } catch (const std::exception& e) {
          exceptions_.fetch_add(1);
          Note(e);
        }
        calls_.fetch_add(1);
      }
    }
  }

  void Write(std::chrono::milliseconds every) {
    std::mt19937 random(12345);
    while (!stop_.load()) {
      std::this_thread::sleep_for(every);
      const int k = static_cast<int>(random() % keys_);
      const int version = data_.Bump(k);
      for (const auto& fn : functions_) {
        // A clear that could not run (its master down) is retried until it
        // ran: only then may readers rely on the new version.
        while (true) {
          try {
            fn->clear(k);
            clears_.fetch_add(1);
            break;
          } catch (const std::exception&) {
            failed_clears_.fetch_add(1);
            if (stop_.load()) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
          }
        }
        data_.Commit(fn->index, k, version, /*writer=*/0);
      }
    }
  }

  void Sample() {
    while (!stop_.load()) {
      const int64_t errors = this->errors();
      {
        std::lock_guard<std::mutex> lock(mu_);
        samples_.emplace_back(Clock::now(), errors);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  const int keys_;
  std::vector<uint64_t> memory_;
  VersionedKeys data_;
  std::vector<std::unique_ptr<Function>> functions_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  Clock::time_point start_;
  std::atomic<int64_t> calls_{0}, stale_{0}, exceptions_{0}, clears_{0},
      failed_clears_{0};
  mutable std::mutex mu_;
  std::vector<std::pair<Clock::time_point, int64_t>> samples_;
  std::string last_exception_;
};

}  // namespace testing
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_BACKENDS_REDIS_COMMON_VERSIONED_LOAD_H_
