// MemcachedCache: versioned namespaces, a CAS-updated key index per
// namespace, and hashed Memcached keys. The layout is described in
// memcached_cache.h and README.md.

#include "plugins/memcached/memcached_cache.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/strict_key.h"
#include "plugins/memcached/stable_hash.h"

namespace cache_alchemy {
namespace memcached {
namespace {

// How often a compare-and-swap update is retried before giving up.
constexpr int kMaxCasAttempts = 64;
// Keys per multi-get when checking which indexed entries are live.
constexpr size_t kMultiGetChunk = 256;

void OrThrow(const absl::Status& status) {
  if (!status.ok()) throw std::runtime_error(std::string(status.message()));
}
template <typename T>
T OrThrow(absl::StatusOr<T> value) {
  OrThrow(value.status());
  return *std::move(value);
}

int64_t NowUnixSeconds() { return absl::ToUnixSeconds(absl::Now()); }

// --- Binary encodings (all integers little-endian or LEB128 varints). ---

void PutU64(uint64_t v, std::string* out) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
bool GetU64(std::string_view* in, uint64_t* v) {
  if (in->size() < 8) return false;
  *v = 0;
  for (int i = 0; i < 8; ++i) {
    *v |= static_cast<uint64_t>(static_cast<unsigned char>((*in)[i]))
          << (8 * i);
  }
  in->remove_prefix(8);
  return true;
}
void PutString(std::string_view s, std::string* out) {
  AppendVarint(s.size(), out);
  out->append(s.data(), s.size());
}
bool GetString(std::string_view* in, std::string_view* s) {
  uint64_t size = 0;
  if (!ReadVarint(in, &size) || size > in->size()) return false;
  *s = in->substr(0, size);
  in->remove_prefix(size);
  return true;
}

// An entry item: 'E' version key value.
std::string EncodeEntry(uint64_t version, std::string_view key,
                        std::string_view value) {
  std::string out = "E";
  PutU64(version, &out);
  PutString(key, &out);
  out.append(value.data(), value.size());
  return out;
}
// The value of entry item `item` if it is `key` at `version`.
std::optional<std::string_view> LiveValue(std::string_view item,
                                          uint64_t version,
                                          std::string_view key) {
  uint64_t v = 0;
  std::string_view k;
  if (item.empty() || item[0] != 'E') return std::nullopt;
  item.remove_prefix(1);
  if (!GetU64(&item, &v) || v != version || !GetString(&item, &k) || k != key) {
    return std::nullopt;
  }
  return item;
}

// The index of a namespace: its keys in store order, oldest first.
struct Index {
  struct Entry {
    std::string key;
    int64_t deadline = 0;  // Unix seconds; 0: never
  };
  uint64_t version = 0;
  std::vector<Entry> entries;
};

std::string EncodeIndex(const Index& index) {
  std::string out = "I";
  PutU64(index.version, &out);
  AppendVarint(index.entries.size(), &out);
  for (const auto& e : index.entries) {
    PutString(e.key, &out);
    AppendVarint(static_cast<uint64_t>(e.deadline), &out);
  }
  return out;
}
std::optional<Index> DecodeIndex(std::string_view in) {
  Index index;
  uint64_t count = 0;
  if (in.empty() || in[0] != 'I') return std::nullopt;
  in.remove_prefix(1);
  if (!GetU64(&in, &index.version) || !ReadVarint(&in, &count)) {
    return std::nullopt;
  }
  for (uint64_t i = 0; i < count; ++i) {
    std::string_view key;
    uint64_t deadline = 0;
    if (!GetString(&in, &key) || !ReadVarint(&in, &deadline)) {
      return std::nullopt;
    }
    index.entries.push_back({std::string(key), static_cast<int64_t>(deadline)});
  }
  return index;
}

// The names registered under a prefix: 'N' prefix count names...
std::string EncodeNames(std::string_view prefix,
                        const std::set<std::string>& names) {
  std::string out = "N";
  PutString(prefix, &out);
  AppendVarint(names.size(), &out);
  for (const auto& n : names) PutString(n, &out);
  return out;
}
std::set<std::string> DecodeNames(std::string_view in,
                                  std::string_view prefix) {
  std::set<std::string> names;
  std::string_view p;
  uint64_t count = 0;
  if (in.empty() || in[0] != 'N') return names;
  in.remove_prefix(1);
  if (!GetString(&in, &p) || p != prefix || !ReadVarint(&in, &count)) {
    return names;
  }
  for (uint64_t i = 0; i < count; ++i) {
    std::string_view n;
    if (!GetString(&in, &n)) break;
    names.emplace(n);
  }
  return names;
}

std::string NamesKey(std::string_view prefix) {
  return "ca:n:" + HexHash64(Fnv1a64(prefix));
}

// The Memcached state of one (prefix, name): version, index and entries.
// Every method throws std::runtime_error when Memcached cannot be reached.
class NamespaceStore {
 public:
  NamespaceStore(std::shared_ptr<MemcachedClient> client, std::string prefix,
                 std::string name)
      : client_(std::move(client)),
        prefix_(std::move(prefix)),
        name_(std::move(name)) {
    std::string id;
    PutString(prefix_, &id);
    PutString(name_, &id);
    const std::string ns = HexHash64(Fnv1a64(id));
    version_key_ = "ca:v:" + ns;
    partial_key_ = "ca:p:" + ns;
    index_key_ = "ca:i:" + ns;
    entry_key_prefix_ = "ca:e:" + ns + ":";
  }

  std::string EntryKey(std::string_view key) const {
    return entry_key_prefix_ + HexHash64(Fnv1a64(key));
  }

  // The fence is {version, partial clears}: an entry stored under a version
  // is dead once a full clear moved the version on; a store refuses itself
  // if a partial clear came since its lookup (checked in its index update,
  // which a partial clear's own index update conflicts with).
  bool Lookup(const std::string& key, ValueVisitor visit, void* context,
              Fence* fence) {
    // One round trip for the version, the partial-clear count and the entry.
    auto items =
        OrThrow(client_->GetMulti({version_key_, partial_key_, EntryKey(key)}));
    std::optional<uint64_t> version;
    if (items[0]) version = ParseVersion(*items[0]);
    // No version yet: make one, so the fence names a real version.
    if (!version) version = EnsureVersion();
    if (fence != nullptr) {
      *fence =
          Fence{*version, items[1] ? ParseVersion(*items[1]).value_or(0) : 0};
    }
    if (!items[2]) return false;
    std::optional<std::string_view> value = LiveValue(*items[2], *version, key);
    if (!value) return false;
    visit(context, ValueView{nullptr, *value});
    return true;
  }

  // With `fence` (a version from Lookup), the entry is written under that
  // version: if a clear moved the version on since, it is refused here or,
  // racing the clear, written dead (no reader accepts an old version).
  // `expire`: seconds the entry lives (> 0), or 0 / -1 for never.
  bool Store(const std::string& key, const std::string& bytes, int64_t limit,
             int64_t expire, const Fence* fence) {
    uint64_t version = 0;
    uint64_t partials = 0;
    if (fence != nullptr) {
      version = fence->local;
      partials = fence->remote;
      std::optional<uint64_t> current = CurrentVersion();
      if (!current || *current != version) return false;  // cleared since
    } else {
      version = EnsureVersion();
    }
    const std::string entry_key = EntryKey(key);
    const int64_t ttl = expire > 0 ? expire : 0;
    OrThrow(client_->Set(entry_key, EncodeEntry(version, key, bytes), ttl));
    const int64_t deadline = ttl > 0 ? NowUnixSeconds() + ttl : 0;
    for (int attempt = 0; attempt < kMaxCasAttempts; ++attempt) {
      auto current = OrThrow(client_->Gets(index_key_));
      if (fence != nullptr && PartialClears() != partials) {
        // A partial clear came since the lookup; it may have matched `key`
        // (and listed the index before this entry was in it).
        (void)client_->Delete(entry_key);
        return false;
      }
      std::optional<Index> index;
      if (current) index = DecodeIndex(current->value);
      if (index && index->version > version) return false;  // cleared meanwhile
      if (!index || index->version < version) index = Index{version, {}};
      const int64_t now = NowUnixSeconds();
      std::erase_if(index->entries, [&](const Index::Entry& e) {
        return e.key == key || (e.deadline != 0 && e.deadline <= now);
      });
      index->entries.push_back({key, deadline});
      std::vector<std::string> evicted;
      while (limit > 0 && static_cast<int64_t>(index->entries.size()) > limit) {
        evicted.push_back(std::move(index->entries.front().key));
        index->entries.erase(index->entries.begin());
      }
      const std::string encoded = EncodeIndex(*index);
      absl::StatusOr<WriteResult> written =
          current ? client_->Cas(index_key_, encoded, IndexTtl(*index),
                                 current->cas)
                  : client_->Add(index_key_, encoded, IndexTtl(*index));
      if (!written.ok()) {
        (void)client_->Delete(entry_key);  // keep no entry the index lacks
        OrThrow(written.status());
      }
      if (*written == WriteResult::kConflict) continue;
      for (const auto& k : evicted) OrThrow(client_->Delete(EntryKey(k)));
      return true;
    }
    (void)client_->Delete(entry_key);
    throw std::runtime_error(absl::StrCat(
        "memcached ", client_->servers(), ": the index ", index_key_, " of '",
        name_, "' kept changing; gave up storing after ", kMaxCasAttempts,
        " attempts"));
  }

  int64_t Clear() {
    std::optional<uint64_t> version = CurrentVersion();
    if (!version) {
      // Nothing stored, but a lookup may be about to make the version:
      // making it here, then moving it on, fences that lookup's store.
      version = EnsureVersion();
    }
    std::vector<Index::Entry> entries = IndexedEntries(*version);
    const int64_t live = CountLive(*version, entries);
    // From here on no process sees an entry of the old version.
    if (!OrThrow(client_->Increment(version_key_, 1))) EnsureVersion();
    // Reclaim the memory now rather than when Memcached evicts it.
    for (const auto& e : entries) (void)client_->Delete(EntryKey(e.key));
    (void)client_->Delete(index_key_);
    return live;
  }

  int64_t ClearMatching(const KeyPattern& pattern) {
    return RemoveMatching(
        [&](const std::string& key) { return StrictKeyMatches(key, pattern); },
        "a partial clear");
  }

  // One entry: fenced like a partial clear (the count moves first), then
  // removed from the index and deleted. The entry item is deleted even if
  // the index does not list it (a store between its Set and its index
  // update).
  int64_t Invalidate(const std::string& key) {
    const std::string entry_key = EntryKey(key);
    bool indexed = false;
    int64_t live =
        RemoveMatching([&](const std::string& k) { return k == key; },
                       "an invalidation", &indexed);
    if (!indexed) {
      std::optional<uint64_t> version = CurrentVersion();
      auto item = OrThrow(client_->Get(entry_key));
      if (version && item && LiveValue(*item, *version, key)) live = 1;
    }
    OrThrow(client_->Delete(entry_key).status());
    return live;
  }

  int64_t Size() {
    std::optional<uint64_t> version = CurrentVersion();
    if (!version) return 0;
    return CountLive(*version, IndexedEntries(*version));
  }

 private:
  static std::optional<uint64_t> ParseVersion(std::string_view text) {
    uint64_t v = 0;
    // incr may leave the number space-padded.
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(
                              absl::string_view(text.data(), text.size())),
                          &v)) {
      return std::nullopt;
    }
    return v;
  }

  // Counts a partial clear (or an invalidation), then removes the indexed
  // entries whose key `matches` (CAS on the index). Returns the number of
  // live ones removed; sets `*matched` (when given) to whether the index
  // listed any.
  template <typename Match>
  int64_t RemoveMatching(const Match& matches, const char* what,
                         bool* matched_any = nullptr) {
    // Counted first: a store whose lookup came before refuses itself (see
    // Store), whether its index update lands before or after ours.
    if (!OrThrow(client_->Increment(partial_key_, 1)) &&
        OrThrow(client_->Add(partial_key_, "1", 0)) == WriteResult::kConflict &&
        !OrThrow(client_->Increment(partial_key_, 1))) {
      throw std::runtime_error(absl::StrCat("memcached ", client_->servers(),
                                            ": cannot count ", what, " in ",
                                            partial_key_, " of '", name_, "'"));
    }
    std::optional<uint64_t> version = CurrentVersion();
    if (!version) return 0;
    for (int attempt = 0; attempt < kMaxCasAttempts; ++attempt) {
      auto current = OrThrow(client_->Gets(index_key_));
      if (!current) return 0;
      std::optional<Index> index = DecodeIndex(current->value);
      if (!index || index->version != *version) return 0;
      std::vector<Index::Entry> matched;
      std::erase_if(index->entries, [&](Index::Entry& e) {
        if (!matches(e.key)) return false;
        matched.push_back(std::move(e));
        return true;
      });
      if (matched.empty()) return 0;
      const int64_t live = CountLive(*version, matched);
      const auto written = OrThrow(client_->Cas(
          index_key_, EncodeIndex(*index), IndexTtl(*index), current->cas));
      if (written == WriteResult::kConflict) continue;
      for (const auto& e : matched) OrThrow(client_->Delete(EntryKey(e.key)));
      if (matched_any != nullptr) *matched_any = true;
      return live;
    }
    throw std::runtime_error(
        absl::StrCat("memcached ", client_->servers(), ": the index ",
                     index_key_, " of '", name_, "' kept changing; gave up ",
                     what, " after ", kMaxCasAttempts, " attempts"));
  }

  uint64_t PartialClears() {
    auto text = OrThrow(client_->Get(partial_key_));
    return text ? ParseVersion(*text).value_or(0) : 0;
  }

  std::optional<uint64_t> CurrentVersion() {
    auto text = OrThrow(client_->Get(version_key_));
    if (!text) return std::nullopt;
    return ParseVersion(*text);
  }

  // The current version, creating it if absent. A new counter starts at the
  // current time in microseconds, so a counter that Memcached evicted comes
  // back larger than any version its old entries carry.
  uint64_t EnsureVersion() {
    if (std::optional<uint64_t> v = CurrentVersion()) return *v;
    const uint64_t initial =
        static_cast<uint64_t>(absl::ToUnixMicros(absl::Now()));
    const auto added =
        OrThrow(client_->Add(version_key_, std::to_string(initial), 0));
    if (added == WriteResult::kStored) return initial;
    if (std::optional<uint64_t> v = CurrentVersion()) return *v;
    throw std::runtime_error(absl::StrCat("memcached ", client_->servers(),
                                          ": cannot create the version key ",
                                          version_key_, " of '", name_, "'"));
  }

  std::vector<Index::Entry> IndexedEntries(uint64_t version) {
    auto current = OrThrow(client_->Get(index_key_));
    if (!current) return {};
    std::optional<Index> index = DecodeIndex(*current);
    if (!index || index->version != version) return {};
    return std::move(index->entries);
  }

  static int64_t IndexTtl(const Index& index) {
    int64_t latest = 0;
    for (const auto& e : index.entries) {
      if (e.deadline == 0) return 0;
      latest = std::max(latest, e.deadline);
    }
    return latest == 0 ? 0 : std::max<int64_t>(1, latest - NowUnixSeconds());
  }

  // How many of `entries` hold a live value of `version`.
  int64_t CountLive(uint64_t version,
                    const std::vector<Index::Entry>& entries) {
    int64_t live = 0;
    for (size_t begin = 0; begin < entries.size(); begin += kMultiGetChunk) {
      const size_t end = std::min(entries.size(), begin + kMultiGetChunk);
      std::vector<std::string> keys;
      for (size_t i = begin; i < end; ++i)
        keys.push_back(EntryKey(entries[i].key));
      auto items = OrThrow(client_->GetMulti(keys));
      for (size_t i = begin; i < end; ++i) {
        const auto& item = items[i - begin];
        if (item && LiveValue(*item, version, entries[i].key)) ++live;
      }
    }
    return live;
  }

  const std::shared_ptr<MemcachedClient> client_;
  const std::string prefix_;
  const std::string name_;
  std::string version_key_;
  std::string partial_key_;  // partial clears so far (absent: 0)
  std::string index_key_;
  std::string entry_key_prefix_;
};

// Adds `name` to the names registered under `prefix` (once).
void RegisterName(MemcachedClient& client, const std::string& prefix,
                  const std::string& name) {
  const std::string key = NamesKey(prefix);
  for (int attempt = 0; attempt < kMaxCasAttempts; ++attempt) {
    auto current = OrThrow(client.Gets(key));
    std::set<std::string> names;
    if (current) names = DecodeNames(current->value, prefix);
    if (!names.insert(name).second) return;
    const std::string encoded = EncodeNames(prefix, names);
    const auto written =
        OrThrow(current ? client.Cas(key, encoded, 0, current->cas)
                        : client.Add(key, encoded, 0));
    if (written == WriteResult::kStored) return;
  }
  throw std::runtime_error(absl::StrCat("memcached ", client.servers(),
                                        ": the name list ", key,
                                        " kept changing"));
}

std::set<std::string> RegisteredNames(MemcachedClient& client,
                                      const std::string& prefix) {
  auto current = OrThrow(client.Get(NamesKey(prefix)));
  if (!current) return {};
  return DecodeNames(*current, prefix);
}

class MemcachedNamespace final : public CacheNamespace {
 public:
  MemcachedNamespace(std::shared_ptr<MemcachedClient> client,
                     const NamespaceSpec& spec)
      : client_(client),
        store_(std::move(client), spec.prefix, spec.name),
        spec_(spec) {}

  bool Lookup(std::string_view key, ValueVisitor visit, void* context,
              Fence* fence) override {
    return store_.Lookup(std::string(key), visit, context, fence);
  }
  bool Store(std::string_view key, StoredValue value,
             const Fence* fence) override {
    // Registered before the first store, so that wrapping never needs the
    // server and get_all_namespace (and a flush) finds the function.
    if (!registered_.load(std::memory_order_acquire)) {
      RegisterName(*client_, spec_.prefix, spec_.name);
      registered_.store(true, std::memory_order_release);
    }
    return store_.Store(std::string(key), value.bytes, spec_.limit,
                        EntrySeconds(value.ttl_ms), fence);
  }
  int64_t Clear() override { return store_.Clear(); }
  int64_t Invalidate(std::string_view key) override {
    return store_.Invalidate(std::string(key));
  }
  int64_t ClearMatching(const KeyPattern& pattern) override {
    return store_.ClearMatching(pattern);
  }
  int64_t Size() override { return store_.Size(); }

 private:
  // Memcached counts whole seconds: an entry's own lifetime (ttl_ms, never
  // longer than the function's expire) is rounded up.
  int64_t EntrySeconds(int64_t ttl_ms) const {
    const int64_t expire = spec_.expire_seconds;
    if (ttl_ms <= 0) return expire;
    const int64_t seconds = (ttl_ms + 999) / 1000;
    return expire > 0 ? std::min(expire, seconds) : seconds;
  }

  const std::shared_ptr<MemcachedClient> client_;
  NamespaceStore store_;
  const NamespaceSpec spec_;
  std::atomic<bool> registered_{false};
};

}  // namespace

MemcachedCache::MemcachedCache(std::string servers)
    : servers_(std::move(servers)) {}

std::shared_ptr<MemcachedClient> MemcachedCache::Client() {
  std::string servers = servers_;
  if (servers.empty()) {
    const char* env = std::getenv(kServersVariable);
    servers = env != nullptr && *env != '\0' ? env : kDefaultServers;
  }
  absl::MutexLock lock(&mu_);
  auto& client = clients_[servers];
  if (client == nullptr) client = std::make_shared<MemcachedClient>(servers);
  return client;
}

CacheNamespace* MemcachedCache::Open(const NamespaceSpec& spec,
                                     const HostContext& /*host*/) {
  return new MemcachedNamespace(Client(), spec);
}

int64_t MemcachedCache::Flush(const HostContext& /*host*/,
                              const std::string& prefix) {
  std::shared_ptr<MemcachedClient> client = Client();
  int64_t removed = 0;
  for (const std::string& name : RegisteredNames(*client, prefix)) {
    removed += NamespaceStore(client, prefix, name).Clear();
  }
  return removed;
}

std::set<std::string> MemcachedCache::Namespaces(const HostContext& /*host*/,
                                                 const std::string& prefix) {
  std::shared_ptr<MemcachedClient> client = Client();
  std::set<std::string> live;
  for (const std::string& name : RegisteredNames(*client, prefix)) {
    if (NamespaceStore(client, prefix, name).Size() > 0) live.insert(name);
  }
  return live;
}

}  // namespace memcached
}  // namespace cache_alchemy
