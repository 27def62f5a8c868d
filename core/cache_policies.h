// File: core/cache_policies.h
// -----------------------------------------------------------------------------
//
// What a cached function stores besides plain results, as `CacheOptions`
// fields (core/options.h):
//   - `ca::CacheExceptions<E...>(ttl)`: negative caching. An exception of one
//     of the types `E...` thrown by the function is stored for `ttl` and
//     rethrown to later callers of the same arguments, instead of calling
//     the function again each time;
//   - `ResultFilter` (`.unless = predicate`): results for which the predicate
//     returns true are returned but not stored.
//
//   struct NotFound : std::runtime_error { using runtime_error::runtime_error;
//   }; auto user = ca::memory_cache(
//       {.cache_exceptions =
//       ca::CacheExceptions<NotFound>(std::chrono::seconds(5)),
//        .unless = [](const std::vector<std::string>& rows) { return
//        rows.empty(); }},
//       LoadUserRows);
//
// Both are checked against the function when it is wrapped
// (std::invalid_argument naming what does not fit).

#ifndef CACHE_ALCHEMY_CORE_CACHE_POLICIES_H_
#define CACHE_ALCHEMY_CORE_CACHE_POLICIES_H_

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "core/internal/signature.h"

namespace cache_alchemy {

// Which exceptions a function caches, and for how long. Default-constructed:
// none (an exception reaches the caller and nothing is stored). Make one with
// `CacheExceptions<E...>(ttl)`. Copyable; immutable once made.
//
// How a cached exception comes back:
//   - in-process backends (MemoryCache, DistributedMemoryCache, ValueFormat
//     kObject) keep the exception object itself (its std::exception_ptr) and
//     rethrow that same object to every caller until it expires;
//   - serializing backends (json, pickle, Memcached) store which of `E...` it
//     was and its what(), and throw `E(what)` on a hit. Wrapping for such a
//     backend needs each `E` derived from std::exception and constructible
//     from std::string (else std::invalid_argument at wrap time).
// An exception is never served after `ttl` (nor after the function's
// expire, if shorter), by any backend: the core checks the write time too.
class ExceptionCaching {
 public:
  ExceptionCaching() = default;

  // Whether any exception type is cached.
  bool enabled() const { return !types_.empty(); }
  // How long a cached exception lives.
  std::chrono::milliseconds ttl() const { return ttl_; }

  // INTERNAL (used by the core).
  struct Type {
    const std::type_info* type;  // E
    bool serializable;           // derived from std::exception and
                                 // constructible from std::string
  };
  const std::vector<Type>& types() const { return types_; }
  // The index in `types()` of the first type `error` is (or derives from),
  // or -1.
  int Match(const std::exception_ptr& error) const {
    return match_ != nullptr ? match_(error) : -1;
  }
  // Throws `types()[index]` made from `what`. REQUIRES: that type is
  // serializable.
  [[noreturn]] void Rethrow(int index, const std::string& what) const {
    rethrow_(index, what);
    std::terminate();  // not reached
  }

 private:
  template <typename... E>
  friend ExceptionCaching CacheExceptions(std::chrono::milliseconds ttl);

  std::chrono::milliseconds ttl_{0};
  std::vector<Type> types_;
  int (*match_)(const std::exception_ptr&) = nullptr;
  void (*rethrow_)(int, const std::string&) = nullptr;
};

namespace internal {

template <int I>
int MatchException(const std::exception_ptr&) {
  return -1;
}
template <int I, typename First, typename... Rest>
int MatchException(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const First&) {
    return I;
  } catch (...) {
  }
  return MatchException<I + 1, Rest...>(error);
}

template <typename E>
constexpr bool kSerializableException = std::is_base_of_v<std::exception, E>&&
    std::is_constructible_v<E, const std::string&>;

template <typename E>
void ThrowFromWhat(const std::string& what) {
  if constexpr (kSerializableException<E>) {
    throw E(what);
  } else {
    // Refused at wrap time for the backends that need it.
    throw std::logic_error("cache_alchemy: cannot rebuild a cached " +
                           std::string(typeid(E).name()) + ": " + what);
  }
}

template <typename... E, size_t... I>
void RethrowIndexed(int index, const std::string& what,
                    std::index_sequence<I...>) {
  ((index == static_cast<int>(I) ? ThrowFromWhat<E>(what) : void()), ...);
  throw std::logic_error("cache_alchemy: no cached exception type #" +
                         std::to_string(index));
}

}  // namespace internal

// Caches the exceptions of types `E...` (matched as `catch (const E&)`, in
// order, so a derived type matches too) for `ttl`, which must be positive
// (else std::invalid_argument at wrap time).
//
//   .cache_exceptions = ca::CacheExceptions<NotFound>(std::chrono::seconds(5))
template <typename... E>
ExceptionCaching CacheExceptions(std::chrono::milliseconds ttl) {
  static_assert(sizeof...(E) > 0,
                "cache_alchemy: CacheExceptions<E...> needs at least one "
                "exception type, e.g. CacheExceptions<NotFound>(ttl)");
  static_assert(((std::is_class_v<E> && !std::is_reference_v<E> &&
                  !std::is_const_v<E>)&&...),
                "cache_alchemy: CacheExceptions<E...> takes plain exception "
                "class types (no references, const or pointers)");
  ExceptionCaching caching;
  caching.ttl_ = ttl;
  caching.types_ = {ExceptionCaching::Type{
      &typeid(E), internal::kSerializableException<E>}...};
  caching.match_ = &internal::MatchException<0, E...>;
  caching.rethrow_ = [](int index, const std::string& what) {
    internal::RethrowIndexed<E...>(index, what,
                                   std::index_sequence_for<E...>{});
  };
  return caching;
}

// A predicate on a function's result that vetoes storing it (Spring's
// `unless`): a result for which it returns true reaches the caller but is not
// stored, so the next call computes again. Set it from any callable taking
// the result type by value or const reference:
//
//   .unless = [](const std::optional<User>& user) { return !user.has_value(); }
//
// Its parameter type must be the function's result type (for a function
// returning std::future<T> or std::shared_future<T>: T), else wrapping throws
// std::invalid_argument naming both types. The predicate may be called from
// any thread, several at once, and must not throw.
class ResultFilter {
 public:
  ResultFilter() = default;

  template <typename F>
  requires(!std::is_same_v<std::decay_t<F>, ResultFilter>)
      ResultFilter(F predicate) {  // NOLINT: implicit, for `.unless = lambda`
    if constexpr (!internal::HasFixedSignature<F>) {
      static_assert(internal::HasFixedSignature<F>,
                    "cache_alchemy: `unless` needs a callable with one fixed "
                    "signature: write the parameter type, e.g. "
                    "[](const Result& r) { return r.empty(); }");
    } else {
      Set<internal::SignatureOf<F>>(std::move(predicate));
    }
  }

  // Whether a predicate is set.
  explicit operator bool() const { return static_cast<bool>(test_); }

  // INTERNAL (used by the core): the decayed parameter type, and the test
  // on a value of that type.
  const std::type_info& type() const { return *type_; }
  bool operator()(const void* value) const { return test_(value); }

 private:
  template <typename Sig>
  struct Parts;
  template <typename B, typename P>
  struct Parts<B(P)> {
    using Param = P;
    using Result = B;
  };

  template <typename Sig, typename F>
  void Set(F predicate) {
    if constexpr (requires { typename Parts<Sig>::Param; }) {
      using P = typename Parts<Sig>::Param;
      using V = std::remove_cvref_t<P>;
      static_assert(std::is_convertible_v<typename Parts<Sig>::Result, bool>,
                    "cache_alchemy: `unless` must return bool (true: do not "
                    "store this result)");
      static_assert(!std::is_lvalue_reference_v<P> ||
                        std::is_const_v<std::remove_reference_t<P>>,
                    "cache_alchemy: `unless` must take the result by value or "
                    "const reference");
      type_ = &typeid(V);
      test_ = [predicate = std::move(predicate)](const void* value) {
        return static_cast<bool>(predicate(*static_cast<const V*>(value)));
      };
    } else {
      static_assert(!std::is_same_v<Sig, Sig>,
                    "cache_alchemy: `unless` must take exactly one parameter, "
                    "the result");
    }
  }

  const std::type_info* type_ = &typeid(void);
  std::function<bool(const void*)> test_;
};

}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_CACHE_POLICIES_H_
