// A MemoryCache hit and miss of int(int, int) next to hand-written memos in
// the same binary: absl::flat_hash_map behind an absl::Mutex and behind a
// std::mutex (the honest baseline: Debian's Abseil runs deadlock detection
// on every absl::Mutex lock), the same map with no lock (the floor), and a
// hand-written LRU memo for misses with eviction. Two more references: the
// std::mutex memo that also checks a TTL against the cache's default clock
// (what honouring `expire` costs any cache), and the cache's hit with
// entries that never expire.
//
//   bazel run -c opt //benchmarks:memory_bench -- --benchmark_repetitions=9
//   --benchmark_report_aggregates_only=true
//
// Targets (docs/performance.md): fast-key hit <= 1.25x the std::mutex memo,
// strict <= 1.6x; miss + store + eviction <= 3x the hand-written LRU memo.
// Thread scaling is measured by //benchmarks:scaling_bench (pinned threads).

#include <cstring>
#include <list>
#include <mutex>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "backends/memory/concurrent_store.h"
#include "benchmark/benchmark.h"
#include "cache_alchemy/cache_alchemy.h"

namespace ca = cache_alchemy;

namespace {

constexpr char kMemory[] = "cache_alchemy.backends.memory.MemoryCache";

int Add(int a, int b) { return a + b; }

// The baseline a careful engineer would write by hand: the issue's
// absl::flat_hash_map + absl::Mutex, and the same with std::mutex (Debian's
// Abseil is built without NDEBUG, so absl::Mutex runs deadlock detection on
// every lock; the std::mutex memo is the stricter baseline).
template <typename MutexT, typename LockT>
class HandWrittenMemo {
 public:
  int operator()(int a, int b) {
    {
      LockT lock(mu_);
      auto it = memo_.find(std::make_pair(a, b));
      if (it != memo_.end()) return it->second;
    }
    const int result = Add(a, b);
    LockT lock(mu_);
    memo_.emplace(std::make_pair(a, b), result);
    return result;
  }

 private:
  MutexT mu_;
  absl::flat_hash_map<std::pair<int, int>, int> memo_;
};

struct AbslLock {
  explicit AbslLock(absl::Mutex& mu) : lock(&mu) {}
  absl::MutexLock lock;
};

template <typename Memo>
void BM_HandWrittenMemoHit(benchmark::State& state) {
  static Memo* memo = new Memo();
  (*memo)(1, 2);
  int a = 1;
  for (auto _ : state) {
    benchmark::DoNotOptimize(a);
    benchmark::DoNotOptimize((*memo)(a, 2));
  }
}
BENCHMARK(BM_HandWrittenMemoHit<HandWrittenMemo<absl::Mutex, AbslLock>>)
    ->Name("BM_HandWrittenMemoHit_AbslMutex");
BENCHMARK(BM_HandWrittenMemoHit<
              HandWrittenMemo<std::mutex, std::lock_guard<std::mutex>>>)
    ->Name("BM_HandWrittenMemoHit_StdMutex");

// Hits of `add` on one key.
template <typename F>
void MeasureHits(benchmark::State& state, F& add) {
  add(1, 2);
  int a = 1;
  for (auto _ : state) {
    benchmark::DoNotOptimize(a);
    benchmark::DoNotOptimize(add(a, 2));
  }
}

void BM_MemoryCacheHitFastKey(benchmark::State& state) {
  static auto* add = new auto(
      ca::memory_cache({.backend = kMemory, .name = "bench:fast"}, Add));
  MeasureHits(state, *add);
}
BENCHMARK(BM_MemoryCacheHitFastKey);

// The same hit with entries that never expire (`expire = -1`): no clock
// read. The default (`default_expire`, one day) reads the coarse clock on
// every hit to check the entry's TTL.
void BM_MemoryCacheHitFastKeyNoExpiry(benchmark::State& state) {
  static auto* add = new auto(ca::memory_cache(
      {.expire = -1, .backend = kMemory, .name = "bench:fast-noexp"}, Add));
  MeasureHits(state, *add);
}
BENCHMARK(BM_MemoryCacheHitFastKeyNoExpiry);

void BM_MemoryCacheHitStrictKey(benchmark::State& state) {
  static auto* add = new auto(ca::memory_cache({.strict = true,
                                                .backend = kMemory,
                                                .name = "bench:strict",
                                                .params = {"a", "b"}},
                                               Add));
  MeasureHits(state, *add);
}
BENCHMARK(BM_MemoryCacheHitStrictKey);

// A miss: lookup, call, store and one eviction at the limit. Every key is
// new (a counter that never repeats), so every call misses and evicts,
// whatever the policy: a ring of keys would let S3-FIFO's ghost turn some
// calls into hits. Fails if any call hit.
template <typename F>
void MeasureMisses(benchmark::State& state, F& f) {
  static int next = 0;
  const int64_t hits = f.hits();
  for (auto _ : state) benchmark::DoNotOptimize(f(next++, 2));
  if (f.hits() != hits) state.SkipWithError("a call hit");
}

void BM_MemoryCacheMissWithEviction(benchmark::State& state) {
  static auto* add = new auto(ca::memory_cache(
      {.limit = 1000, .backend = kMemory, .name = "bench:miss"}, Add));
  MeasureMisses(state, *add);
}
BENCHMARK(BM_MemoryCacheMissWithEviction);

void BM_MemoryCacheMissWithEvictionLru(benchmark::State& state) {
  static auto* add = new auto(ca::memory_cache({.limit = 1000,
                                                .backend = kMemory,
                                                .name = "bench:miss-lru",
                                                .eviction = "lru"},
                                               Add));
  MeasureMisses(state, *add);
}
BENCHMARK(BM_MemoryCacheMissWithEvictionLru);

// The baseline of a miss: an LRU memo written by hand (a list threaded
// through an absl::flat_hash_map, behind a std::mutex), same workload
// (new keys, every call misses and evicts).
class HandWrittenLruMemo {
 public:
  explicit HandWrittenLruMemo(size_t limit) : limit_(limit) {}
  int operator()(int a, int b) {
    const std::pair<int, int> key(a, b);
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = index_.find(key);
      if (it != index_.end()) {
        order_.splice(order_.begin(), order_, it->second);
        return it->second->second;
      }
    }
    const int result = Add(a, b);
    std::lock_guard<std::mutex> lock(mu_);
    order_.emplace_front(key, result);
    index_[key] = order_.begin();
    if (order_.size() > limit_) {
      index_.erase(order_.back().first);
      order_.pop_back();
    }
    return result;
  }

 private:
  using Entry = std::pair<std::pair<int, int>, int>;
  const size_t limit_;
  std::mutex mu_;
  std::list<Entry> order_;
  absl::flat_hash_map<std::pair<int, int>, std::list<Entry>::iterator> index_;
};

void BM_HandWrittenLruMemoMissWithEviction(benchmark::State& state) {
  static auto* memo = new HandWrittenLruMemo(1000);
  static int next = 0;
  for (auto _ : state) benchmark::DoNotOptimize((*memo)(next++, 2));
}
BENCHMARK(BM_HandWrittenLruMemoMissWithEviction);

// The std::mutex memo with the cache's semantics for time: each entry
// keeps its expiry and a hit checks it against CLOCK_MONOTONIC_COARSE (the
// cache's default clock, core/clock.h). What any cache that honours a TTL
// pays over the plain memo.
class HandWrittenTtlMemo {
 public:
  int operator()(int a, int b) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = memo_.find(std::make_pair(a, b));
      if (it != memo_.end() && NowMillis() < it->second.expires_at_ms) {
        return it->second.value;
      }
    }
    const int result = Add(a, b);
    std::lock_guard<std::mutex> lock(mu_);
    memo_.insert_or_assign(std::make_pair(a, b),
                           Entry{result, NowMillis() + 86400 * 1000});
    return result;
  }

 private:
  struct Entry {
    int value;
    int64_t expires_at_ms;
  };
  static int64_t NowMillis() { return ca::CoarseMonotonicClock().NowMillis(); }
  std::mutex mu_;
  absl::flat_hash_map<std::pair<int, int>, Entry> memo_;
};
BENCHMARK(BM_HandWrittenMemoHit<HandWrittenTtlMemo>)
    ->Name("BM_HandWrittenMemoHit_StdMutexTtl");

// The in-process store alone (backends/memory/concurrent_store.h, linked
// into this binary): the lookup of an 8-byte key with a visitor that copies
// an int out, without the wrapper (key building, counters) and without the
// plugin boundary (a virtual call into a library loaded at run time). With
// `ttl`, entries expire (a day) and a hit reads the coarse clock.
void BM_StoreLookup(benchmark::State& state) {
  const bool ttl = state.range(0) != 0;
  static const ca::CoarseMonotonicClock clock;
  ca::memory::ConcurrentStore store(
      {.expire_seconds = ttl ? 86400 : -1, .clock = &clock});
  const int args[2] = {1, 2};
  char bytes[sizeof(args)];
  std::memcpy(bytes, args, sizeof(args));
  const std::string_view key(bytes, sizeof(bytes));
  ca::StoredValue value;
  value.bytes.assign("\3\0\0\0", sizeof(int));
  store.Store(key, value, nullptr);
  int out = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(bytes);
    ca::Fence fence;
    const bool hit = store.Lookup(
        key,
        [](void* context, const ca::ValueView& v) {
          std::memcpy(context, v.bytes.data(), sizeof(int));
        },
        &out, &fence);
    benchmark::DoNotOptimize(hit);
    benchmark::DoNotOptimize(out);
  }
  if (out != 3) state.SkipWithError("the store missed");
}
BENCHMARK(BM_StoreLookup)->Arg(0)->Arg(1)->ArgName("ttl");

// A miss of the store alone, as the cache makes one: a lookup that misses
// (with the fence), then a fenced store that evicts at the limit (1000,
// S3-FIFO, entries that expire in a day). No wrapper: no single flight, no
// key string, no value object, no miss timer.
void BM_StoreMissWithEviction(benchmark::State& state) {
  static const ca::CoarseMonotonicClock clock;
  ca::memory::ConcurrentStore store(
      {.limit = 1000, .expire_seconds = 86400, .clock = &clock});
  int args[2] = {0, 2};
  const int64_t evictions = store.evictions();
  for (auto _ : state) {
    ++args[0];
    char bytes[sizeof(args)];
    std::memcpy(bytes, args, sizeof(args));
    const std::string_view key(bytes, sizeof(bytes));
    ca::Fence fence;
    if (store.Lookup(
            key, [](void*, const ca::ValueView&) {}, nullptr, &fence)) {
      state.SkipWithError("a lookup hit");
      break;
    }
    const int result = args[0] + args[1];
    ca::StoredValue value;
    value.bytes.assign(reinterpret_cast<const char*>(&result), sizeof(int));
    benchmark::DoNotOptimize(store.Store(key, std::move(value), &fence));
  }
  if (state.iterations() > 2000 && store.evictions() == evictions) {
    state.SkipWithError("nothing was evicted");
  }
}
BENCHMARK(BM_StoreMissWithEviction);

// The floor: the same memo with no lock at all.
void BM_UnsynchronizedMemoHit(benchmark::State& state) {
  static auto* memo = new absl::flat_hash_map<std::pair<int, int>, int>();
  (*memo)[std::make_pair(1, 2)] = 3;
  int a = 1;
  for (auto _ : state) {
    benchmark::DoNotOptimize(a);
    benchmark::DoNotOptimize(memo->find(std::make_pair(a, 2))->second);
  }
}
BENCHMARK(BM_UnsynchronizedMemoHit);

}  // namespace

BENCHMARK_MAIN();
