// File: core/dependency.h
// -----------------------------------------------------------------------------
//
// Dependencies between caches. A function wrapped with
// `.dependency = {dep}` is a dependent of `dep`: whenever `dep` is cleared,
// the dependent is cleared too, transitively and across backends.
//
//   auto add = ca::memory_cache(opts, [](int a, int b) { return a + b; });
//   auto add_and_double = ca::memory_cache(
//       {.dependency = {ca::FunctionCacheDependency(add)}},
//       [&](int a, int b) { return add(a, b) * 2; });
//   add.cache_clear();  // clears add_and_double as well
//
//   ca::CacheDependency orders("db.orders");  // any identity you choose
//   auto total = ca::memory_cache({.dependency = {orders}}, LoadTotal);
//   orders.clear();  // after writing to the table
//
// Partial clears cascade precisely where they can: a strict dependent whose
// named parameters (`params`) include every parameter the clear fixed, with
// the same types, gets the same partial clear by name; any other dependent is
// cleared fully. Over-clearing is the safe side.

#ifndef CACHE_ALCHEMY_CORE_DEPENDENCY_H_
#define CACHE_ALCHEMY_CORE_DEPENDENCY_H_

#include <cstdint>
#include <memory>
#include <string>

namespace cache_alchemy {
namespace internal {
class DependencyNode;
}  // namespace internal

// A copyable handle on something caches can depend on. Copies (and handles
// made from the same id) name the same thing.
//
// Thread safety: handles may be copied, registered and cleared from any
// thread at once.
class CacheDependency {
 public:
  // A dependency on an identity of the caller's choosing (a table name, a
  // config file...). Handles with equal ids are the same dependency while any
  // of them is alive.
  explicit CacheDependency(std::string id);

  // Clears what this dependency names (for a FunctionCacheDependency, that
  // function) and every dependent, transitively. Returns the number of
  // entries removed in all. Fenced like `cache_clear`. Throws ClearError
  // naming every function that could not be cleared, after clearing the
  // rest.
  int64_t clear() const;

  // The identity: the id given, or the function's name.
  const std::string& id() const;

  // INTERNAL: the graph node.
  const std::shared_ptr<internal::DependencyNode>& node() const {
    return node_;
  }

 protected:
  explicit CacheDependency(std::shared_ptr<internal::DependencyNode> node)
      : node_(std::move(node)) {}

 private:
  std::shared_ptr<internal::DependencyNode> node_;
};

// A dependency on a cached function: clearing that function (fully or in
// part) clears its dependents. Holds no state of its own beyond the base, so
// it may be stored by value as a `CacheDependency`.
class FunctionCacheDependency : public CacheDependency {
 public:
  // `cached_fn` is a `CachedFunction` (anything with `dependency_node()`).
  template <typename CachedFn>
  explicit FunctionCacheDependency(const CachedFn& cached_fn)
      : CacheDependency(cached_fn.dependency_node()) {}
};

}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_DEPENDENCY_H_
