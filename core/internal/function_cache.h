// File: core/internal/function_cache.h
// -----------------------------------------------------------------------------
//
// INTERNAL: not for users. The non-template engine behind every
// `CachedFunction`: it owns the backend namespace, the hit/miss counters, the
// single-flight table and the clear generation, and takes part in the
// dependency graph. `CachedFunction<R(Args...)>` only encodes keys and
// values and calls in here.

#ifndef CACHE_ALCHEMY_CORE_INTERNAL_FUNCTION_CACHE_H_
#define CACHE_ALCHEMY_CORE_INTERNAL_FUNCTION_CACHE_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <typeindex>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "core/backend.h"
#include "core/cache_policies.h"
#include "core/dependency.h"
#include "core/internal/latency_histogram.h"
#include "core/internal/striped_counters.h"

namespace cache_alchemy {
namespace internal {

class DependencyNode;

// One keyed parameter: its name and its C++ type (two functions' parameters
// match for a cascading partial clear only if both agree).
struct ParamInfo {
  std::string name;
  std::type_index type;
};

// A cached function's options after defaults were applied and checked.
struct ResolvedOptions {
  // The name users see: CacheOptions::name, or "file:line:column#n" (unique
  // per wrapper) when none was given.
  std::string name;
  // The identity in the backend: `name` + "@" + the signature tag
  // (NamespaceSpec::name).
  std::string id;
  std::string prefix;
  std::string backend;  // dotted name; empty when pass-through
  int64_t limit = -1;
  int64_t expire = -1;
  bool is_method = false;
  bool strict = false;
  bool explicit_param_names = false;  // `params` given by the user
  std::vector<ParamInfo> keyed_params;
  std::vector<CacheDependency> dependencies;
  // TTL jitter in [0, 1) (CacheOptions::expire_jitter); 0: none.
  double expire_jitter = 0;
  // Refresh-ahead age in milliseconds (CacheOptions::refresh_after); 0: off.
  int64_t refresh_after_ms = 0;
  // Lifetime of a cached exception (CacheOptions::cache_exceptions); 0: off.
  int64_t exception_ttl_ms = 0;
  // Values are stored in an envelope with their write time (refresh-ahead,
  // cached exceptions; core/internal/envelope.h).
  bool envelope = false;
  // CacheOptions::cache_exceptions and ::unless, checked.
  ExceptionCaching exceptions;
  ResultFilter unless;
  // CacheOptions::max_value_bytes or the config's; -1: no limit.
  int64_t max_value_bytes = -1;
};

// A partial clear by position, encoded in both key formats (a cascade may
// reach functions of backends that write keys differently).
struct TypedPattern {
  KeyPattern binary;
  KeyPattern text;
  const KeyPattern& For(KeyFormat format) const {
    return format == KeyFormat::kText ? text : binary;
  }
};

// A partial clear expressed by parameter name, the form in which it cascades
// to dependents. Only filled slots are listed.
struct NamedPattern {
  struct Slot {
    std::string name;
    std::type_index type;
    std::string binary;
    std::string text;
  };
  std::vector<Slot> slots;
};

// The result of one computation, shared with the callers that waited for it.
// (The locks on a call's path are std:: ones: Debian builds Abseil without
// NDEBUG, so every absl::Mutex lock runs deadlock detection, which measured
// as 42% of a miss's instructions.)
struct Flight {
  // The namespace's InvalidationGeneration when the computation began.
  uint64_t ns_generation = 0;
  // The process's fork generation when it began: a child never joins a
  // computation of its parent (whose thread it does not have).
  uint64_t fork_generation = 0;
  // Async functions: where joiners find the pending result (the leader's
  // object, set before the flight is published; see cached_function.h).
  std::shared_ptr<void> async;
  // The fence of the leader's lookup; `fenced` false: the lookup failed.
  bool fenced = false;
  Fence fence;
  std::mutex mu;
  std::condition_variable finished;
  bool done = false;                  // guarded by mu
  std::shared_ptr<const void> value;  // the R object; guarded by mu
  std::exception_ptr error;           // guarded by mu
};

// Thread safety: every public method may be called from any thread.
class FunctionCache : public std::enable_shared_from_this<FunctionCache> {
 public:
  // `ns` is null for a pass-through function (limit or expire 0). `clock`
  // is the backends' clock (TTL jitter, envelope times of in-process
  // values); `stamp_clock` times the envelopes of serialized values, which
  // other processes (hosts) read: a real-time clock unless tests override
  // it. Both outlive the function.
  FunctionCache(ResolvedOptions options, std::shared_ptr<CacheNamespace> ns,
                ValueFormat format, KeyFormat key_format,
                const Clock* clock = nullptr,
                const Clock* stamp_clock = nullptr);
  ~FunctionCache();

  FunctionCache(const FunctionCache&) = delete;
  FunctionCache& operator=(const FunctionCache&) = delete;

  // Registers this function as a dependent of each of its dependencies and
  // in the process-wide list of live functions. Call once, right after
  // construction (needs shared_from_this).
  void Register();

  // The live functions (wrapped and not yet destroyed) for which `select`
  // is true. Thread-safe.
  static std::vector<std::shared_ptr<FunctionCache>> Live(
      const std::function<bool(const FunctionCache&)>& select);

  const ResolvedOptions& options() const { return options_; }
  bool enabled() const { return ns_ != nullptr; }
  ValueFormat format() const { return format_; }
  KeyFormat key_format() const { return key_format_; }
  const std::shared_ptr<DependencyNode>& node() const { return node_; }

  // Hit path. Returns true if the backend had `key` and called `visit`.
  // Sets `*fence` (see CacheNamespace::Lookup) and `*fenced` to whether the
  // lookup reached the backend. Backend errors count as errors and read as
  // a miss (fail-open); a value computed after such a miss is not stored.
  bool Lookup(std::string_view key, ValueVisitor visit, void* context,
              Fence* fence, bool* fenced) {
    try {
      const bool found = ns_->Lookup(key, visit, context, fence);
      *fenced = true;
      return found;
    } catch (const std::exception& e) {
      // No fence: a value computed now is not stored (a clear may come and
      // go, unseen, before the store).
      *fenced = false;
      ReportBackendError("lookup", e);
      return false;
    }
  }

  // Single flight. Returns the flight for `key` and whether the caller leads
  // it (must compute and then call `Finish`). Followers call `Wait`.
  // `fence` is the fence of the caller's own lookup (null: it failed). A
  // caller joins a computation only if its lookup saw the same backend
  // state (fence) as the leader's: a clear between the two, in any process,
  // may have removed the data the leader is computing from, so the caller
  // leads a new computation instead.
  struct Ticket {
    std::shared_ptr<Flight> flight;
    bool leader = false;
    uint64_t generation = 0;
    // A leader whose key's last flight finished moments ago (a serialized
    // backend's): that flight's store may have been sent without waiting
    // and not have run yet, so the leader looks again (after AwaitStores)
    // before it computes.
    bool after_recent_flight = false;
  };
  // `fence`: this caller's lookup fence (nullptr: the lookup failed); a
  // caller joins only a flight whose leader saw the same fence. `async`: the
  // leader's pending-result object for async functions (published with the
  // flight). `force`: always lead, replacing a flight in progress
  // (refresh(args)).
  Ticket JoinOrLead(const std::string& key, const Fence* fence,
                    std::shared_ptr<void> async = nullptr, bool force = false);

  // Blocks until the flight is done; returns its value or rethrows its error.
  static std::shared_ptr<const void> Wait(Flight& flight);

  // Ends a flight led by the caller, which gets `value` or `error`. Without
  // `stored`, or without `fence` (the lookup failed), nothing is stored.
  // Otherwise `stored` (the value, or a cached exception) is stored under
  // `key` unless a clear began since the ticket was taken (in this process)
  // or since the lookup that produced `fence` (in the backend, any
  // process): the value may predate the clear.
  void Finish(const Ticket& ticket, const std::string& key,
              std::shared_ptr<const void> value, std::exception_ptr error,
              std::optional<StoredValue> stored, const Fence* fence);

  // Stores `stored` under `key` unless a clear began (in this process) since
  // `generation` was read, or (in the backend) since the lookup of `fence`.
  // Returns whether it was stored; backend errors are counted and logged.
  // For stores outside a flight: background refreshes, put().
  bool StoreFenced(const std::string& key, StoredValue stored,
                   const Fence& fence, uint64_t generation);

  // The clear generation now (moved by every clear in this process).
  uint64_t generation() const {
    return generation_.load(std::memory_order_acquire);
  }

  // Clears every entry and cascades to dependents. Returns the total count.
  // Throws ClearError when some function could not be cleared.
  int64_t ClearAll();
  // Clears entries matching `pattern` (one slot per keyed parameter) and
  // cascades. Returns the total count. Throws ClearError.
  // REQUIRES: options().strict.
  int64_t ClearMatching(const TypedPattern& pattern);

  // Local clears, without cascade (used by the dependency graph). They fence
  // first (computations that began before are not stored), then clear the
  // backend; they throw what the backend throws.
  int64_t ClearLocal();
  int64_t ClearLocalMatching(const TypedPattern& pattern);
  // Fences without clearing: computations that began before are not stored
  // (flush_cache fences every function it flushes this way, then flushes
  // the backend once).
  void FenceComputations();

  // Invalidates the entry `key` (this function's key format) of this
  // function and of its siblings, and clears dependents as a clear by
  // `pattern` (the same call, every keyed parameter given) would. Returns
  // the total count. Throws ClearError.
  int64_t Invalidate(const std::string& key, const TypedPattern& pattern);
  // The local part (no cascade): fences computations of this function that
  // began before (all keys, conservatively), drops the flight of `key`, and
  // removes the entry from the backend. Throws what the backend throws.
  int64_t InvalidateLocal(const std::string& key);

  // Refresh-ahead bookkeeping: at most one background refresh per key at a
  // time. BeginRefresh returns false when one is already pending for `key`.
  bool BeginRefresh(const std::string& key);
  void EndRefresh(const std::string& key);
  // A background refresh stored its value / failed (the old value stays;
  // counted and logged through core/log.h, rate-limited).
  void CountRefresh() { counters_.Add(kRefreshes); }
  void ReportRefreshError(std::string_view what);
  int64_t refreshes() const { return counters_.Sum(kRefreshes); }
  int64_t refresh_errors() const { return counters_.Sum(kRefreshErrors); }

  // The lifetime to store with an entry of `key`: `ttl_ms` (0: the
  // function's expire) shortened by the TTL jitter, if any. 0 when the
  // entry should live as long as the function's expire says.
  int64_t EntryTtlMs(std::string_view key, int64_t ttl_ms) const;
  // Envelope times (milliseconds of `stamp_clock`).
  int64_t StampNow() const { return stamp_clock_->NowMillis(); }

  // Converts a by-position pattern into a by-name one (for cascading), and a
  // by-name one back into this function's positional pattern. The latter
  // returns nullopt when this function cannot apply it precisely (not
  // strict, or a named parameter it lacks): the caller then clears fully.
  NamedPattern ToNamed(const TypedPattern& pattern) const;
  std::optional<TypedPattern> FromNamed(const NamedPattern& pattern) const;

  // The number of flights finished so far (each after its store). A caller
  // that read it before its lookup and sees it unchanged after taking the
  // lead knows no value was stored meanwhile by this process.
  uint64_t finished_flights() const {
    return finished_flights_.load(std::memory_order_acquire);
  }
  // Before a caller looks again for a value a finished flight stored:
  // waits until the stores the backend answered without waiting have run
  // (CacheNamespace::AwaitStores). Returns whether the backend may answer
  // stores before they ran. Never throws.
  bool AwaitStores() {
    if (ns_ == nullptr) return false;
    try {
      return ns_->AwaitStores();
    } catch (...) {
      return false;  // best effort: at worst the value is computed again
    }
  }

  void CountHit() { counters_.Add(kHits); }
  // A miss: the wrapped function ran for `compute_nanos` (returning or
  // throwing); recorded in miss_durations() too.
  void CountMiss(int64_t compute_nanos) {
    counters_.Add(kMisses);
    miss_durations_.Record(compute_nanos);
  }
  void CountError() { counters_.Add(kErrors); }
  int64_t hits() const { return counters_.Sum(kHits); }
  int64_t misses() const { return counters_.Sum(kMisses); }
  int64_t errors() const { return counters_.Sum(kErrors); }
  // Values the backend accepted (fenced stores it refused are not counted).
  int64_t stores() const { return counters_.Sum(kStores); }
  // Values not stored because their serialized size exceeded
  // ResolvedOptions::max_value_bytes.
  int64_t oversized() const { return counters_.Sum(kOversized); }
  // How long the wrapped function ran on each miss (core/metrics.h).
  const LatencyHistogram& miss_durations() const { return miss_durations_; }
  // Entries currently held by the backend for this function (0 if disabled).
  int64_t size();

 private:
  bool Store(const std::string& key, StoredValue value, const Fence& fence);
  // Counts a value too big to store and logs it (rate-limited as below).
  void ReportOversized(size_t bytes);
  // Counts a backend failure (fail-open) and logs it (core/log.h), at most
  // once per interval per function.
  void ReportBackendError(const char* operation, const std::exception& e);
  // Fences, then runs `clear` on the namespace, exclusive of stores.
  int64_t ClearLocalWith(absl::FunctionRef<int64_t(CacheNamespace&)> clear);
  // Bumps the generation and drops pending flights. REQUIRES: clear_mu_
  // held exclusively.
  void FenceLocked();

  const ResolvedOptions options_;
  const std::shared_ptr<CacheNamespace> ns_;
  const ValueFormat format_;
  const KeyFormat key_format_;
  const std::shared_ptr<DependencyNode> node_;
  const Clock* const clock_;
  const Clock* const stamp_clock_;

  // Bumped on every call: striped per thread, so hits on many cores do not
  // share a cache line.
  enum Counter : size_t {
    kHits,
    kMisses,
    kErrors,
    kStores,
    kRefreshes,
    kRefreshErrors,
    kOversized,
    kNumCounters
  };
  StripedCounters<kNumCounters> counters_;
  std::atomic<uint64_t> finished_flights_{0};
  // One line per interval for each kind of problem (backend errors,
  // background refresh errors, values too big to store); the rest counted.
  struct LogLimit {
    // Steady-clock milliseconds of the last logged line.
    std::atomic<int64_t> last_ms{INT64_MIN};
    // Lines not logged since the last one.
    std::atomic<int64_t> suppressed{0};
  };
  // Logs `message` (with how many lines were suppressed since the last
  // one) unless `limit` logged one within the interval.
  void LogLimited(LogLimit& limit, std::string message);
  LogLimit error_log_;
  LogLimit refresh_log_;
  LogLimit oversized_log_;

  // Bumped by every clear. A flight remembers the value it saw when it began
  // and stores its result only if no clear happened since.
  std::atomic<uint64_t> generation_{0};
  // Stores hold it shared and clears exclusively, so a value computed before
  // a clear is never stored after it.
  std::shared_mutex clear_mu_;
  // Guards the single-flight table.
  std::mutex flights_mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<Flight>> flights_;
  // When a flight of a key finished, for Ticket::after_recent_flight: one
  // slot per key hash (a collision forgets the older key, which at worst
  // computes a value twice). Serialized formats only (a remote store may
  // be answered before it ran); guarded by flights_mu_.
  struct RecentFinish {
    size_t hash = 0;
    int64_t at_ns = 0;
  };
  static constexpr size_t kRecentSlots = 256;
  static constexpr int64_t kRecentNs = 50'000'000;  // a store runs by then
  std::unique_ptr<RecentFinish[]> recent_;          // null for kObject
  // Keys with a background refresh pending, with the fork generation they
  // were added in; guarded by a process-wide lock (function_cache.cc).
  absl::flat_hash_map<std::string, uint64_t> refreshing_;

  // Written on misses only; on its own cache lines, away from what hits
  // read.
  alignas(64) LatencyHistogram miss_durations_;
};

// Counts a miss of `cache` when it goes out of scope, with the time since it
// was made (for a call that returns or throws from the wrapped function).
class MissTimer {
 public:
  explicit MissTimer(FunctionCache& cache)
      : cache_(cache), started_(MonotonicNanos()) {}
  ~MissTimer() { cache_.CountMiss(MonotonicNanos() - started_); }
  MissTimer(const MissTimer&) = delete;
  MissTimer& operator=(const MissTimer&) = delete;

 private:
  FunctionCache& cache_;
  const int64_t started_;
};

}  // namespace internal
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_INTERNAL_FUNCTION_CACHE_H_
