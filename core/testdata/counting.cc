// A minimal working plugin, `Counting`: one in-process store per namespace,
// no limit or expiry. The registry tests load it under several file names
// (copied into temporary directories) and unload it. Compiled with
// -fno-gnu-unique and free of inline statics, so glibc can unload it.

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "core/plugin_export.h"
#include "core/strict_key.h"

namespace {

namespace ca = cache_alchemy;

class Entries final : public ca::CacheNamespace {
 public:
  bool Lookup(std::string_view key, ca::ValueVisitor visit, void* context,
              ca::Fence* fence) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (fence != nullptr) fence->local = clears_;
    auto it = entries_.find(key);
    if (it == entries_.end()) return false;
    const ca::ValueView view{it->second.object.get(), it->second.bytes};
    visit(context, view);
    return true;
  }
  bool Store(std::string_view key, ca::StoredValue value,
             const ca::Fence* fence) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (fence != nullptr && fence->local != clears_) return false;
    entries_.insert_or_assign(std::string(key), std::move(value));
    return true;
  }
  int64_t Clear() override { return ClearMatching({}); }
  int64_t ClearMatching(const ca::KeyPattern& pattern) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++clears_;
    int64_t n = 0;
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (pattern.segments.empty() ||
          ca::StrictKeyMatches(it->first, pattern)) {
        it = entries_.erase(it);
        ++n;
      } else {
        ++it;
      }
    }
    return n;
  }
  int64_t Invalidate(std::string_view key) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++clears_;
    auto it = entries_.find(key);
    if (it == entries_.end()) return 0;
    entries_.erase(it);
    return 1;
  }
  int64_t Size() override {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int64_t>(entries_.size());
  }

 private:
  std::mutex mu_;
  uint64_t clears_ = 0;  // guarded by mu_; the fence
  std::map<std::string, ca::StoredValue, std::less<>> entries_;
};

class Counting final : public ca::Backend {
 public:
  ca::ValueFormat format() const override { return ca::ValueFormat::kObject; }
  uint32_t requirements() const override { return 0; }
  ca::CacheNamespace* Open(const ca::NamespaceSpec&,
                           const ca::HostContext&) override {
    return new Entries();
  }
  int64_t Flush(const ca::HostContext&, const std::string&) override {
    return 0;
  }
  std::set<std::string> Namespaces(const ca::HostContext&,
                                   const std::string&) override {
    return {};
  }
};

}  // namespace

CACHE_ALCHEMY_EXPORT_BACKEND(Counting, []() -> cache_alchemy::Backend* {
  return new Counting();
})
