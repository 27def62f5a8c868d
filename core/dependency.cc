// The dependency graph: nodes, the process-wide id table and the cascade.

#include "core/dependency.h"

#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "core/errors.h"
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
    const std::string& id, const std::string& name) {
  return Intern(absl::StrCat("fn\x1f", backend, "\x1f", prefix, "\x1f", id),
                name);
}

void DependencyNode::WeakList::Add(std::weak_ptr<FunctionCache> fn) {
  items.push_back(std::move(fn));
  if (items.size() < prune_at) return;
  std::erase_if(items, [](const auto& w) { return w.expired(); });
  prune_at = 2 * items.size() + 16;
}

std::vector<std::shared_ptr<FunctionCache>> DependencyNode::WeakList::Live() {
  std::vector<std::shared_ptr<FunctionCache>> live;
  size_t kept = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    if (auto fn = items[i].lock()) {
      live.push_back(std::move(fn));
      // No self-move: a self-move-assigned weak_ptr ends up empty.
      if (kept != i) items[kept] = std::move(items[i]);
      ++kept;
    }
  }
  items.resize(kept);
  return live;
}

void DependencyNode::AddOwner(std::weak_ptr<FunctionCache> owner) {
  absl::MutexLock lock(&mu_);
  owners_.Add(std::move(owner));
}

std::vector<std::shared_ptr<FunctionCache>> DependencyNode::Owners() {
  absl::MutexLock lock(&mu_);
  return owners_.Live();
}

void DependencyNode::AddDependent(std::weak_ptr<FunctionCache> dependent) {
  absl::MutexLock lock(&mu_);
  dependents_.Add(std::move(dependent));
}

std::vector<std::shared_ptr<FunctionCache>> DependencyNode::Dependents() {
  absl::MutexLock lock(&mu_);
  return dependents_.Live();
}

namespace {

bool SamePattern(const TypedPattern& a, const TypedPattern& b) {
  return a.binary.segments == b.binary.segments;
}

}  // namespace

void Cascade::Add(std::shared_ptr<FunctionCache> fn,
                  std::optional<TypedPattern> pattern) {
  queue_.push_back(Step{std::move(fn), std::move(pattern), false, {}});
}

void Cascade::AddCleared(std::shared_ptr<FunctionCache> fn) {
  queue_.push_back(Step{std::move(fn), std::nullopt, true, {}});
}

void Cascade::AddKey(std::shared_ptr<FunctionCache> fn, std::string key,
                     TypedPattern pattern) {
  queue_.push_back(
      Step{std::move(fn), std::move(pattern), false, std::move(key)});
}

int64_t Cascade::Run() {
  for (size_t i = 0; i < queue_.size(); ++i) {
    // Visit may append to queue_: copy the entry out first.
    const Step step = queue_[i];
    Visit(step);
  }
  int64_t removed = 0;
  std::vector<ClearError::Failure> failures;
  for (auto& planned : plan_) {
    if (planned.already_cleared) continue;
    try {
      if (planned.full) {
        removed += planned.fn->ClearLocal();
      } else {
        for (const auto& p : planned.patterns) {
          removed += planned.fn->ClearLocalMatching(p);
        }
        for (const auto& key : planned.keys) {
          removed += planned.fn->InvalidateLocal(key);
        }
      }
    } catch (const std::exception& e) {
      const ResolvedOptions& o = planned.fn->options();
      failures.push_back({o.name, o.backend, e.what()});
    }
  }
  if (!failures.empty()) throw ClearError(std::move(failures), removed);
  return removed;
}

void Cascade::Visit(const Step& step) {
  const std::shared_ptr<FunctionCache>& fn = step.fn;
  auto [it, inserted] = index_.try_emplace(fn.get(), plan_.size());
  if (inserted) plan_.push_back(Planned{fn});
  Planned& planned = plan_[it->second];
  if (step.cleared) {
    if (planned.already_cleared) return;
    planned.already_cleared = planned.full = true;
    planned.patterns.clear();
    planned.keys.clear();
  } else if (step.key.has_value()) {
    // One entry: siblings share it (same identity, same key format).
    if (planned.full) return;
    for (const auto& seen : planned.keys) {
      if (seen == *step.key) return;
    }
    planned.keys.push_back(*step.key);
    for (auto& sibling : fn->node()->Owners()) {
      if (sibling != fn) AddKey(sibling, *step.key, *step.pattern);
    }
    AddDependents(fn, step.pattern);
    return;
  } else {
    if (planned.full) return;
    if (!step.pattern.has_value() || !fn->options().strict) {
      planned.full = true;
      planned.patterns.clear();
      planned.keys.clear();
    } else {
      for (const auto& seen : planned.patterns) {
        if (SamePattern(seen, *step.pattern)) return;
      }
      planned.patterns.push_back(*step.pattern);
    }
  }
  const bool full = planned.full;
  const std::optional<TypedPattern> applied =
      full ? std::nullopt : std::optional<TypedPattern>(*step.pattern);
  // Wrappers of the same identity share the entries: they take the same
  // clear (so their pending computations are not stored afterwards).
  for (auto& sibling : fn->node()->Owners()) {
    if (sibling == fn) continue;
    if (step.cleared) {
      AddCleared(sibling);
    } else {
      Add(sibling, applied);
    }
  }
  AddDependents(fn, applied);
}

void Cascade::AddDependents(const std::shared_ptr<FunctionCache>& fn,
                            const std::optional<TypedPattern>& pattern) {
  std::optional<NamedPattern> named;
  if (pattern.has_value() && fn->options().explicit_param_names) {
    named = fn->ToNamed(*pattern);
  }
  for (auto& dependent : fn->node()->Dependents()) {
    if (!named.has_value()) {
      Add(dependent, std::nullopt);
    } else {
      Add(dependent, dependent->FromNamed(*named));
    }
  }
}

int64_t CascadeClear(const std::shared_ptr<FunctionCache>& root,
                     const std::optional<TypedPattern>& pattern) {
  Cascade cascade;
  cascade.Add(root, pattern);
  return cascade.Run();
}

int64_t CascadeInvalidate(const std::shared_ptr<FunctionCache>& root,
                          const std::string& key, const TypedPattern& pattern) {
  Cascade cascade;
  cascade.AddKey(root, key, pattern);
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
