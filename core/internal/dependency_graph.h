// File: core/internal/dependency_graph.h
// -----------------------------------------------------------------------------
//
// INTERNAL: the nodes of the dependency graph and the cascade that walks it.

#ifndef CACHE_ALCHEMY_CORE_INTERNAL_DEPENDENCY_GRAPH_H_
#define CACHE_ALCHEMY_CORE_INTERNAL_DEPENDENCY_GRAPH_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "core/backend.h"
#include "core/internal/function_cache.h"

namespace cache_alchemy {
namespace internal {

class FunctionCache;

// Something caches depend on: a cached function identity (backend, prefix,
// name), whose wrappers are its `owners` (they share entries, so they share
// the node), or a user-chosen identity. Owners and dependents are held
// weakly: a destroyed function leaves the graph by itself.
//
// Thread safety: all methods may be called from any thread.
class DependencyNode {
 public:
  explicit DependencyNode(std::string id) : id_(std::move(id)) {}

  const std::string& id() const { return id_; }

  // The node of the user-chosen identity `id` (created on first use, shared
  // while any handle holds it).
  static std::shared_ptr<DependencyNode> ForId(const std::string& id);
  // The node of the cached-function identity (backend, prefix, id), whose
  // id() reads `name`.
  static std::shared_ptr<DependencyNode> ForFunction(const std::string& backend,
                                                     const std::string& prefix,
                                                     const std::string& id,
                                                     const std::string& name);

  // Adding forgets dead entries now and then (amortized constant time), so
  // wrapping and destroying functions under a long-lived node keeps the
  // node's memory bounded without any clear.
  void AddOwner(std::weak_ptr<FunctionCache> owner);
  // The live owners; forgets the dead ones.
  std::vector<std::shared_ptr<FunctionCache>> Owners();

  void AddDependent(std::weak_ptr<FunctionCache> dependent);
  // The live dependents; forgets the dead ones.
  std::vector<std::shared_ptr<FunctionCache>> Dependents();

 private:
  // A list of weakly held functions that forgets dead ones as it grows.
  struct WeakList {
    std::vector<std::weak_ptr<FunctionCache>> items;
    size_t prune_at = 16;
    void Add(std::weak_ptr<FunctionCache> fn);
    std::vector<std::shared_ptr<FunctionCache>> Live();
  };
  static std::shared_ptr<DependencyNode> Intern(const std::string& key,
                                                const std::string& id);

  const std::string id_;
  absl::Mutex mu_;
  WeakList owners_ ABSL_GUARDED_BY(mu_);
  WeakList dependents_ ABSL_GUARDED_BY(mu_);
};

// Plans and runs one cascade: every function added (fully, by a pattern, or
// one key), the other wrappers of its identity, and every dependent,
// transitively. Each function is visited once per distinct pattern or key
// (so cycles end) and cleared once per distinct clear; a function reached by
// a partial clear (or a key) and a full one is cleared fully, once.
class Cascade {
 public:
  // Clears `fn` (fully when `pattern` is nullopt) and its dependents.
  void Add(std::shared_ptr<FunctionCache> fn,
           std::optional<TypedPattern> pattern);
  // `fn` was already cleared fully by other means (flush_cache): its
  // dependents are cleared, it is not cleared again.
  void AddCleared(std::shared_ptr<FunctionCache> fn);
  // Invalidates the entry `key` (in `fn`'s key format) of `fn` and of the
  // other wrappers of its identity; `pattern` is the same call with every
  // keyed parameter given, which reaches dependents as a partial clear by
  // name (or a full clear where that cannot be applied precisely), exactly
  // as `cache_clear(args...)` would.
  void AddKey(std::shared_ptr<FunctionCache> fn, std::string key,
              TypedPattern pattern);

  // Runs every planned clear, even after one failed. Returns the number of
  // entries removed in all; throws ClearError naming every function that
  // could not be cleared (its `removed()` counts the rest).
  int64_t Run();

 private:
  struct Planned {
    std::shared_ptr<FunctionCache> fn;
    bool full = false;
    bool already_cleared = false;
    std::vector<TypedPattern> patterns;
    std::vector<std::string> keys;  // single entries (AddKey)
  };
  // One request: a full clear (no pattern, no key), a partial clear
  // (pattern), one key (key, with the pattern that names it), or a function
  // already cleared (cleared).
  struct Step {
    std::shared_ptr<FunctionCache> fn;
    std::optional<TypedPattern> pattern;
    bool cleared = false;
    std::optional<std::string> key;
  };
  void Visit(const Step& step);
  // Queues the dependents of `fn` for a clear by `pattern` (nullopt: full).
  void AddDependents(const std::shared_ptr<FunctionCache>& fn,
                     const std::optional<TypedPattern>& pattern);

  std::vector<Step> queue_;
  std::vector<Planned> plan_;
  absl::flat_hash_map<const FunctionCache*, size_t> index_;
};

// Clears `root` (fully when `pattern` is nullopt, else by `pattern`) and
// every dependent, transitively (a Cascade). Throws ClearError.
int64_t CascadeClear(const std::shared_ptr<FunctionCache>& root,
                     const std::optional<TypedPattern>& pattern);

// Clears `node`'s owners and every dependent, fully. Throws ClearError.
int64_t CascadeClear(DependencyNode& node);

// Invalidates `key` of `root` (and of the other wrappers of its identity) and
// clears every dependent as a clear by `pattern` would (Cascade::AddKey).
// Throws ClearError.
int64_t CascadeInvalidate(const std::shared_ptr<FunctionCache>& root,
                          const std::string& key, const TypedPattern& pattern);

}  // namespace internal
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_INTERNAL_DEPENDENCY_GRAPH_H_
