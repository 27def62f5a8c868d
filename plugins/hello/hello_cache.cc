// acme.backends.hello.HelloCache: objects in this process; ignores limit/expire.
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include "core/plugin_export.h"
#include "core/strict_key.h"

namespace ca = cache_alchemy;
struct Entries {
  std::map<std::string, ca::StoredValue> map;
  uint64_t clears = 0;  // the fence: a store is refused if a clear came since its lookup
};

class Handle final : public ca::CacheNamespace {  // one cached function's entries
  std::mutex* mu_;  // the backend outlives us: the core deletes us first
  Entries* e_;      // std::map nodes never move
 public:
  Handle(std::mutex* mu, Entries* e) : mu_(mu), e_(e) {}
  bool Lookup(std::string_view key, ca::ValueVisitor visit, void* ctx, ca::Fence* fence) override {
    std::lock_guard lock(*mu_);
    if (fence != nullptr) *fence = {e_->clears, 0};
    auto it = e_->map.find(std::string(key));
    if (it != e_->map.end()) visit(ctx, {it->second.object.get(), it->second.bytes});
    return it != e_->map.end();
  }
  bool Store(std::string_view key, ca::StoredValue v, const ca::Fence* fence) override {
    std::lock_guard lock(*mu_);
    if (fence != nullptr && fence->local != e_->clears) return false;  // cleared since
    e_->map[std::string(key)] = std::move(v);
    return true;
  }
  int64_t Clear() override { return ClearMatching({}); }  // {}: everything
  int64_t ClearMatching(const ca::KeyPattern& p) override {
    std::lock_guard lock(*mu_);
    ++e_->clears;
    return std::erase_if(e_->map, [&](auto& kv) { return p.segments.empty() || ca::StrictKeyMatches(kv.first, p); });
  }
  int64_t Invalidate(std::string_view key) override {  // one entry, fenced like a clear
    std::lock_guard lock(*mu_);
    ++e_->clears;
    return e_->map.erase(std::string(key));
  }
  int64_t Size() override { std::lock_guard lock(*mu_); return e_->map.size(); }
};

class HelloCache final : public ca::Backend {
  std::mutex mu_;  // guards every namespace's entries
  std::map<std::string, std::map<std::string, Entries>> stores_;  // prefix -> name ->
 public:
  ca::ValueFormat format() const override { return ca::ValueFormat::kObject; }
  uint32_t requirements() const override { return 0; }
  ca::CacheNamespace* Open(const ca::NamespaceSpec& spec, const ca::HostContext&) override {
    std::lock_guard lock(mu_);
    return new Handle(&mu_, &stores_[spec.prefix][spec.name]);  // the caller owns it
  }
  int64_t Flush(const ca::HostContext&, const std::string& prefix) override {
    std::lock_guard lock(mu_);
    int64_t n = 0;
    for (auto& [name, entries] : stores_[prefix]) n += (++entries.clears, std::exchange(entries.map, {}).size());
    return n;
  }
  std::set<std::string> Namespaces(const ca::HostContext&, const std::string& prefix) override {
    std::lock_guard lock(mu_);
    std::set<std::string> names;
    for (auto& [name, entries] : stores_[prefix]) if (!entries.map.empty()) names.insert(name);
    return names;
  }
};

CACHE_ALCHEMY_EXPORT_BACKEND(HelloCache, []() -> ca::Backend* { return new HelloCache(); })
