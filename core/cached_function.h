// File: core/cached_function.h
// -----------------------------------------------------------------------------
//
// Memoizing wrappers. `ca::cache(options, fn)` wraps a callable with a fixed
// signature and returns a `CachedFunction` that answers from a backend chosen
// by its dotted name, calling `fn` only on a miss:
//
//   namespace ca = cache_alchemy;
//   auto slow_add = ca::cache(
//       {.limit = 100, .expire = 60, .strict = true,
//        .backend = "cache_alchemy.backends.memory.MemoryCache",
//        .params = {"a", "b"}},
//       [](int a, int b) { return a + b; });
//   slow_add(1, 2);                    // miss: calls the lambda
//   slow_add(1, 2);                    // hit
//   slow_add.cache_clear(1);           // partial: every entry with a == 1
//   slow_add.cache_clear(ca::arg("b", 2));
//   slow_add.cache_clear();            // everything
//
// The families `memory_cache`, `json_cache`, `pickle_cache` (and `method_...`,
// `property_...`, which set is_method) take their backend from the current
// config when `options.backend` is empty.

#ifndef CACHE_ALCHEMY_CORE_CACHED_FUNCTION_H_
#define CACHE_ALCHEMY_CORE_CACHED_FUNCTION_H_

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <source_location>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeindex>
#include <utility>
#include <vector>

#include "core/backend.h"
#include "core/errors.h"
#include "core/internal/async_result.h"
#include "core/internal/envelope.h"
#include "core/internal/function_cache.h"
#include "core/internal/signature.h"
#include "core/internal/task_pool.h"
#include "core/key_encoder.h"
#include "core/options.h"
#include "core/strict_key.h"
#include "core/value_codec.h"

namespace cache_alchemy {

// A partial-clear pattern that matches every value of its parameter.
struct AnyPattern {};
inline constexpr AnyPattern any{};

// A partial-clear pattern for the parameter named `name` (needs
// `CacheOptions::params`).
template <typename V>
struct ArgPattern {
  std::string name;
  V value;
};

// `ca::arg("user_id", 42)`: matches entries whose `user_id` equals 42.
template <typename V>
ArgPattern<std::decay_t<V>> arg(std::string name, V&& value) {
  return {std::move(name), std::forward<V>(value)};
}
// `ca::arg("user_id", ca::any)`: names a parameter without fixing it.
inline ArgPattern<AnyPattern> arg(std::string name, AnyPattern) {
  return {std::move(name), AnyPattern{}};
}

namespace internal {

// Which config key a wrapper takes its default backend from.
enum class Family { kMemory, kJson, kPickle };

// What the non-template wrap code needs to know about a signature.
struct SignatureInfo {
  // typeid(R(decayed Args...)).name(): names the argument and result types
  // (stable across builds of one ABI); part of the function's identity.
  std::string signature;
  std::vector<std::type_index> param_types;
  bool first_param_encodable = true;
  std::string result_type;
  bool supports_json = false;
  bool supports_binary = false;
  // The type an entry holds (R, or T of an async function's future).
  const std::type_info* value_type = &typeid(void);
  // Every decayed argument type is copy-constructible (refresh_after copies
  // the arguments); else the first that is not.
  bool args_copyable = true;
  std::string not_copyable_arg;
};

// Applies defaults, checks options, resolves and opens the backend.
// Throws std::invalid_argument, BackendNotFoundError, std::runtime_error.
std::shared_ptr<FunctionCache> MakeFunctionCache(
    const CacheOptions& options, Family family, bool force_method,
    const std::source_location& loc, const SignatureInfo& sig);

// A readable name of a type, for messages.
std::string TypeName(const std::type_info& type);

// The size of the binary key encoding of a `T` when it is the same for every
// value (bool, integers, enums, float, double), else 0.
template <typename T>
constexpr size_t FixedKeyWidth() {
  using U = std::remove_cv_t<std::remove_reference_t<T>>;
  if constexpr (std::is_same_v<U, bool>) {
    return 1;
  } else if constexpr (std::is_integral_v<U> || std::is_enum_v<U> ||
                       std::is_same_v<U, float> || std::is_same_v<U, double>) {
    return sizeof(U);
  } else {
    return 0;
  }
}

template <typename T>
struct IsArgPattern : std::false_type {};
template <typename V>
struct IsArgPattern<ArgPattern<V>> : std::true_type {};

}  // namespace internal

template <typename Sig>
class CachedFunction;

namespace internal {
// INTERNAL: tests' access to how a CachedFunction builds its keys.
struct CachedFunctionPeer;
}  // namespace internal

// A memoized function. Copies are cheap handles that share one cache.
//
// Thread safety: any number of threads may call, clear and copy one
// CachedFunction at once. Concurrent misses on one key run `fn` once; the
// other callers wait for that result (or its exception).
//
// A function returning std::future<T> or std::shared_future<T> is cached
// asynchronously: the cache holds the T (never the future), concurrent misses
// share one computation, and each call returns a future of its own
// (docs/design.md, "Async functions"). In the comments below, "the value
// type" is T for those functions and R otherwise.
template <typename R, typename... Args>
class CachedFunction<R(Args...)> {
  using Async = internal::AsyncResult<R>;
  static constexpr bool kAsync = Async::kAsync;
  // What an entry holds: R, or T for an async function (a placeholder for
  // std::future<void>, refused below, so that only that message shows).
  using V = std::conditional_t<std::is_void_v<typename Async::Value>, char,
                               typename Async::Value>;

  static_assert(!std::is_void_v<R>,
                "cache_alchemy: this function returns void, so there is "
                "nothing to cache. Return the value the callers need.");
  static_assert(!std::is_reference_v<R>,
                "cache_alchemy: this function returns a reference; a cache "
                "keeps values. Return the type by value (or a "
                "std::shared_ptr<const T> to share one object).");
  static_assert(kAsync || std::is_void_v<R> || std::is_reference_v<R> ||
                    std::is_copy_constructible_v<R>,
                "cache_alchemy: the result type is not copyable (move-only, "
                "such as std::unique_ptr): every caller gets a copy of the "
                "cached value. Return a std::shared_ptr<const T> instead.");
  static_assert(!kAsync || (!std::is_void_v<typename Async::Value> &&
                            !std::is_reference_v<V> &&
                            std::is_copy_constructible_v<V>),
                "cache_alchemy: an async function's future must carry a "
                "copyable value (not void, not a reference, not move-only): "
                "the cache stores the value and gives each caller a copy.");

 public:
  using result_type = R;
  static constexpr size_t kArity = sizeof...(Args);

  CachedFunction(std::function<R(Args...)> fn,
                 std::shared_ptr<internal::FunctionCache> state)
      : fn_(std::move(fn)),
        state_(std::move(state)),
        first_keyed_(state_->options().is_method && kArity > 0 ? 1 : 0),
        strict_(state_->options().strict),
        format_(state_->format()),
        key_format_(state_->key_format()),
        enveloped_(state_->options().envelope),
        unless_(state_->options().unless ? &state_->options().unless
                                         : nullptr) {}

  // Returns the cached result for `args`, or calls the function once and
  // stores its result. An exception from the function reaches the caller and
  // nothing is stored (unless `cache_exceptions` names its type: then it is
  // stored and rethrown to later callers until it expires). Backend failures
  // never reach the caller (fail-open).
  // Async functions: returns a future of its own; see the class comment.
  R operator()(Args... args) const requires(!kAsync) {
    internal::FunctionCache& state = *state_;
    if (!state.enabled()) {
      const internal::MissTimer timer(state);  // counts the miss
      return fn_(std::forward<Args>(args)...);
    }
    if (enveloped_) return CallWithPolicies(std::forward<Args>(args)...);
    KeyBuffer buffer;
    const std::string_view key = MakeKey(&buffer, args...);
    std::optional<V> found;
    // The backend's invalidation state as of the lookup: the store of a
    // value computed after a miss is refused if a clear came in between.
    Fence fence;
    bool fenced = false;
    const uint64_t finished = state.finished_flights();
    if (state.Lookup(key, &DecodeInto, this_context(&found), &fence, &fenced)) {
      if (found) {
        state.CountHit();
        return std::move(*found);
      }
      // Stored but undecodable (corrupt, another version or type): a miss
      // that overwrites it, counted as an error.
      state.CountError();
    }
    return Miss(key, fence, fenced, finished, /*force=*/false,
                std::forward<Args>(args)...);
  }
  R operator()(Args... args) const requires(kAsync) {
    internal::FunctionCache& state = *state_;
    if (!state.enabled()) {
      const internal::MissTimer timer(state);  // counts the miss
      return fn_(std::forward<Args>(args)...);
    }
    return CallWithPolicies(std::forward<Args>(args)...);
  }

  // Removes the entry of exactly these arguments (all of them, as in a
  // call; a method's object is not part of the key) and cascades to the
  // dependents exactly as `cache_clear(args...)` with every parameter given
  // would: a strict dependent with named parameters (`params`) that match
  // loses the matching entries, any other dependent is cleared fully.
  // Returns how many entries were removed in all (0 or 1 for this
  // function). Works on strict and non-strict functions. Fenced like a
  // clear: a computation of this function that began before is not stored
  // after it returns (in this process: every key, conservatively), in any
  // process sharing the store; DistributedMemoryCache pushes it to every
  // process. Throws ClearError when the backend could not remove the entry
  // (after fencing this process's computations).
  int64_t invalidate(Args... args) const {
    KeyBuffer buffer;
    const std::string key(MakeKey(&buffer, args...));
    return state_->Invalidate(key, FullPattern(args...));
  }

  // Stores `value` as the result for `args` without calling the function
  // (warm-up, write-through). First invalidates the entry as `invalidate`
  // does (cascade included), so no computation that began before can
  // overwrite `value` afterwards; then stores it, fenced: a clear or
  // invalidation that comes after that point (before the store) wins and
  // `value` is not stored. (A clear that overlaps the put may be ordered
  // before it.) `unless` applies. Returns whether `value` was stored.
  // Throws ClearError when the old entry could not be invalidated; a store
  // that fails after that is counted in `errors()` and logged (the entry is
  // then absent: the next call computes it).
  bool put(const V& value, Args... args) const {
    internal::FunctionCache& state = *state_;
    KeyBuffer buffer;
    const std::string_view key = MakeKey(&buffer, args...);
    const std::string key_string(key);
    state.Invalidate(key_string, FullPattern(args...));
    if (!state.enabled()) return false;
    const uint64_t generation = state.generation();
    Fence fence;
    bool fenced = false;
    state.Lookup(key, &IgnoreValue, nullptr, &fence, &fenced);
    if (!fenced) return false;  // a lookup error: counted, nothing stored
    std::optional<StoredValue> stored =
        EncodeForStore(std::make_shared<const V>(value));
    if (!stored.has_value()) return false;
    stored->confirm = true;  // the answer is put()'s result
    return state.StoreFenced(key_string, std::move(*stored), fence, generation);
  }

  // Recomputes the result for `args` now and stores it: invalidates the
  // entry as `invalidate` does (cascade included; throws ClearError), then
  // calls the function (never joining a computation that began before) and
  // stores its result fenced like any miss. Callers arriving meanwhile wait
  // for this computation. Returns the new result (async: its future);
  // counted as a miss. An exception from the function reaches the caller
  // (the old entry is gone either way).
  R refresh(Args... args) const {
    internal::FunctionCache& state = *state_;
    KeyBuffer buffer;
    const std::string_view key = MakeKey(&buffer, args...);
    state.Invalidate(std::string(key), FullPattern(args...));
    if (!state.enabled()) {
      const internal::MissTimer timer(state);  // counts the miss
      return fn_(std::forward<Args>(args)...);
    }
    Fence fence;
    bool fenced = false;
    state.Lookup(key, &IgnoreValue, nullptr, &fence, &fenced);
    if constexpr (kAsync) {
      return AsyncMiss(key, fence, fenced, 0, /*force=*/true,
                       std::forward<Args>(args)...);
    } else {
      return Miss(key, fence, fenced, 0, /*force=*/true,
                  std::forward<Args>(args)...);
    }
  }

  // Calls the wrapped function, bypassing the cache: reads nothing, stores
  // nothing, counts nothing. For a caller that needs fresh data once.
  R uncached(Args... args) const { return fn_(std::forward<Args>(args)...); }

  // Removes every entry of this function and of its dependents; returns how
  // many were removed in all. Fenced: a value computed from data older than
  // the clear is never stored after it returns (here or in another process
  // sharing the store). Throws ClearError (core/errors.h) naming every
  // function that could not be cleared (its backend unreachable), after
  // clearing the rest; it never returns as if it had cleared.
  int64_t cache_clear() const { return state_->ClearAll(); }

  // Partial clear (strict functions only). Each pattern is a value (matches
  // equal arguments), `ca::any`, or `ca::arg("name", value)`. Unnamed
  // patterns apply to the keyed parameters in order (after the object of a
  // method); parameters without a pattern match anything. Returns the number
  // of entries removed, dependents included.
  // Fenced and throwing ClearError as `cache_clear()`.
  // Throws UnsupportedError on a non-strict function; std::invalid_argument
  // for an unknown name, a parameter given twice, too many patterns, or a
  // value not convertible to its parameter's type.
  template <typename P0, typename... Ps>
  int64_t cache_clear(const P0& first, const Ps&... rest) const {
    if (!strict_) {
      throw UnsupportedError(
          "cache_clear(patterns...) on '" + state_->options().name +
          "': partial clears need a strict function (CacheOptions::strict)");
    }
    internal::TypedPattern pattern;
    pattern.binary.segments.resize(kArity - first_keyed_);
    pattern.text.segments.resize(kArity - first_keyed_);
    std::vector<bool> set(pattern.binary.segments.size(), false);
    size_t next_position = 0;
    AddPattern(first, &pattern, &set, &next_position);
    (AddPattern(rest, &pattern, &set, &next_position), ...);
    return state_->ClearMatching(pattern);
  }

  // Calls answered without running the function (from the cache or from a
  // concurrent caller's computation) since creation.
  int64_t hits() const { return state_->hits(); }
  // Calls that ran the function since creation.
  int64_t misses() const { return state_->misses(); }
  // Backend failures absorbed (fail-open) since creation.
  int64_t errors() const { return state_->errors(); }
  // Entries this function holds in its backend now.
  int64_t size() const { return state_->size(); }
  // Refresh-ahead (CacheOptions::refresh_after): background recomputations
  // that stored their value, and those that failed (the function threw; the
  // old value stayed), since creation.
  int64_t refreshes() const { return state_->refreshes(); }
  int64_t refresh_errors() const { return state_->refresh_errors(); }
  // Results not stored because their serialized size exceeded
  // CacheOptions::max_value_bytes, since creation.
  int64_t oversized() const { return state_->oversized(); }

  // The resolved identity and options.
  const std::string& name() const { return state_->options().name; }
  const std::string& backend() const { return state_->options().backend; }

  // INTERNAL: the node a FunctionCacheDependency names.
  const std::shared_ptr<internal::DependencyNode>& dependency_node() const {
    return state_->node();
  }

 private:
  friend struct internal::CachedFunctionPeer;

  struct DecodeContext {
    ValueFormat format;
    std::optional<V>* out;
  };

  // Packs the decode target for `DecodeInto`. The context lives on the
  // caller's stack for the duration of the lookup only.
  struct ContextHolder {
    DecodeContext context;
    operator void*() { return &context; }
  };
  ContextHolder this_context(std::optional<V>* out) const {
    return ContextHolder{{format_, out}};
  }

  static void DecodeInto(void* context, const ValueView& value) {
    auto* c = static_cast<DecodeContext*>(context);
    if constexpr (ValueCodec<V>::kInline) {
      // The in-process hit of a small trivially copyable value: its bytes.
      if (c->format == ValueFormat::kObject && value.object == nullptr &&
          value.bytes.size() == sizeof(V)) {
        V* out = &c->out->emplace();
        std::memcpy(static_cast<void*>(out), value.bytes.data(), sizeof(V));
        return;
      }
    }
    ValueCodec<V>::Decode(c->format, value, c->out);
  }

  static void IgnoreValue(void*, const ValueView&) {}

  struct EnvelopeContext {
    ValueFormat format;
    internal::EnvelopeRead<V>* out;
  };
  static void DecodeEnvelopeInto(void* context, const ValueView& value) {
    auto* c = static_cast<EnvelopeContext*>(context);
    internal::DecodeEnvelope<V>(c->format, value, c->out);
  }

  // What a lookup found: a value (`stale` when older than refresh_after),
  // or a cached exception.
  struct Found {
    std::optional<V> value;
    std::exception_ptr error;
    bool stale = false;
  };

  // For a leader about to compute `key`: looks it up again when another
  // caller may have stored it since this caller's lookup, and returns true
  // on a hit. That is when a flight finished since the lookup
  // (`finished`, finished_flights() read before it), or when this key's
  // last flight finished just before it (`ticket.after_recent_flight`) and
  // the backend sends stores without waiting (deferred_stores=1: the store
  // may have run after our lookup). Either way it first waits until such
  // stores have run (AwaitStores); otherwise no round trip is spent.
  bool LookAgain(std::string_view key, uint64_t finished,
                 const internal::FunctionCache::Ticket& ticket, Found* found,
                 Fence* fence, bool* fenced) const {
    internal::FunctionCache& state = *state_;
    const bool flights_finished = state.finished_flights() != finished;
    if (!flights_finished && !ticket.after_recent_flight) return false;
    const bool deferred = state.AwaitStores();
    if (!flights_finished && !deferred) return false;
    return Find(key, found, fence, fenced);
  }

  // Looks `key` up, through the envelope when the function uses one.
  // Returns true on a hit (a value, or a live cached exception). An entry
  // that does not decode counts as an error and reads as a miss; a cached
  // exception past its lifetime reads as a miss.
  bool Find(std::string_view key, Found* found, Fence* fence,
            bool* fenced) const {
    internal::FunctionCache& state = *state_;
    if (!enveloped_) {
      if (!state.Lookup(key, &DecodeInto, this_context(&found->value), fence,
                        fenced)) {
        return false;
      }
      if (!found->value.has_value()) {
        state.CountError();
        return false;
      }
      return true;
    }
    internal::EnvelopeRead<V> read;
    EnvelopeContext context{format_, &read};
    if (!state.Lookup(key, &DecodeEnvelopeInto, &context, fence, fenced)) {
      return false;
    }
    if (!read.decoded) {
      state.CountError();
      return false;
    }
    const int64_t now = state.StampNow();
    if (read.is_error()) {
      // Never served past its lifetime, whatever the backend kept.
      if (now >= read.written_ms + read.ttl_ms) return false;
      found->error = read.error != nullptr ? read.error : RebuildError(read);
      if (found->error == nullptr) {
        state.CountError();
        return false;
      }
      return true;
    }
    const int64_t refresh_after = state.options().refresh_after_ms;
    found->stale = refresh_after > 0 && now - read.written_ms >= refresh_after;
    found->value = std::move(read.value);
    return true;
  }

  // A cached exception of a serializing backend, made again from its type
  // and what(); null if the type index is not one of this function's.
  std::exception_ptr RebuildError(const internal::EnvelopeRead<V>& read) const {
    const ExceptionCaching& caching = state_->options().exceptions;
    if (read.error_index < 0 ||
        static_cast<size_t>(read.error_index) >= caching.types().size()) {
      return nullptr;
    }
    try {
      caching.Rethrow(read.error_index, read.what);
    } catch (...) {
      return std::current_exception();
    }
    return nullptr;
  }

  // The stored form of a computed value, or nullopt when it is not stored
  // (`unless` said so, or it does not encode: counted as an error).
  std::optional<StoredValue> EncodeForStore(
      const std::shared_ptr<const V>& value) const {
    // Never throws: a flight must always be finished.
    try {
      if (unless_ != nullptr && (*unless_)(value.get())) return std::nullopt;
      if (enveloped_) {
        return internal::EncodeEnvelopeValue<V>(format_, state_->StampNow(),
                                                value);
      }
      return ValueCodec<V>::Encode(format_, value);
    } catch (...) {
      state_->CountError();
      return std::nullopt;
    }
  }

  // The stored form of an exception the function threw, when
  // `cache_exceptions` names its type; else nullopt.
  std::optional<StoredValue> EncodeErrorForStore(
      const std::exception_ptr& error) const {
    if (!enveloped_) return std::nullopt;
    const internal::ResolvedOptions& options = state_->options();
    const int index = options.exceptions.Match(error);
    if (index < 0) return std::nullopt;
    try {
      return internal::EncodeEnvelopeError<V>(
          format_, state_->StampNow(), options.exception_ttl_ms, error, index);
    } catch (...) {
      state_->CountError();
      return std::nullopt;
    }
  }

  // A call of a function that is async or keeps envelopes (refresh-ahead,
  // cached exceptions): the plain path above stays as lean as it was.
  R CallWithPolicies(Args... args) const {
    internal::FunctionCache& state = *state_;
    KeyBuffer buffer;
    const std::string_view key = MakeKey(&buffer, args...);
    Found found;
    Fence fence;
    bool fenced = false;
    const uint64_t finished = state.finished_flights();
    // Read before the lookup: a background refresh started from this hit
    // is not stored if a clear comes after this point.
    const uint64_t generation = state.generation();
    if (Find(key, &found, &fence, &fenced)) {
      state.CountHit();
      if (found.stale) ScheduleRefresh(key, generation, fence, args...);
      if constexpr (kAsync) {
        return found.error != nullptr
                   ? internal::FailedFuture<R>(found.error)
                   : internal::ReadyFuture<R>(std::move(*found.value));
      } else {
        if (found.error != nullptr) std::rethrow_exception(found.error);
        return std::move(*found.value);
      }
    }
    if constexpr (kAsync) {
      return AsyncMiss(key, fence, fenced, finished, /*force=*/false,
                       std::forward<Args>(args)...);
    } else {
      return Miss(key, fence, fenced, finished, /*force=*/false,
                  std::forward<Args>(args)...);
    }
  }

  // A miss: joins the computation of `key` in flight, or leads one (always,
  // with `force`), computes and stores (fenced by `fence` when `fenced`).
  // `finished` is finished_flights() as read before the lookup.
  R Miss(std::string_view key, Fence fence, bool fenced, uint64_t finished,
         bool force, Args... args) const {
    internal::FunctionCache& state = *state_;
    // A miss: the flight table and the backend's store need a string.
    const std::string key_string(key);
    auto ticket =
        state.JoinOrLead(key_string, fenced ? &fence : nullptr, nullptr, force);
    if (!ticket.leader) {
      auto value = internal::FunctionCache::Wait(*ticket.flight);
      state.CountHit();
      return *static_cast<const V*>(value.get());
    }
    // Another leader may have stored the value since our lookup; if no
    // flight finished since, none did, and a remote backend is spared a
    // second round trip. A flight of this key that finished just before
    // our lookup may have sent its store without waiting (deferred_stores):
    // our lookup may have run before it, so look again too.
    Found found;
    if (!force && LookAgain(key, finished, ticket, &found, &fence, &fenced)) {
      state.CountHit();
      if (found.error != nullptr) {
        state.Finish(ticket, key_string, nullptr, found.error, std::nullopt,
                     nullptr);
        std::rethrow_exception(found.error);
      }
      auto value = std::make_shared<const V>(std::move(*found.value));
      state.Finish(ticket, key_string, value, nullptr, std::nullopt, nullptr);
      return *value;
    }
    std::shared_ptr<const V> value;
    const int64_t started = internal::MonotonicNanos();
    try {
      value = std::make_shared<const V>(fn_(std::forward<Args>(args)...));
    } catch (...) {
      const std::exception_ptr error = std::current_exception();
      state.CountMiss(internal::MonotonicNanos() - started);
      state.Finish(ticket, key_string, nullptr, error,
                   EncodeErrorForStore(error), fenced ? &fence : nullptr);
      throw;
    }
    state.CountMiss(internal::MonotonicNanos() - started);
    state.Finish(ticket, key_string, value, nullptr, EncodeForStore(value),
                 fenced ? &fence : nullptr);
    return *value;
  }

  // The miss of an async function: as Miss, but the callers get futures and
  // the value is stored when it arrives (by the thread that waits for it:
  // core/internal/task_pool.h). A clear while it is pending: the callers
  // that asked before get the value, nothing is stored, and callers after
  // the clear start a computation of their own.
  R AsyncMiss(std::string_view key, Fence fence, bool fenced, uint64_t finished,
              bool force, Args... args) const {
    internal::FunctionCache& state = *state_;
    const std::string key_string(key);
    auto pending = std::make_shared<internal::AsyncPending<V>>();
    auto ticket =
        state.JoinOrLead(key_string, fenced ? &fence : nullptr, pending, force);
    if (!ticket.leader) {
      state.CountHit();
      return static_cast<internal::AsyncPending<V>*>(ticket.flight->async.get())
          ->template Get<R>();
    }
    Found found;
    if (!force && LookAgain(key, finished, ticket, &found, &fence, &fenced)) {
      state.CountHit();
      if (found.error != nullptr) {
        pending->Resolve(nullptr, found.error);
        state.Finish(ticket, key_string, nullptr, found.error, std::nullopt,
                     nullptr);
        return internal::FailedFuture<R>(found.error);
      }
      auto value = std::make_shared<const V>(std::move(*found.value));
      pending->Resolve(value, nullptr);
      state.Finish(ticket, key_string, value, nullptr, std::nullopt, nullptr);
      return internal::ReadyFuture<R>(*value);
    }
    std::optional<R> underlying;
    const int64_t started = internal::MonotonicNanos();
    try {
      underlying.emplace(fn_(std::forward<Args>(args)...));
    } catch (...) {
      // Thrown before a future was made: this caller gets the exception
      // as the plain function would give it; joiners get it in theirs.
      const std::exception_ptr error = std::current_exception();
      state.CountMiss(internal::MonotonicNanos() - started);
      pending->Resolve(nullptr, error);
      state.Finish(ticket, key_string, nullptr, error,
                   EncodeErrorForStore(error), fenced ? &fence : nullptr);
      throw;
    }
    R result = pending->template Get<R>();
    // (An invalid future completes at once: its get() throws.)
    const bool ready =
        !underlying->valid() || underlying->wait_for(std::chrono::seconds(0)) ==
                                    std::future_status::ready;
    // (Shared: a std::function, which the pool takes, must be copyable.)
    auto complete = [self = *this, pending, ticket, key_string, fence, fenced,
                     started,
                     future = std::make_shared<R>(std::move(*underlying))] {
      self.CompleteAsync(*pending, ticket, key_string, fence, fenced, started,
                         *future);
    };
    if (ready || !internal::TaskPool::Waiters().Submit(complete)) {
      complete();  // ready already (or the process is exiting)
    }
    return result;
  }

  // Delivers the result of `future` to the callers, then stores it.
  // (A miss of an async function counts the time until its value arrived.)
  void CompleteAsync(internal::AsyncPending<V>& pending,
                     const internal::FunctionCache::Ticket& ticket,
                     const std::string& key, const Fence& fence, bool fenced,
                     int64_t started, R& future) const {
    std::shared_ptr<const V> value;
    std::exception_ptr error;
    try {
      value = std::make_shared<const V>(future.get());
    } catch (...) {
      error = std::current_exception();
    }
    state_->CountMiss(internal::MonotonicNanos() - started);
    // The callers first: none waits for the store.
    pending.Resolve(value, error);
    if (error != nullptr) {
      state_->Finish(ticket, key, nullptr, error, EncodeErrorForStore(error),
                     fenced ? &fence : nullptr);
    } else {
      state_->Finish(ticket, key, value, nullptr, EncodeForStore(value),
                     fenced ? &fence : nullptr);
    }
  }

  // Refresh-ahead: recomputes `key` in the background (once per key at a
  // time) and stores the result fenced by the lookup that found the old
  // entry (`fence`, `generation`): a clear since then wins.
  void ScheduleRefresh(std::string_view key, uint64_t generation,
                       const Fence& fence, const Args&... args) const {
    if constexpr (kArgsCopyable) {
      internal::FunctionCache& state = *state_;
      std::string key_string(key);
      if (!state.BeginRefresh(key_string)) return;  // one is pending
      auto task = [self = *this, key_string, generation, fence,
                   copies =
                       std::tuple<std::decay_t<Args>...>(args...)]() mutable {
        self.RunRefresh(key_string, generation, fence, copies);
      };
      if (!internal::TaskPool::Refresh().Submit(std::move(task))) {
        state.EndRefresh(key_string);  // queue full: a later hit retries
      }
    }
  }

  void RunRefresh(const std::string& key, uint64_t generation,
                  const Fence& fence,
                  std::tuple<std::decay_t<Args>...>& args) const {
    internal::FunctionCache& state = *state_;
    try {
      auto value = std::make_shared<const V>(
          CallWithCopies(args, std::index_sequence_for<Args...>{}));
      if (unless_ != nullptr && (*unless_)(value.get())) {
        // Not to be stored: the old value must not outlive it either.
        state.InvalidateLocal(key);
      } else if (std::optional<StoredValue> stored = EncodeForStore(value)) {
        if (state.StoreFenced(key, std::move(*stored), fence, generation)) {
          state.CountRefresh();
        }
      }
    } catch (const std::exception& e) {
      state.ReportRefreshError(e.what());
    } catch (...) {
      state.ReportRefreshError("an exception not derived from std::exception");
    }
    state.EndRefresh(key);
  }

  template <size_t... I>
  V CallWithCopies(std::tuple<std::decay_t<Args>...>& args,
                   std::index_sequence<I...>) const {
    if constexpr (kAsync) {
      return fn_(static_cast<Args>(std::get<I>(args))...).get();
    } else {
      return fn_(static_cast<Args>(std::get<I>(args))...);
    }
  }

  static constexpr bool kArgsCopyable =
      (std::is_copy_constructible_v<std::decay_t<Args>> && ...);

  // The pattern naming exactly `args` (every keyed parameter given), in
  // both key formats: how an invalidation reaches dependents.
  internal::TypedPattern FullPattern(const Args&... args) const {
    internal::TypedPattern pattern;
    pattern.binary.segments.resize(kArity - first_keyed_);
    pattern.text.segments.resize(kArity - first_keyed_);
    size_t index = 0;
    (AddFullSlot(args, index++, &pattern), ...);
    return pattern;
  }

  template <typename A>
  void AddFullSlot(const A& arg, size_t index,
                   internal::TypedPattern* pattern) const {
    if (index < first_keyed_) return;
    if constexpr (IsKeyEncodable<A>::value) {
      std::string binary, text;
      KeyWriter(&binary, KeyFormat::kBinary).Add(arg);
      KeyWriter(&text, KeyFormat::kText).Add(arg);
      pattern->binary.segments[index - first_keyed_] = std::move(binary);
      pattern->text.segments[index - first_keyed_] = std::move(text);
    }
  }

  // Keys of scalar-only signatures are built in place (no string), in
  // either format: the hit path of an in-process backend spends most of its
  // time here.
  static constexpr bool kAllFixedWidth =
      ((internal::FixedKeyWidth<Args>() > 0) && ...);
  // The longest text of one scalar: 24 characters for the shortest
  // round-trip double (`-2.2250738585072014e-308`), 20 for an integer, one
  // separator.
  static constexpr size_t kMaxScalarText = 32;
  // The longest such key: every argument, binary and strict (one length
  // byte each), or text.
  static constexpr size_t kMaxFixedKey =
      std::max((size_t{0} + ... + (internal::FixedKeyWidth<Args>() + 1)),
               sizeof...(Args) * kMaxScalarText);

  // Where a key is built: in place for scalar-only signatures, else in a
  // string.
  struct KeyBuffer {
    char fixed[kMaxFixedKey > 0 ? kMaxFixedKey : 1];
    std::optional<std::string> text;  // made only when needed
  };

  // The key of one call, in the backend's key format: all keyed arguments
  // (fast), or one segment per keyed argument (strict). Points into
  // `*buffer`.
  std::string_view MakeKey(KeyBuffer* buffer, const Args&... args) const {
    if constexpr (kAllFixedWidth) {
      if constexpr (kPackedKey) {
        if (key_format_ == KeyFormat::kBinary && first_keyed_ == 0) {
          return strict_ ? PackKey<true>(buffer, args...)
                         : PackKey<false>(buffer, args...);
        }
      }
      if (key_format_ == KeyFormat::kBinary) {
        size_t size = 0;
        size_t index = 0;
        (WriteFixed(args, index++, buffer->fixed, &size), ...);
        return std::string_view(buffer->fixed, size);
      }
      size_t size = 0;
      size_t index = 0;
      (WriteFixedText(args, index++, buffer->fixed, &size), ...);
      return std::string_view(buffer->fixed, size);
    }
    KeyWriter writer(&buffer->text.emplace(), key_format_);
    size_t index = 0;
    (EncodeArg(args, index++, writer), ...);
    return *buffer->text;
  }

  // Binary keys of at most 16 bytes (two ints, an int64 and a bool, ...)
  // of functions whose every argument is keyed are built in registers and
  // written with one 16-byte store: the backend reads the key back at
  // once, as one or two 8-byte words, and on x86 a load that spans two
  // narrower stores still in flight cannot take their data and waits for
  // them to retire (about a fifth of a MemoryCache hit before this).
  static constexpr size_t kMaxBinaryKey =
      (size_t{0} + ... + (internal::FixedKeyWidth<Args>() + 1));
  static constexpr bool kPackedKey = kAllFixedWidth && sizeof...(Args) > 0 &&
                                     kMaxBinaryKey <= 16 &&
                                     ((internal::FixedKeyWidth<Args>() <= 8) &&
                                      ...) &&
                                     std::endian::native == std::endian::little;

  // The bytes WriteFixed writes (with every argument keyed), with offsets
  // known at compile time.
  template <bool kStrict>
  static std::string_view PackKey(KeyBuffer* buffer, const Args&... args) {
    static_assert(sizeof(buffer->fixed) >= 16);
    unsigned __int128 packed = 0;
    size_t size = 0;
    (PackFixed<kStrict>(args, &packed, &size), ...);
    using Words = uint64_t __attribute__((vector_size(16)));
    const Words words = {static_cast<uint64_t>(packed),
                         static_cast<uint64_t>(packed >> 64)};
    std::memcpy(buffer->fixed, &words, sizeof(words));
    return std::string_view(buffer->fixed, size);
  }
  template <bool kStrict, typename A>
  static void PackFixed(const A& arg, unsigned __int128* packed, size_t* size) {
    using U = std::remove_cv_t<A>;
    constexpr size_t kWidth = internal::FixedKeyWidth<A>();
    if constexpr (kStrict) {  // the segment's length, a one-byte varint
      *packed |= static_cast<unsigned __int128>(kWidth) << (8 * *size);
      ++*size;
    }
    // The bytes WriteFixed copies, as an unsigned number (little-endian).
    using Bits = std::conditional_t<
        kWidth == 1, uint8_t,
        std::conditional_t<
            kWidth == 2, uint16_t,
            std::conditional_t<kWidth == 4, uint32_t, uint64_t>>>;
    static_assert(sizeof(Bits) == kWidth);
    Bits bits;
    if constexpr (std::is_same_v<U, bool>) {
      bits = arg ? 1 : 0;
    } else if constexpr (std::is_enum_v<U>) {
      const auto v = static_cast<std::underlying_type_t<U>>(arg);
      std::memcpy(&bits, &v, kWidth);
    } else {
      std::memcpy(&bits, &arg, kWidth);
    }
    *packed |= static_cast<unsigned __int128>(bits) << (8 * *size);
    *size += kWidth;
  }

  // Writes the binary encoding of a fixed-width argument, exactly as
  // KeyWriter does (partial-clear patterns are encoded by KeyWriter).
  template <typename A>
  void WriteFixed(const A& arg, size_t index, char* out, size_t* size) const {
    if (index < first_keyed_) return;
    using U = std::remove_cv_t<A>;
    constexpr size_t kWidth = internal::FixedKeyWidth<A>();
    if (strict_) out[(*size)++] = static_cast<char>(kWidth);  // varint < 128
    if constexpr (std::is_same_v<U, bool>) {
      out[(*size)++] = arg ? '\1' : '\0';
    } else if constexpr (std::is_floating_point_v<U>) {
      std::memcpy(out + *size, &arg, kWidth);  // the bits, as KeyWriter
      *size += kWidth;
    } else if constexpr (std::is_enum_v<U>) {
      const auto v = static_cast<std::underlying_type_t<U>>(arg);
      std::memcpy(out + *size, &v, kWidth);
      *size += kWidth;
    } else {
      std::memcpy(out + *size, &arg, kWidth);
      *size += kWidth;
    }
  }

  // Writes the text encoding of a fixed-width argument, exactly as KeyWriter
  // and AppendStrictSegment do: tokens separated by `,` (fast) or `|`
  // (strict).
  template <typename A>
  void WriteFixedText(const A& arg, size_t index, char* out,
                      size_t* size) const {
    if (index < first_keyed_) return;
    using U = std::remove_cv_t<A>;
    if (*size != 0) out[(*size)++] = strict_ ? '|' : ',';
    char* const end = out + *size + kMaxScalarText - 1;
    char* p = out + *size;
    if constexpr (std::is_same_v<U, bool>) {
      const std::string_view word = arg ? "true" : "false";
      std::memcpy(p, word.data(), word.size());
      p += word.size();
    } else if constexpr (std::is_floating_point_v<U>) {
      p = internal::FloatKeyText(arg, p, end);
    } else if constexpr (std::is_enum_v<U>) {
      p = std::to_chars(p, end, static_cast<std::underlying_type_t<U>>(arg))
              .ptr;
    } else {
      p = std::to_chars(p, end, arg).ptr;
    }
    *size = static_cast<size_t>(p - out);
  }

  template <typename A>
  void EncodeArg(const A& arg, size_t index, KeyWriter& writer) const {
    if (index < first_keyed_) return;
    if constexpr (IsKeyEncodable<A>::value) {
      if (!strict_) {
        writer.Add(arg);
      } else {
        std::string segment;
        KeyWriter(&segment, key_format_).Add(arg);
        AppendStrictSegment(segment, writer.buffer(), key_format_);
      }
    } else {
      // Only the first parameter may lack an encoding, and only for a
      // method: MakeFunctionCache refused anything else when wrapping.
    }
  }

  template <typename P>
  void AddPattern(const P& p, internal::TypedPattern* pattern,
                  std::vector<bool>* set, size_t* next_position) const {
    size_t slot;
    if constexpr (internal::IsArgPattern<P>::value) {
      slot = SlotOfName(p.name);
    } else {
      slot = (*next_position)++;
      if (slot >= set->size()) {
        throw std::invalid_argument(
            "cache_clear on '" + name() + "': more patterns than the " +
            std::to_string(set->size()) + " keyed parameters");
      }
    }
    if ((*set)[slot]) {
      throw std::invalid_argument("cache_clear on '" + name() +
                                  "': parameter '" + ParamName(slot) +
                                  "' is given twice");
    }
    (*set)[slot] = true;
    if constexpr (internal::IsArgPattern<P>::value) {
      SetSlot(slot, p.value, pattern);
    } else {
      SetSlot(slot, p, pattern);
    }
  }

  template <typename V>
  void SetSlot(size_t slot, const V& value,
               internal::TypedPattern* pattern) const {
    if constexpr (std::is_same_v<V, AnyPattern>) {
      pattern->binary.segments[slot].reset();
      pattern->text.segments[slot].reset();
    } else {
      std::string binary, text;
      EncodeAs(slot + first_keyed_, value, &binary, &text,
               std::index_sequence_for<Args...>{});
      pattern->binary.segments[slot] = std::move(binary);
      pattern->text.segments[slot] = std::move(text);
    }
  }

  // Encodes `value` converted to the type of parameter `param`, in both key
  // formats.
  template <typename V, size_t... I>
  void EncodeAs(size_t param, const V& value, std::string* binary,
                std::string* text, std::index_sequence<I...>) const {
    ((param == I ? EncodeAsParam<I>(value, binary, text) : void()), ...);
  }

  template <size_t I, typename V>
  void EncodeAsParam(const V& value, std::string* binary,
                     std::string* text) const {
    using P = std::remove_cv_t<
        std::remove_reference_t<std::tuple_element_t<I, std::tuple<Args...>>>>;
    if constexpr (IsKeyEncodable<P>::value &&
                  std::is_constructible_v<P, const V&>) {
      const P converted(value);
      KeyWriter(binary, KeyFormat::kBinary).Add(converted);
      KeyWriter(text, KeyFormat::kText).Add(converted);
    } else {
      throw std::invalid_argument(
          "cache_clear on '" + name() + "': a value of type " +
          internal::TypeName(typeid(V)) + " cannot be matched against " +
          "parameter '" + ParamName(I - first_keyed_) + "' of type " +
          internal::TypeName(typeid(P)));
    }
  }

  size_t SlotOfName(const std::string& wanted) const {
    const auto& params = state_->options().keyed_params;
    if (!state_->options().explicit_param_names) {
      throw std::invalid_argument(
          "cache_clear on '" + name() + "': ca::arg(\"" + wanted +
          "\", ...) needs parameter names (CacheOptions::params)");
    }
    for (size_t i = 0; i < params.size(); ++i) {
      if (params[i].name == wanted) return i;
    }
    std::string known;
    for (const auto& p : params) known += (known.empty() ? "" : ", ") + p.name;
    throw std::invalid_argument("cache_clear on '" + name() +
                                "': no parameter named '" + wanted +
                                "' (parameters: " + known + ")");
  }

  std::string ParamName(size_t slot) const {
    return state_->options().keyed_params[slot].name;
  }

  std::function<R(Args...)> fn_;
  std::shared_ptr<internal::FunctionCache> state_;
  size_t first_keyed_;
  bool strict_;
  ValueFormat format_;
  KeyFormat key_format_;
  // Entries are enveloped (refresh-ahead, cached exceptions).
  bool enveloped_;
  // CacheOptions::unless, or null (points into state_'s options).
  const ResultFilter* unless_;
};

namespace internal {

template <typename R, typename... Args>
SignatureInfo MakeSignatureInfo() {
  SignatureInfo info;
  info.signature = typeid(std::remove_cv_t<R>(std::decay_t<Args>...)).name();
  info.param_types = {std::type_index(
      typeid(std::remove_cv_t<std::remove_reference_t<Args>>))...};
  if constexpr (sizeof...(Args) > 0) {
    using First = std::tuple_element_t<0, std::tuple<Args...>>;
    info.first_param_encodable = IsKeyEncodable<First>::value;
  }
  using V = typename AsyncResult<R>::Value;
  info.result_type = TypeName(typeid(R));
  info.supports_json = ValueCodec<V>::kJson;
  info.supports_binary = ValueCodec<V>::kBinary;
  info.value_type = &typeid(V);
  (
      [&info] {
        using A = std::decay_t<Args>;
        if (info.args_copyable && !std::is_copy_constructible_v<A>) {
          info.args_copyable = false;
          info.not_copyable_arg = TypeName(typeid(A));
        }
      }(),
      ...);
  return info;
}

template <typename Sig>
struct CachedFunctionFor;
template <typename R, typename... Args>
struct CachedFunctionFor<R(Args...)> {
  using type = CachedFunction<R(Args...)>;
  // `kFirstIsKeyed`: the first parameter is known, at compile time, to be
  // part of the key (no options could set is_method).
  template <bool kFirstIsKeyed, typename F>
  static type Make(const CacheOptions& options, Family family,
                   bool force_method, const std::source_location& loc, F&& fn) {
    // (The result type is checked by CachedFunction itself.)
    if constexpr (kFirstIsKeyed && sizeof...(Args) > 0) {
      using First = std::tuple_element_t<0, std::tuple<Args...>>;
      static_assert(
          IsKeyEncodable<First>::value,
          "cache_alchemy: the first parameter's type has no cache-key "
          "encoding. Add, in the namespace of the type, `void "
          "EncodeCacheKey(cache_alchemy::KeyWriter& w, const YourType& v) { "
          "w.Add(v.field1, v.field2); }` (core/key_encoder.h); or, if it is "
          "the object of a method, leave it out of the key with "
          "method_memory_cache (method_json_cache, ...) or `.is_method = "
          "true`.");
      if constexpr (IsKeyEncodable<First>::value) CheckKeyable<0, Args...>();
    } else {
      // Parameters other than the first are always keyed: check them here,
      // at compile time, so the static_assert names the type. (The first
      // may be a method's object, left out by is_method: MakeFunctionCache
      // checks it when the options are known.)
      CheckKeyable<1, Args...>();
    }
    auto state = MakeFunctionCache(options, family, force_method, loc,
                                   MakeSignatureInfo<R, Args...>());
    return type(std::function<R(Args...)>(std::forward<F>(fn)),
                std::move(state));
  }

  template <size_t From, typename... A>
  static void CheckKeyable() {
    CheckFrom<From, 0, A...>();
  }
  template <size_t From, size_t I>
  static void CheckFrom() {}
  template <size_t From, size_t I, typename A, typename... Rest>
  static void CheckFrom() {
    if constexpr (I >= From) {
      static_assert(
          I == 0 || IsKeyEncodable<A>::value,
          "cache_alchemy: a parameter after the first has a type with no "
          "cache-key encoding (every parameter but a method's object is part "
          "of the key). Add, in the namespace of the type, `void "
          "EncodeCacheKey(cache_alchemy::KeyWriter& w, const YourType& v) { "
          "w.Add(v.field1, v.field2); }` (core/key_encoder.h).");
      if constexpr (IsKeyEncodable<A>::value) {
        // Instantiates the encoding of A (and the static_asserts of what it
        // holds, such as a vector's elements) at once.
        [[maybe_unused]] auto encode = [](KeyWriter& w, const A& a) {
          w.Add(a);
        };
      }
    }
    CheckFrom<From, I + 1, Rest...>();
  }
};

template <bool kFirstIsKeyed = false, typename F>
auto Wrap(const CacheOptions& options, Family family, bool force_method,
          const std::source_location& loc, F&& fn) {
  if constexpr (!HasFixedSignature<F>) {
    static_assert(HasFixedSignature<F>,
                  "cache_alchemy: cannot name this callable's signature: a "
                  "generic lambda (`auto` parameters) or a functor with "
                  "several operator() has none. Write the parameter types "
                  "(`[](int id) { ... }`) or wrap it in "
                  "std::function<R(Args...)>.");
  } else {
    return CachedFunctionFor<SignatureOf<F>>::template Make<kFirstIsKeyed>(
        options, family, force_method, loc, std::forward<F>(fn));
  }
}

}  // namespace internal

// Wraps `fn` (a function pointer, a non-generic lambda or functor, or a
// std::function) with `options`. An empty `options.backend` means the
// config's CACHE_ALCHEMY_MEMORY_BACKEND. The function's identity is its name
// (given, or unique to this wrapper), prefix and signature (README, "Naming
// a function").
// Throws std::invalid_argument (bad option, no codec for the result type in
// the backend's format, no explicit name for a backend that shares entries
// across processes), BackendNotFoundError (unknown or unloadable
// backend), std::runtime_error (Redis backend without a configured client),
// ca::config::ConfigError (no config alive and an environment variable named
// as a config key does not cast to its type).
// Thread safety: may be called from any number of threads at once.
template <typename F>
auto cache(const CacheOptions& options, F&& fn,
           std::source_location loc = std::source_location::current()) {
  return internal::Wrap(options, internal::Family::kMemory, false, loc,
                        std::forward<F>(fn));
}

#define CACHE_ALCHEMY_DEFINE_FAMILY(NAME, FAMILY, METHOD)                    \
  template <typename F>                                                      \
  auto NAME(const CacheOptions& options, F&& fn,                             \
            std::source_location loc = std::source_location::current()) {    \
    return internal::Wrap(options, internal::Family::FAMILY, METHOD, loc,    \
                          std::forward<F>(fn));                              \
  }                                                                          \
  template <typename F>                                                      \
  auto NAME(F&& fn,                                                          \
            std::source_location loc = std::source_location::current()) {    \
    return internal::Wrap<!METHOD>(CacheOptions{}, internal::Family::FAMILY, \
                                   METHOD, loc, std::forward<F>(fn));        \
  }

// memory_cache / json_cache / pickle_cache: `cache` with the backend taken
// from CACHE_ALCHEMY_MEMORY_BACKEND / _JSON_BACKEND / _PICKLE_BACKEND when
// `options.backend` is empty. The method_ and property_ variants also set
// is_method (the first argument, the object, is not part of the key).
// Each takes `(fn)` or `(options, fn)`; contract as `cache`.
CACHE_ALCHEMY_DEFINE_FAMILY(memory_cache, kMemory, false)
CACHE_ALCHEMY_DEFINE_FAMILY(method_memory_cache, kMemory, true)
CACHE_ALCHEMY_DEFINE_FAMILY(property_memory_cache, kMemory, true)
CACHE_ALCHEMY_DEFINE_FAMILY(json_cache, kJson, false)
CACHE_ALCHEMY_DEFINE_FAMILY(method_json_cache, kJson, true)
CACHE_ALCHEMY_DEFINE_FAMILY(property_json_cache, kJson, true)
CACHE_ALCHEMY_DEFINE_FAMILY(pickle_cache, kPickle, false)
CACHE_ALCHEMY_DEFINE_FAMILY(method_pickle_cache, kPickle, true)
CACHE_ALCHEMY_DEFINE_FAMILY(property_pickle_cache, kPickle, true)

#undef CACHE_ALCHEMY_DEFINE_FAMILY

}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_CACHED_FUNCTION_H_
