// One worker process of the fault soak: readers, a writer, and the checks.

#include "testing/soak/soak_worker.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <typeinfo>
#include <vector>

#include "cache_alchemy/cache_alchemy.h"

namespace cache_alchemy {
namespace testing {
namespace soak {
namespace {

// Set by the cached functions' body: the call ran the function (a miss).
thread_local bool t_computed = false;

int64_t NowNs() { return VersionedKeys::NowNs(); }

// One cached function, type-erased.
struct Function {
  std::function<int64_t(int)> call;
  std::function<void(int)> clear_key;
  std::function<void()> clear_all;
  std::function<int64_t()> errors;
};

template <typename Cached>
Function Hold(Cached cached_function) {
  auto f = std::make_shared<Cached>(std::move(cached_function));
  return {[f](int k) { return (*f)(k); }, [f](int k) { f->cache_clear(k); },
          [f] { f->cache_clear(); }, [f] { return f->errors(); }};
}

class Worker {
 public:
  Worker(const FaultSoakOptions& options, int process, SoakState* state,
         VersionedKeys data)
      : options_(options),
        process_(process),
        state_(state),
        data_(data),
        own_floors_(static_cast<size_t>(kBackends) * data.keys()) {
    for (auto& floor : own_floors_) floor.store(1);
  }

  int Run(const std::string& url) {
    SoakState* const state = state_;
    const bool print = options_.print_log;
    SetLogSink([state, print](const LogRecord& r) {
      state->log_records[static_cast<int>(r.level)].fetch_add(1);
      if (print) {
        std::fprintf(stderr, "cache_alchemy %s: %.*s: %.*s\n",
                     LogLevelName(r.level), static_cast<int>(r.function.size()),
                     r.function.data(), static_cast<int>(r.message.size()),
                     r.message.data());
      }
    });
    config::DefaultConfig config;
    config.cache_redis_client = RedisClient::FromUrl(url);
    // The value names its key and version: another key's value is wrong.
    const VersionedKeys data = data_;
    const int stale_every = options_.stale_every;
    const int compute_us = options_.compute_us;
    const int hot_keys = options_.hot_keys;
    auto runs = std::make_shared<std::atomic<int64_t>>(0);
    auto body = [data, stale_every, compute_us, hot_keys,
                 runs](int k) -> int64_t {
      t_computed = true;
      int version = data.Version(k);
      if (stale_every > 0 && runs->fetch_add(1) % stale_every == 0) {
        version = std::max(1, version - 1);  // the test hook
      }
      // The data was read; the computation of a hot key takes a while.
      if (compute_us > 0 && k < hot_keys) {
        std::this_thread::sleep_for(std::chrono::microseconds(compute_us));
      }
      return (static_cast<int64_t>(k) << 32) | version;
    };
    functions_.push_back(Hold(json_cache({.limit = -1,
                                          .strict = true,
                                          .backend = kBackendNames[0],
                                          .name = "soak:json",
                                          .params = {"k"}},
                                         body)));
    functions_.push_back(Hold(pickle_cache({.limit = -1,
                                            .strict = true,
                                            .backend = kBackendNames[1],
                                            .name = "soak:pickle",
                                            .params = {"k"}},
                                           body)));
    functions_.push_back(Hold(cache({.limit = -1,
                                     .strict = true,
                                     .backend = kBackendNames[2],
                                     .name = "soak:dmc",
                                     .params = {"k"}},
                                    body)));
    state_->ready.fetch_add(1);
    std::vector<std::thread> threads;
    for (int t = 0; t < options_.threads; ++t) {
      threads.emplace_back([this, t] { Read(t); });
    }
    threads.emplace_back([this] { Write(); });
    for (std::thread& t : threads) t.join();
    for (int b = 0; b < kBackends; ++b) {
      state_->totals[process_][b].fail_open_errors.store(
          functions_[b].errors());
    }
    const std::map<std::string, int64_t> stats =
        backend_stats(kBackendNames[kDistributedMemory]);
    for (int s = 0; s < kStats; ++s) {
      auto it = stats.find(kStatNames[s]);
      state_->stats[process_][s].store(it == stats.end() ? -1 : it->second);
    }
    functions_.clear();
    return 0;
  }

 private:
  bool Stopping() const {
    return state_->stop.load(std::memory_order_relaxed) != 0;
  }

  int Window(int64_t at_ns) const {
    const int64_t w = (at_ns - state_->t0_ns) / kWindowNs;
    return static_cast<int>(std::clamp<int64_t>(w, 0, state_->windows - 1));
  }

  std::atomic<int>& OwnFloor(int backend, int key) {
    return own_floors_[static_cast<size_t>(backend) * data_.keys() + key];
  }

  void Read(int thread) {
    std::mt19937_64 random(options_.seed * 0x9E3779B97F4A7C15ull +
                           static_cast<uint64_t>(process_) * 1000 + thread);
    while (!Stopping()) {
      const int key = PickKey(random);
      const int b = static_cast<int>(random() % kBackends);
      // Both floors before the call: answers must not be older.
      const VersionedKeys::Floor floor = data_.FloorOf(b, key);
      const int own_floor = OwnFloor(b, key).load(std::memory_order_acquire);
      t_computed = false;
      const int64_t start = NowNs();
      int64_t got = 0;
      std::string error;
      try {
        got = functions_[b].call(key);
      } catch (const std::exception& e) {
        error = std::string(typeid(e).name()) + ": " + e.what();
      } catch (...) {
        error = "a non-std exception";
      }
      const int64_t latency = NowNs() - start;
      Totals& totals = state_->totals[process_][b];
      WindowCell& cell = state_->cell(Window(start), process_, b);
      totals.calls.fetch_add(1, std::memory_order_relaxed);
      cell.calls.fetch_add(1, std::memory_order_relaxed);
      RaiseTo(&totals.max_latency_ns, latency);
      RaiseTo(&cell.max_latency_ns, latency);
      if (!error.empty()) {
        totals.read_exceptions.fetch_add(1);
        RecordMessage(state_, "process " + std::to_string(process_) + ", " +
                                  kBackendShortNames[b] + " read of key " +
                                  std::to_string(key) + " threw " + error);
        continue;
      }
      if (!t_computed) {
        totals.hits.fetch_add(1, std::memory_order_relaxed);
        cell.hits.fetch_add(1, std::memory_order_relaxed);
      }
      Check(b, key, floor, own_floor, got, start, latency);
    }
  }

  void Check(int b, int key, const VersionedKeys::Floor& floor, int own_floor,
             int64_t got, int64_t start, int64_t latency) {
    const int got_key = static_cast<int>(got >> 32);
    const int got_version = static_cast<int>(got & 0xffffffff);
    if (got_key == key && got_version >= floor.version) return;
    Totals& totals = state_->totals[process_][b];
    const int64_t since_commit = start - floor.at_ns;
    // Another process's DistributedMemoryCache copy: the clear reaches it
    // over pub/sub, after the clear returned (docs/redis.md, "Guarantee").
    // This process's own clears are checked strictly.
    if (got_key == key && b == kDistributedMemory && got_version >= own_floor &&
        since_commit <= PropagationBoundMs(options_) * 1'000'000LL) {
      totals.late.fetch_add(1);
      RaiseTo(&totals.max_late_ns, since_commit);
      return;
    }
    totals.wrong.fetch_add(1);
    const int slot = state_->wrong_recorded.fetch_add(1);
    if (slot < kMaxRecorded) {
      state_->wrong[slot] = WrongAnswer{process_,
                                        b,
                                        key,
                                        got_key,
                                        got_version,
                                        std::max(floor.version, own_floor),
                                        floor.writer,
                                        state_->fault.load(),
                                        start - state_->t0_ns,
                                        since_commit,
                                        latency,
                                        !t_computed};
    }
  }

  // Quiet: no fault now, the last one's recovery measured, the next one
  // more than a second away.
  bool Quiet() const {
    const int64_t now = NowNs();
    return state_->fault.load() == kNoFault &&
           now - state_->recovered_ns.load() >
               options_.recovery_ms * 1'000'000LL &&
           state_->next_fault_ns.load() - now > 1'000'000'000LL;
  }

  void Write() {
    std::mt19937_64 random(options_.seed * 31 + process_ + 7);
    int64_t writes = 0;
    int64_t next_full = options_.full_clear_every;  // the write due to be one
    int64_t full_clears = 0;
    while (!Stopping()) {
      std::this_thread::sleep_for(
          std::chrono::milliseconds(options_.write_interval_ms));
      const int key = PickKey(random);
      // A hot key is sometimes written again at once, while the readers
      // recompute it after the first write: a clear that must fence those
      // computations.
      const bool again =
          key < options_.hot_keys &&
          static_cast<int>(random() % 100) < options_.rewrite_percent;
      for (int round = 0; round < (again ? 2 : 1); ++round) {
        if (round > 0) {
          std::this_thread::sleep_for(
              std::chrono::microseconds(random() % 2000));
        }
        const int version = data_.Bump(key);
        ++writes;
        int full = -1;  // the backend cleared whole this time, if any
        if (options_.full_clear_every > 0 && writes >= next_full && Quiet()) {
          full = static_cast<int>(full_clears++ % kBackends);
          next_full = writes + options_.full_clear_every;
        }
        for (int b = 0; b < kBackends; ++b) {
          if (!ClearAndCommit(b, b == full, key, version)) return;
        }
      }
    }
  }

  // A hot key (hot_percent of the time) or any key.
  int PickKey(std::mt19937_64& random) const {
    if (options_.hot_keys > 0 &&
        static_cast<int>(random() % 100) < options_.hot_percent) {
      return static_cast<int>(random() %
                              std::min(options_.hot_keys, data_.keys()));
    }
    return static_cast<int>(random() % data_.keys());
  }

  // Clears until a clear returns, then commits `version`; false if the run
  // stopped first.
  bool ClearAndCommit(int b, bool full, int key, int version) {
    Totals& totals = state_->totals[process_][b];
    while (!Stopping()) {
      try {
        if (full) {
          functions_[b].clear_all();
          totals.full_clears.fetch_add(1);
        } else {
          functions_[b].clear_key(key);
        }
        totals.clears.fetch_add(1);
        data_.Commit(b, key, version, process_);
        std::atomic<int>& own = OwnFloor(b, key);
        int seen = own.load();
        while (seen < version && !own.compare_exchange_weak(seen, version)) {
        }
        return true;
      } catch (const ClearError&) {
        totals.refused_clears.fetch_add(1);  // not cleared: retry
      } catch (const std::exception& e) {
        totals.clear_other_exceptions.fetch_add(1);
        RecordMessage(state_, "process " + std::to_string(process_) + ", " +
                                  kBackendShortNames[b] + " clear threw " +
                                  typeid(e).name() +
                                  " (not ClearError): " + e.what());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

  const FaultSoakOptions options_;
  const int process_;
  SoakState* const state_;
  VersionedKeys data_;
  // The newest version this process's own clears committed, per backend
  // and key: its DistributedMemoryCache answers are checked strictly
  // against these.
  std::vector<std::atomic<int>> own_floors_;
  std::vector<Function> functions_;
};

}  // namespace

void RecordMessage(SoakState* state, const std::string& text) {
  const int slot = state->messages_recorded.fetch_add(1);
  if (slot >= kMaxRecorded) return;
  Message& m = state->messages[slot];
  const size_t n = std::min(text.size(), sizeof(m.text) - 1);
  std::memcpy(m.text, text.data(), n);
  m.text[n] = '\0';
}

int RunWorker(const FaultSoakOptions& options, int process,
              const std::string& url, SoakState* state, VersionedKeys data) {
  try {
    Worker worker(options, process, state, data);
    return worker.Run(url);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fault soak: worker %d could not run: %s\n", process,
                 e.what());
    return 3;
  }
}

}  // namespace soak
}  // namespace testing
}  // namespace cache_alchemy
