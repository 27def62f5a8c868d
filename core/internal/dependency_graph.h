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
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "core/backend.h"

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
  // The node of the cached-function identity (backend, prefix, name).
  static std::shared_ptr<DependencyNode> ForFunction(const std::string& backend,
                                                     const std::string& prefix,
                                                     const std::string& name);

  void AddOwner(std::weak_ptr<FunctionCache> owner);
  // The live owners; forgets the dead ones.
  std::vector<std::shared_ptr<FunctionCache>> Owners();

  void AddDependent(std::weak_ptr<FunctionCache> dependent);
  // The live dependents; forgets the dead ones.
  std::vector<std::shared_ptr<FunctionCache>> Dependents();

 private:
  static std::shared_ptr<DependencyNode> Intern(const std::string& key,
                                                const std::string& id);

  const std::string id_;
  absl::Mutex mu_;
  std::vector<std::weak_ptr<FunctionCache>> owners_ ABSL_GUARDED_BY(mu_);
  std::vector<std::weak_ptr<FunctionCache>> dependents_ ABSL_GUARDED_BY(mu_);
};

// Clears `root` (fully when `pattern` is nullopt, else by `pattern`) and
// every dependent, transitively. Each function is visited once per distinct
// pattern (so cycles end) and cleared once per distinct clear. Returns the
// number of entries removed in all.
int64_t CascadeClear(const std::shared_ptr<FunctionCache>& root,
                     const std::optional<KeyPattern>& pattern);

// Clears `node`'s owners and every dependent, fully.
int64_t CascadeClear(DependencyNode& node);

}  // namespace internal
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_INTERNAL_DEPENDENCY_GRAPH_H_
