// The dependency graph: nodes, the process-wide id table and the cascade.

#include "core/dependency.h"

#include <deque>
#include <utility>

#include "absl/container/flat_hash_map.h"
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

std::shared_ptr<DependencyNode> DependencyNode::ForId(const std::string& id) {
  static absl::Mutex mu(absl::kConstInit);
  static auto* nodes =
      new absl::flat_hash_map<std::string, std::weak_ptr<DependencyNode>>();
  absl::MutexLock lock(&mu);
  auto& slot = (*nodes)[id];
  if (auto node = slot.lock()) return node;
  // Forget the ids nobody holds any more, so the table stays small.
  for (auto it = nodes->begin(); it != nodes->end();) {
    auto here = it++;
    if (here->second.expired() && here->first != id) nodes->erase(here);
  }
  auto node = std::make_shared<DependencyNode>(id);
  slot = node;
  return node;
}

void DependencyNode::SetOwner(std::weak_ptr<FunctionCache> owner) {
  absl::MutexLock lock(&mu_);
  owner_ = std::move(owner);
}

std::shared_ptr<FunctionCache> DependencyNode::owner() const {
  absl::MutexLock lock(&mu_);
  return owner_.lock();
}

void DependencyNode::AddDependent(std::weak_ptr<FunctionCache> dependent) {
  absl::MutexLock lock(&mu_);
  dependents_.push_back(std::move(dependent));
}

std::vector<std::shared_ptr<FunctionCache>> DependencyNode::Dependents() {
  std::vector<std::shared_ptr<FunctionCache>> live;
  absl::MutexLock lock(&mu_);
  size_t kept = 0;
  for (auto& weak : dependents_) {
    if (auto fn = weak.lock()) {
      live.push_back(std::move(fn));
      dependents_[kept++] = std::move(weak);
    }
  }
  dependents_.resize(kept);
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

  std::deque<std::pair<std::shared_ptr<FunctionCache>,
                       std::optional<KeyPattern>>>
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
  if (auto owner = node.owner()) return CascadeClear(owner, std::nullopt);
  Cascade cascade;
  for (auto& dependent : node.Dependents()) {
    cascade.Add(dependent, std::nullopt);
  }
  return cascade.Run();
}

}  // namespace internal
}  // namespace cache_alchemy
