// The non-template engine of a cached function.

#include "core/internal/function_cache.h"

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/defaults.h"
#include "core/internal/dependency_graph.h"
#include "core/log.h"

namespace cache_alchemy {
namespace internal {
namespace {

// Backend errors of one function are logged at most this often.
constexpr int64_t kErrorLogIntervalMs = 10'000;

int64_t SteadyNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Every live FunctionCache, by address (Register adds, the destructor
// removes). std::mutex: wraps and flushes are rare, and Debian's absl::Mutex
// runs deadlock detection on every lock.
std::mutex g_live_mu;
absl::flat_hash_map<const FunctionCache*, std::weak_ptr<FunctionCache>>&
LiveTable() {
  static auto* table = new absl::flat_hash_map<const FunctionCache*,
                                               std::weak_ptr<FunctionCache>>();
  return *table;
}

// Keys with a background refresh pending, per function, under one lock that
// fork() takes first (so no thread holds it when the process is copied).
std::mutex g_refresh_mu;
// Moved in every child right after fork(). Flights and pending refreshes
// carry the value they began with: in a child, the parent's computations
// never finish (their threads are not there), so a caller must not wait for
// one, and a key whose refresh the parent had pending is refreshed anew.
std::atomic<uint64_t> g_fork_generation{0};

void RegisterForkHandlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    pthread_atfork([] { g_refresh_mu.lock(); }, [] { g_refresh_mu.unlock(); },
                   [] {
                     g_fork_generation.fetch_add(1);
                     g_refresh_mu.unlock();
                   });
  });
}

// A stable 64-bit mix (splitmix64's finalizer): the jitter of an entry must
// not depend on the process (absl::Hash is seeded per process).
uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

uint64_t StableHash(std::string_view bytes, uint64_t seed) {
  uint64_t h = 0xcbf29ce484222325ULL ^ Mix(seed);  // FNV-1a, seeded
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return Mix(h);
}

}  // namespace

FunctionCache::FunctionCache(ResolvedOptions options,
                             std::shared_ptr<CacheNamespace> ns,
                             ValueFormat format, KeyFormat key_format,
                             const Clock* clock, const Clock* stamp_clock)
    : options_(std::move(options)),
      ns_(std::move(ns)),
      format_(format),
      key_format_(key_format),
      node_(DependencyNode::ForFunction(options_.backend, options_.prefix,
                                        options_.id, options_.name)),
      clock_(clock != nullptr ? clock : CurrentClock()),
      stamp_clock_(stamp_clock != nullptr ? stamp_clock : clock_) {
  if (ns_ != nullptr && format_ != ValueFormat::kObject) {
    recent_.reset(new RecentFinish[kRecentSlots]());
  }
  RegisterForkHandlers();
}

FunctionCache::~FunctionCache() {
  std::lock_guard<std::mutex> lock(g_live_mu);
  LiveTable().erase(this);
}

void FunctionCache::Register() {
  node_->AddOwner(weak_from_this());
  for (const auto& dep : options_.dependencies) {
    dep.node()->AddDependent(weak_from_this());
  }
  std::lock_guard<std::mutex> lock(g_live_mu);
  LiveTable()[this] = weak_from_this();
}

std::vector<std::shared_ptr<FunctionCache>> FunctionCache::Live(
    const std::function<bool(const FunctionCache&)>& select) {
  std::vector<std::shared_ptr<FunctionCache>> live;
  {
    std::lock_guard<std::mutex> lock(g_live_mu);
    for (const auto& [raw, weak] : LiveTable()) {
      // Null while its destructor waits for the lock.
      if (std::shared_ptr<FunctionCache> fn = weak.lock()) {
        live.push_back(std::move(fn));
      }
    }
  }
  // `select` runs without the lock (it may be arbitrary code).
  std::vector<std::shared_ptr<FunctionCache>> selected;
  for (auto& fn : live) {
    if (select(*fn)) selected.push_back(std::move(fn));
  }
  return selected;
}

FunctionCache::Ticket FunctionCache::JoinOrLead(const std::string& key,
                                                const Fence* fence,
                                                std::shared_ptr<void> async,
                                                bool force) {
  uint64_t ns_generation = 0;
  try {
    ns_generation = ns_->InvalidationGeneration();
  } catch (const std::exception& e) {
    ReportBackendError("invalidation generation", e);
  }
  std::lock_guard<std::mutex> lock(flights_mu_);
  auto& slot = flights_[key];
  // A computation that began before an invalidation the backend heard of
  // (a clear in another process) may return a stale value: do not join it,
  // lead a new one (the old leader removes only its own flight). The
  // backend heard of it either by itself (InvalidationGeneration, pushed)
  // or in this caller's lookup (its fence differs from the leader's: a
  // json or pickle bucket's generation moved). A caller whose lookup failed
  // cannot tell, and leads.
  const uint64_t fork_generation =
      g_fork_generation.load(std::memory_order_relaxed);
  bool after_recent_flight = false;
  if (recent_ != nullptr) {
    const size_t hash = std::hash<std::string>()(key);
    const RecentFinish& recent = recent_[hash % kRecentSlots];
    after_recent_flight = recent.hash == hash && recent.at_ns != 0 &&
                          MonotonicNanos() - recent.at_ns < kRecentNs;
  }
  if (!force && slot != nullptr && slot->ns_generation == ns_generation &&
      slot->fork_generation == fork_generation && fence != nullptr &&
      slot->fenced && slot->fence.local == fence->local &&
      slot->fence.remote == fence->remote) {
    return Ticket{slot, false, 0};
  }
  slot = std::make_shared<Flight>();
  slot->ns_generation = ns_generation;
  slot->fork_generation = fork_generation;
  slot->async = std::move(async);
  slot->fenced = fence != nullptr;
  if (fence != nullptr) slot->fence = *fence;
  return Ticket{slot, true, generation_.load(std::memory_order_acquire),
                after_recent_flight};
}

std::shared_ptr<const void> FunctionCache::Wait(Flight& flight) {
  std::unique_lock<std::mutex> lock(flight.mu);
  flight.finished.wait(lock, [&flight] { return flight.done; });
  if (flight.error) std::rethrow_exception(flight.error);
  return flight.value;
}

void FunctionCache::Finish(const Ticket& ticket, const std::string& key,
                           std::shared_ptr<const void> value,
                           std::exception_ptr error,
                           std::optional<StoredValue> stored,
                           const Fence* fence) {
  // (With `error`, `stored` is the cached exception, if any.)
  if (stored.has_value() && fence != nullptr) {
    std::shared_lock<std::shared_mutex> lock(clear_mu_);
    if (generation_.load(std::memory_order_acquire) == ticket.generation) {
      Store(key, std::move(*stored), *fence);
    }
  }
  finished_flights_.fetch_add(1, std::memory_order_acq_rel);
  {
    std::lock_guard<std::mutex> lock(flights_mu_);
    if (recent_ != nullptr && stored.has_value()) {
      const size_t hash = std::hash<std::string>()(key);
      recent_[hash % kRecentSlots] = RecentFinish{hash, MonotonicNanos()};
    }
    auto it = flights_.find(key);
    // A clear may have dropped this flight (and a newer one may stand in its
    // place): only remove our own.
    if (it != flights_.end() && it->second == ticket.flight) flights_.erase(it);
  }
  {
    std::lock_guard<std::mutex> lock(ticket.flight->mu);
    ticket.flight->value = std::move(value);
    ticket.flight->error = std::move(error);
    ticket.flight->done = true;
  }
  ticket.flight->finished.notify_all();
}

bool FunctionCache::StoreFenced(const std::string& key, StoredValue stored,
                                const Fence& fence, uint64_t generation) {
  if (!enabled()) return false;
  std::shared_lock<std::shared_mutex> lock(clear_mu_);
  if (generation_.load(std::memory_order_acquire) != generation) return false;
  return Store(key, std::move(stored), fence);
}

int64_t FunctionCache::EntryTtlMs(std::string_view key, int64_t ttl_ms) const {
  if (options_.expire_jitter <= 0) return ttl_ms;
  const int64_t base =
      ttl_ms > 0 ? ttl_ms : (options_.expire > 0 ? options_.expire * 1000 : 0);
  if (base <= 0) return ttl_ms;  // never expires: nothing to spread
  // u in [0, 1), the same for the same key and time (deterministic under a
  // fake clock), spread evenly over keys written at the same time.
  const uint64_t h =
      StableHash(key, static_cast<uint64_t>(clock_->NowMillis()));
  const double u = static_cast<double>(h >> 11) * 0x1.0p-53;
  const int64_t jittered = static_cast<int64_t>(
      static_cast<double>(base) * (1.0 - options_.expire_jitter * u));
  return std::max<int64_t>(1, std::min(base, jittered));
}

bool FunctionCache::Store(const std::string& key, StoredValue value,
                          const Fence& fence) {
  if (options_.max_value_bytes >= 0 && format_ != ValueFormat::kObject &&
      value.bytes.size() > static_cast<size_t>(options_.max_value_bytes)) {
    ReportOversized(value.bytes.size());
    return false;
  }
  value.ttl_ms = EntryTtlMs(key, value.ttl_ms);
  try {
    // Every store of a computed value is fenced: the backend refuses it if
    // a clear began (here or in another process) since the lookup.
    const bool stored = ns_->Store(key, std::move(value), &fence);
    if (stored) counters_.Add(kStores);
    return stored;
  } catch (const std::exception& e) {
    ReportBackendError("store", e);
    return false;
  }
}

void FunctionCache::LogLimited(LogLimit& limit, std::string message) {
  const int64_t now = SteadyNowMs();
  int64_t last = limit.last_ms.load(std::memory_order_relaxed);
  if ((last != INT64_MIN && now - last < kErrorLogIntervalMs) ||
      !limit.last_ms.compare_exchange_strong(last, now,
                                             std::memory_order_relaxed)) {
    // Within the interval, or another thread logs this one.
    limit.suppressed.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const int64_t suppressed =
      limit.suppressed.exchange(0, std::memory_order_relaxed);
  absl::StrAppend(&message, kErrorLogIntervalMs / 1000, " s");
  if (suppressed > 0) {
    absl::StrAppend(&message, " (", suppressed, " more since the last line)");
  }
  Log(LogLevel::kWarning, message, options_.name, options_.backend);
}

void FunctionCache::ReportBackendError(const char* operation,
                                       const std::exception& e) {
  CountError();
  LogLimited(error_log_,
             absl::StrCat(operation, " failed: ", e.what(),
                          "; the function is called uncached (fail-open). "
                          "Errors of this function are logged at most every "));
}

void FunctionCache::ReportOversized(size_t bytes) {
  counters_.Add(kOversized);
  LogLimited(
      oversized_log_,
      absl::StrCat("a value of ", bytes, " bytes was not stored: larger than ",
                   options_.max_value_bytes,
                   " bytes (CacheOptions::max_value_bytes or "
                   "CACHE_ALCHEMY_MAX_VALUE_BYTES); the result was "
                   "returned uncached. Logged at most every "));
}

void FunctionCache::ReportRefreshError(std::string_view what) {
  counters_.Add(kRefreshErrors);
  LogLimited(refresh_log_,
             absl::StrCat("background refresh failed: ", std::string(what),
                          "; the cached value stays until it expires. Refresh "
                          "errors of this function are logged at most every "));
}

bool FunctionCache::BeginRefresh(const std::string& key) {
  std::lock_guard<std::mutex> lock(g_refresh_mu);
  const uint64_t now = g_fork_generation.load();
  auto [it, inserted] = refreshing_.try_emplace(key, now);
  if (!inserted && it->second == now) return false;
  it->second = now;
  return true;
}

void FunctionCache::EndRefresh(const std::string& key) {
  std::lock_guard<std::mutex> lock(g_refresh_mu);
  refreshing_.erase(key);
}

int64_t FunctionCache::Invalidate(const std::string& key,
                                  const TypedPattern& pattern) {
  return CascadeInvalidate(shared_from_this(), key, pattern);
}

int64_t FunctionCache::InvalidateLocal(const std::string& key) {
  if (!enabled()) return 0;
  std::unique_lock<std::shared_mutex> lock(clear_mu_);
  // Every computation of this function that began before is not stored
  // (conservative: a per-key fence would spare the other keys, but the
  // backends fence whole namespaces or buckets anyway). Only this key's
  // flight is dropped: callers of other keys may still join theirs.
  generation_.fetch_add(1, std::memory_order_acq_rel);
  {
    std::lock_guard<std::mutex> flights_lock(flights_mu_);
    flights_.erase(key);
  }
  try {
    return ns_->Invalidate(key);
  } catch (const std::exception& e) {
    CountError();
    Log(LogLevel::kError,
        absl::StrCat("invalidate failed: ", e.what(),
                     " (reported to the caller as ca::ClearError)"),
        options_.name, options_.backend);
    throw;
  }
}

int64_t FunctionCache::ClearAll() {
  return CascadeClear(shared_from_this(), std::nullopt);
}

int64_t FunctionCache::ClearMatching(const TypedPattern& pattern) {
  return CascadeClear(shared_from_this(), pattern);
}

int64_t FunctionCache::ClearLocal() {
  return ClearLocalWith([](CacheNamespace& ns) { return ns.Clear(); });
}

int64_t FunctionCache::ClearLocalMatching(const TypedPattern& pattern) {
  const KeyPattern& mine = pattern.For(key_format_);
  return ClearLocalWith(
      [&mine](CacheNamespace& ns) { return ns.ClearMatching(mine); });
}

void FunctionCache::FenceComputations() {
  if (!enabled()) return;
  std::unique_lock<std::shared_mutex> lock(clear_mu_);
  FenceLocked();
}

void FunctionCache::FenceLocked() {
  generation_.fetch_add(1, std::memory_order_acq_rel);
  // Callers arriving from now on must not join a computation that began
  // before the clear.
  std::lock_guard<std::mutex> flights_lock(flights_mu_);
  flights_.clear();
}

int64_t FunctionCache::ClearLocalWith(
    absl::FunctionRef<int64_t(CacheNamespace&)> clear) {
  if (!enabled()) return 0;
  std::unique_lock<std::shared_mutex> lock(clear_mu_);
  // Fenced even if the backend fails below: nothing computed before this
  // clear is stored by this process afterwards.
  FenceLocked();
  try {
    return clear(*ns_);
  } catch (const std::exception& e) {
    CountError();
    Log(LogLevel::kError,
        absl::StrCat("clear failed: ", e.what(),
                     " (reported to the caller as ca::ClearError)"),
        options_.name, options_.backend);
    throw;
  }
}

NamedPattern FunctionCache::ToNamed(const TypedPattern& pattern) const {
  NamedPattern named;
  const auto& binary = pattern.binary.segments;
  const auto& text = pattern.text.segments;
  for (size_t i = 0;
       i < binary.size() && i < text.size() && i < options_.keyed_params.size();
       ++i) {
    if (!binary[i].has_value() || !text[i].has_value()) continue;
    const ParamInfo& param = options_.keyed_params[i];
    named.slots.push_back({param.name, param.type, *binary[i], *text[i]});
  }
  return named;
}

std::optional<TypedPattern> FunctionCache::FromNamed(
    const NamedPattern& named) const {
  if (!options_.strict || !options_.explicit_param_names) return std::nullopt;
  TypedPattern pattern;
  pattern.binary.segments.resize(options_.keyed_params.size());
  pattern.text.segments.resize(options_.keyed_params.size());
  for (const auto& slot : named.slots) {
    bool found = false;
    for (size_t i = 0; i < options_.keyed_params.size(); ++i) {
      const ParamInfo& param = options_.keyed_params[i];
      if (param.name == slot.name && param.type == slot.type) {
        pattern.binary.segments[i] = slot.binary;
        pattern.text.segments[i] = slot.text;
        found = true;
        break;
      }
    }
    if (!found) return std::nullopt;
  }
  return pattern;
}

int64_t FunctionCache::size() {
  if (!enabled()) return 0;
  try {
    return ns_->Size();
  } catch (const std::exception& e) {
    ReportBackendError("size", e);
    return 0;
  }
}

}  // namespace internal
}  // namespace cache_alchemy
