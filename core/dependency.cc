// The dependency graph: nodes, the process-wide id table and the cascade.

#include "core/dependency.h"

#include <deque>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "core/internal/dependency_graph.h"
#include "core/internal/function_cache.h"

namespace cache_alchemy {

CacheDependency::CacheDependency(std::string id)
    : node_(internal::DependencyNode::ForId(id)) {}

int64_t CacheDependency::clear() const {
  return internal::CascadeClear(*node_);
}

const std::string& CacheDependency::id() const { return node_->id(); }

namespace internal {

std::shared_ptr<DependencyNode> DependencyNode::Intern(const std::string& key,
                                                       const std::string& id) {
  static absl::Mutex mu(absl::kConstInit);
  static auto* nodes =
      new absl::flat_hash_map<std::string, std::weak_ptr<DependencyNode>>();
  static size_t prune_at = 64;
  absl::MutexLock lock(&mu);
  auto& slot = (*nodes)[key];
  if (auto node = slot.lock()) return node;
  auto node = std::make_shared<DependencyNode>(id);
  slot = node;
  // Forget identities nobody holds any more, at amortized constant cost.
  if (nodes->size() >= prune_at) {
    absl::erase_if(*nodes, [](const auto& kv) { return kv.second.expired(); });
    prune_at = 2 * nodes->size() + 64;
  }
  return node;
}

std::shared_ptr<DependencyNode> DependencyNode::ForId(const std::string& id) {
  return Intern(absl::StrCat("id\x1f", id), id);
}

std::shared_ptr<DependencyNode> DependencyNode::ForFunction(
    const std::string& backend, const std::string& prefix,
    const std::string& name) {
  return Intern(absl::StrCat("fn\x1f", backend, "\x1f", prefix, "\x1f", name),
                name);
}

namespace {

// Appends the live entries of `weak` to `live` and drops the dead ones.
void CollectLive(std::vector<std::weak_ptr<FunctionCache>>& weak,
                 std::vector<std::shared_ptr<FunctionCache>>* live) {
  size_t kept = 0;
  for (size_t i = 0; i < weak.size(); ++i) {
    if (auto fn = weak[i].lock()) {
      live->push_back(std::move(fn));
      // No self-move: a self-move-assigned weak_ptr ends up empty.
      if (kept != i) weak[kept] = std::move(weak[i]);
      ++kept;
    }
  }
  weak.resize(kept);
}

}  // namespace

void DependencyNode::AddOwner(std::weak_ptr<FunctionCache> owner) {
  absl::MutexLock lock(&mu_);
  owners_.push_back(std::move(owner));
}

std::vector<std::shared_ptr<FunctionCache>> DependencyNode::Owners() {
  std::vector<std::shared_ptr<FunctionCache>> live;
  absl::MutexLock lock(&mu_);
  CollectLive(owners_, &live);
  return live;
}

void DependencyNode::AddDependent(std::weak_ptr<FunctionCache> dependent) {
  absl::MutexLock lock(&mu_);
  dependents_.push_back(std::move(dependent));
}

std::vector<std::shared_ptr<FunctionCache>> DependencyNode::Dependents() {
  std::vector<std::shared_ptr<FunctionCache>> live;
  absl::MutexLock lock(&mu_);
  CollectLive(dependents_, &live);
  return live;
}

namespace {

bool SamePattern(const KeyPattern& a, const KeyPattern& b) {
  return a.segments == b.segments;
}

// What one cascade will do to one function.
struct PlannedClear {
  std::shared_ptr<FunctionCache> fn;
  bool full = false;
  std::vector<KeyPattern> patterns;
};

// Plans and runs a cascade. Planning first, clearing after: a function
// reached once by a partial clear and once by a full one is cleared fully,
// once.
class Cascade {
 public:
  void Add(std::shared_ptr<FunctionCache> fn,
           std::optional<KeyPattern> pattern) {
    queue_.emplace_back(std::move(fn), std::move(pattern));
  }

  int64_t Run() {
    while (!queue_.empty()) {
      auto [fn, pattern] = std::move(queue_.front());
      queue_.pop_front();
      Visit(fn, pattern);
    }
    int64_t removed = 0;
    for (auto& planned : plan_) {
      if (planned.full) {
        removed += planned.fn->ClearLocal();
      } else {
        for (const auto& p : planned.patterns) {
          removed += planned.fn->ClearLocalMatching(p);
        }
      }
    }
    return removed;
  }

 private:
  void Visit(const std::shared_ptr<FunctionCache>& fn,
             const std::optional<KeyPattern>& pattern) {
    auto [it, inserted] = index_.try_emplace(fn.get(), plan_.size());
    if (inserted) plan_.push_back(PlannedClear{fn});
    PlannedClear& planned = plan_[it->second];
    if (planned.full) return;
    if (!pattern.has_value() || !fn->options().strict) {
      planned.full = true;
      planned.patterns.clear();
    } else {
      for (const auto& seen : planned.patterns) {
        if (SamePattern(seen, *pattern)) return;
      }
      planned.patterns.push_back(*pattern);
    }
    const bool full = planned.full;
    const std::optional<KeyPattern> applied =
        full ? std::nullopt : std::optional<KeyPattern>(*pattern);
    // Wrappers of the same identity share the entries: they take the same
    // clear (so their pending computations are not stored afterwards).
    for (auto& sibling : fn->node()->Owners()) {
      if (sibling != fn) Add(sibling, applied);
    }
    std::optional<NamedPattern> named;
    if (!full && fn->options().explicit_param_names) {
      named = fn->ToNamed(*pattern);
    }
    for (auto& dependent : fn->node()->Dependents()) {
      if (full || !named.has_value()) {
        Add(dependent, std::nullopt);
      } else {
        Add(dependent, dependent->FromNamed(*named));
      }
    }
  }

  std::deque<
      std::pair<std::shared_ptr<FunctionCache>, std::optional<KeyPattern>>>
      queue_;
  std::vector<PlannedClear> plan_;
  absl::flat_hash_map<const FunctionCache*, size_t> index_;
};

}  // namespace

int64_t CascadeClear(const std::shared_ptr<FunctionCache>& root,
                     const std::optional<KeyPattern>& pattern) {
  Cascade cascade;
  cascade.Add(root, pattern);
  return cascade.Run();
}

int64_t CascadeClear(DependencyNode& node) {
  Cascade cascade;
  for (auto& owner : node.Owners()) cascade.Add(owner, std::nullopt);
  for (auto& dependent : node.Dependents()) {
    cascade.Add(dependent, std::nullopt);
  }
  return cascade.Run();
}

}  // namespace internal
}  // namespace cache_alchemy
