// libmemcached behind absl::Status.

#include "plugins/memcached/memcached_client.h"

#include <libmemcached/memcached.h>
#include <libmemcachedutil-1.0/util.h>

#include <cstdlib>
#include <ctime>
#include <stdexcept>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

namespace cache_alchemy {
namespace memcached {
namespace {

// Memcached reads an expiry above 30 days as an absolute Unix time.
constexpr int64_t kMaxRelativeTtl = 60 * 60 * 24 * 30;

// libmemcached's allocations, bounded by kMaxReplyAllocationBytes: a null
// return makes the command fail with MEMCACHED_MEMORY_ALLOCATION_FAILURE.
void* BoundedMalloc(const memcached_st*, const size_t size, void*) {
  return size > kMaxReplyAllocationBytes ? nullptr : std::malloc(size);
}
void* BoundedRealloc(const memcached_st*, void* mem, const size_t size, void*) {
  return size > kMaxReplyAllocationBytes ? nullptr : std::realloc(mem, size);
}
void* BoundedCalloc(const memcached_st*, size_t count, const size_t size,
                    void*) {
  if (size != 0 && count > kMaxReplyAllocationBytes / size) return nullptr;
  return std::calloc(count, size);
}
void Free(const memcached_st*, void* mem, void*) { std::free(mem); }

// A value libmemcached returned, checked before it is copied: a length that
// is absurd (a reply claiming "-1" bytes) is an error, not a
// std::length_error thrown out of a Status-returning method.
absl::StatusOr<std::string> CopyValue(const memcached_result_st* result) {
  const size_t length = memcached_result_length(result);
  const char* value = memcached_result_value(result);
  if (length > kMaxReplyAllocationBytes || (value == nullptr && length != 0)) {
    return absl::DataLossError(
        absl::StrCat("the server sent a value of ", length, " bytes"));
  }
  return std::string(value == nullptr ? "" : value, length);
}

// Whether the last command's reply announced more than the bounded allocators
// would give: libmemcached then reports the key as not found, and only its
// last error says why. (Each command starts with its errors cleared.)
bool AllocationRefused(const memcached_st* memc) {
  return memcached_last_error(memc) == MEMCACHED_MEMORY_ALLOCATION_FAILURE;
}

time_t Exptime(int64_t ttl_seconds) {
  if (ttl_seconds <= 0) return 0;
  if (ttl_seconds > kMaxRelativeTtl) {
    return static_cast<time_t>(std::time(nullptr) + ttl_seconds);
  }
  return static_cast<time_t>(ttl_seconds);
}

}  // namespace

// One connection borrowed from the pool for the length of a call.
class MemcachedClient::Lease {
 public:
  explicit Lease(MemcachedClient& client) : client_(client) {
    timespec wait{5, 0};
    memcached_return_t rc = MEMCACHED_SUCCESS;
    memc_ = memcached_pool_fetch(client_.pool_, &wait, &rc);
    if (memc_ == nullptr) {
      status_ = absl::UnavailableError(absl::StrCat(
          "memcached ", client_.servers_, ": no free connection in the pool: ",
          memcached_strerror(nullptr, rc)));
    }
  }
  ~Lease() {
    if (memc_ != nullptr) memcached_pool_release(client_.pool_, memc_);
  }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;

  bool ok() const { return status_.ok(); }
  const absl::Status& status() const { return status_; }
  memcached_st* get() const { return memc_; }

  // The error for command `op` on `key` that ended with `rc`.
  absl::Status Error(const char* op, const std::string& key,
                     memcached_return_t rc) const {
    const char* detail = memcached_last_error_message(memc_);
    return absl::UnavailableError(
        absl::StrCat("memcached ", client_.servers_, ": ", op, " '", key,
                     "' failed: ", memcached_strerror(memc_, rc),
                     detail != nullptr ? absl::StrCat(" (", detail, ")") : ""));
  }

 private:
  MemcachedClient& client_;
  memcached_st* memc_ = nullptr;
  absl::Status status_;
};

MemcachedClient::MemcachedClient(const std::string& servers)
    : servers_(servers) {
  memcached_server_st* list = memcached_servers_parse(servers.c_str());
  if (list == nullptr) {
    throw std::invalid_argument(absl::StrCat(
        "memcached servers '", servers, "' list no server (host:port,...)"));
  }
  master_ = memcached_create(nullptr);
  // Before anything else, so the pool's clones inherit the bound.
  memcached_set_memory_allocators(master_, &BoundedMalloc, &Free,
                                  &BoundedRealloc, &BoundedCalloc, nullptr);
  memcached_server_push(master_, list);
  memcached_server_list_free(list);
  memcached_behavior_set(master_, MEMCACHED_BEHAVIOR_SUPPORT_CAS, 1);
  memcached_behavior_set(master_, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
  // Fail fast when the server is down: the cache then fails open.
  memcached_behavior_set(master_, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, 250);
  memcached_behavior_set(master_, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, 1000);
  memcached_behavior_set(master_, MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, 1);
  pool_ = memcached_pool_create(master_, 1, 16);
  if (pool_ == nullptr) {
    memcached_free(master_);
    throw std::runtime_error("memcached_pool_create failed");
  }
}

MemcachedClient::~MemcachedClient() {
  memcached_pool_destroy(pool_);
  memcached_free(master_);
}

absl::StatusOr<std::vector<std::optional<std::string>>>
MemcachedClient::GetMulti(const std::vector<std::string>& keys) {
  std::vector<std::optional<std::string>> values(keys.size());
  if (keys.empty()) return values;
  Lease lease(*this);
  if (!lease.ok()) return lease.status();
  std::vector<const char*> ptrs;
  std::vector<size_t> sizes;
  absl::flat_hash_map<std::string, std::vector<size_t>> where;
  for (size_t i = 0; i < keys.size(); ++i) {
    ptrs.push_back(keys[i].data());
    sizes.push_back(keys[i].size());
    where[keys[i]].push_back(i);
  }
  memcached_return_t rc =
      memcached_mget(lease.get(), ptrs.data(), sizes.data(), keys.size());
  if (rc != MEMCACHED_SUCCESS) return lease.Error("get", keys[0], rc);
  // On the caller's storage: libmemcached frees a result it allocated itself
  // when the fetch loop ends, so a heap result would be freed twice.
  memcached_result_st storage;
  memcached_result_st* result = memcached_result_create(lease.get(), &storage);
  absl::Status bad_value;
  while (memcached_fetch_result(lease.get(), result, &rc) != nullptr) {
    std::string key(memcached_result_key_value(result),
                    memcached_result_key_length(result));
    if (auto it = where.find(key); it != where.end()) {
      absl::StatusOr<std::string> value = CopyValue(result);
      if (!value.ok()) {
        bad_value = value.status();
        continue;
      }
      for (size_t i : it->second) values[i].emplace(*value);
    }
  }
  memcached_result_free(result);
  if (AllocationRefused(lease.get())) {
    return lease.Error("get", keys[0], MEMCACHED_MEMORY_ALLOCATION_FAILURE);
  }
  if (!bad_value.ok()) {
    return absl::DataLossError(absl::StrCat("memcached ", servers_, ": get '",
                                            keys[0],
                                            "': ", bad_value.message()));
  }
  if (rc != MEMCACHED_END && rc != MEMCACHED_SUCCESS &&
      rc != MEMCACHED_NOTFOUND) {
    return lease.Error("get", keys[0], rc);
  }
  return values;
}

absl::StatusOr<std::optional<std::string>> MemcachedClient::Get(
    const std::string& key) {
  absl::StatusOr<std::vector<std::optional<std::string>>> values =
      GetMulti({key});
  if (!values.ok()) return values.status();
  return std::move((*values)[0]);
}

absl::StatusOr<std::optional<CasValue>> MemcachedClient::Gets(
    const std::string& key) {
  Lease lease(*this);
  if (!lease.ok()) return lease.status();
  const char* ptr = key.data();
  size_t size = key.size();
  memcached_return_t rc = memcached_mget(lease.get(), &ptr, &size, 1);
  if (rc != MEMCACHED_SUCCESS) return lease.Error("gets", key, rc);
  std::optional<CasValue> found;
  // On the caller's storage: libmemcached frees a result it allocated itself
  // when the fetch loop ends, so a heap result would be freed twice.
  memcached_result_st storage;
  memcached_result_st* result = memcached_result_create(lease.get(), &storage);
  absl::Status bad_value;
  while (memcached_fetch_result(lease.get(), result, &rc) != nullptr) {
    absl::StatusOr<std::string> value = CopyValue(result);
    if (!value.ok()) {
      bad_value = value.status();
      continue;
    }
    found.emplace();
    found->value = *std::move(value);
    found->cas = memcached_result_cas(result);
  }
  memcached_result_free(result);
  if (AllocationRefused(lease.get())) {
    return lease.Error("gets", key, MEMCACHED_MEMORY_ALLOCATION_FAILURE);
  }
  if (!bad_value.ok()) {
    return absl::DataLossError(absl::StrCat("memcached ", servers_, ": gets '",
                                            key, "': ", bad_value.message()));
  }
  if (rc != MEMCACHED_END && rc != MEMCACHED_SUCCESS &&
      rc != MEMCACHED_NOTFOUND) {
    return lease.Error("gets", key, rc);
  }
  return found;
}

absl::Status MemcachedClient::Set(const std::string& key,
                                  const std::string& value,
                                  int64_t ttl_seconds) {
  Lease lease(*this);
  if (!lease.ok()) return lease.status();
  memcached_return_t rc =
      memcached_set(lease.get(), key.data(), key.size(), value.data(),
                    value.size(), Exptime(ttl_seconds), 0);
  if (rc != MEMCACHED_SUCCESS) return lease.Error("set", key, rc);
  return absl::OkStatus();
}

absl::StatusOr<WriteResult> MemcachedClient::Add(const std::string& key,
                                                 const std::string& value,
                                                 int64_t ttl_seconds) {
  Lease lease(*this);
  if (!lease.ok()) return lease.status();
  memcached_return_t rc =
      memcached_add(lease.get(), key.data(), key.size(), value.data(),
                    value.size(), Exptime(ttl_seconds), 0);
  if (rc == MEMCACHED_SUCCESS) return WriteResult::kStored;
  if (rc == MEMCACHED_NOTSTORED || rc == MEMCACHED_DATA_EXISTS) {
    return WriteResult::kConflict;
  }
  return lease.Error("add", key, rc);
}

absl::StatusOr<WriteResult> MemcachedClient::Cas(const std::string& key,
                                                 const std::string& value,
                                                 int64_t ttl_seconds,
                                                 uint64_t cas) {
  Lease lease(*this);
  if (!lease.ok()) return lease.status();
  memcached_return_t rc =
      memcached_cas(lease.get(), key.data(), key.size(), value.data(),
                    value.size(), Exptime(ttl_seconds), 0, cas);
  if (rc == MEMCACHED_SUCCESS) return WriteResult::kStored;
  if (rc == MEMCACHED_DATA_EXISTS || rc == MEMCACHED_NOTFOUND ||
      rc == MEMCACHED_NOTSTORED) {
    return WriteResult::kConflict;
  }
  return lease.Error("cas", key, rc);
}

absl::StatusOr<bool> MemcachedClient::Delete(const std::string& key) {
  Lease lease(*this);
  if (!lease.ok()) return lease.status();
  memcached_return_t rc =
      memcached_delete(lease.get(), key.data(), key.size(), 0);
  if (rc == MEMCACHED_SUCCESS) return true;
  if (rc == MEMCACHED_NOTFOUND) return false;
  return lease.Error("delete", key, rc);
}

absl::StatusOr<std::optional<uint64_t>> MemcachedClient::Increment(
    const std::string& key, uint64_t by) {
  Lease lease(*this);
  if (!lease.ok()) return lease.status();
  uint64_t value = 0;
  memcached_return_t rc = memcached_increment(
      lease.get(), key.data(), key.size(), static_cast<uint32_t>(by), &value);
  if (rc == MEMCACHED_SUCCESS) return std::optional<uint64_t>(value);
  if (rc == MEMCACHED_NOTFOUND) return std::optional<uint64_t>();
  return lease.Error("incr", key, rc);
}

}  // namespace memcached
}  // namespace cache_alchemy
