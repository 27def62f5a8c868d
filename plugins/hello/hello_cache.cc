// acme.backends.hello.HelloCache: objects in this process; ignores limit/expire.
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include "core/plugin_export.h"
#include "core/strict_key.h"

namespace ca = cache_alchemy;
using Entries = std::map<std::string, ca::StoredValue>;

class Handle final : public ca::CacheNamespace {  // one cached function's entries
  std::mutex* mu_;  // the backend outlives us: the core deletes us first
  Entries* e_;      // std::map nodes never move
 public:
  Handle(std::mutex* mu, Entries* e) : mu_(mu), e_(e) {}
  bool Lookup(const std::string& key, ca::ValueVisitor visit, void* ctx) override {
    std::lock_guard lock(*mu_);
    auto it = e_->find(key);
    if (it != e_->end()) visit(ctx, it->second);
    return it != e_->end();
  }
  void Store(const std::string& key, ca::StoredValue v) override { std::lock_guard l(*mu_); (*e_)[key] = std::move(v); }
  int64_t Clear() override { return ClearMatching({}); }  // {}: everything
  int64_t ClearMatching(const ca::KeyPattern& p) override {
    std::lock_guard lock(*mu_);
    return std::erase_if(*e_, [&](auto& kv) { return p.segments.empty() || ca::StrictKeyMatches(kv.first, p); });
  }
  int64_t Size() override { std::lock_guard lock(*mu_); return e_->size(); }
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
    for (auto& [name, entries] : stores_[prefix]) n += std::exchange(entries, {}).size();
    return n;
  }
  std::set<std::string> Namespaces(const ca::HostContext&, const std::string& prefix) override {
    std::lock_guard lock(mu_);
    std::set<std::string> names;
    for (auto& [name, entries] : stores_[prefix]) if (!entries.empty()) names.insert(name);
    return names;
  }
};

CACHE_ALCHEMY_EXPORT_BACKEND(HelloCache, []() -> ca::Backend* { return new HelloCache(); })
