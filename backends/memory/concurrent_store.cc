// The in-process store: RCU-read hash table, S3-FIFO or LRU, TTL, fences.

#include "backends/memory/concurrent_store.h"

// liburcu's read-side functions inline (they are under ten lines each, the
// LGPL's threshold for inlining into code under another license).
#define _LGPL_SOURCE 1
#include <pthread.h>
#include <urcu-bp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"
#include "core/strict_key.h"

namespace cache_alchemy {
namespace memory {
namespace {

// Which queue a node is in.
constexpr uint8_t kNoQueue = 0;
constexpr uint8_t kSmallQueue = 1;
constexpr uint8_t kMainQueue = 2;

// A hit counter saturates here (S3-FIFO's 2 bits).
constexpr uint8_t kMaxFreq = 3;

// Freed objects wait for a grace period in batches of this many: one grace
// period (a membarrier system call) per batch.
constexpr size_t kReclaimBatch = 256;

constexpr size_t kMinTableSize = 16;

size_t NextPowerOfTwo(size_t n) {
  size_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

}  // namespace

// One entry. Allocated with its variable part right behind it:
//   [shared_ptr<const void> if has_object] [key bytes] [value bytes]
struct ConcurrentStore::Node {
  Node* newer = nullptr;  // toward the queue's head; guarded by mu_
  Node* older = nullptr;  // toward the queue's tail; guarded by mu_
  uint64_t hash;
  int64_t expires_at_ms;  // -1: never
  uint32_t key_len;
  uint32_t value_len;
  std::atomic<uint8_t> freq{0};  // hits, saturating; readers write it
  uint8_t queue = kNoQueue;      // guarded by mu_
  bool has_object;
  bool dead = false;  // out of the table (waiting for a grace period)

  char* extra() { return reinterpret_cast<char*>(this + 1); }
  const char* extra() const { return reinterpret_cast<const char*>(this + 1); }
  const std::shared_ptr<const void>* object() const {
    return has_object
               ? reinterpret_cast<const std::shared_ptr<const void>*>(extra())
               : nullptr;
  }
  const char* key_data() const {
    return extra() + (has_object ? sizeof(std::shared_ptr<const void>) : 0);
  }
  std::string_view key() const { return {key_data(), key_len}; }
  std::string_view value() const { return {key_data() + key_len, value_len}; }

  static Node* Make(uint64_t hash, std::string_view key, StoredValue&& value,
                    int64_t expires_at_ms) {
    const bool has_object = value.object != nullptr;
    const size_t size = sizeof(Node) +
                        (has_object ? sizeof(std::shared_ptr<const void>) : 0) +
                        key.size() + value.bytes.size();
    void* memory = ::operator new(size);
    Node* node = new (memory) Node;
    node->hash = hash;
    node->expires_at_ms = expires_at_ms;
    node->key_len = static_cast<uint32_t>(key.size());
    node->value_len = static_cast<uint32_t>(value.bytes.size());
    node->has_object = has_object;
    if (has_object) {
      new (node->extra()) std::shared_ptr<const void>(std::move(value.object));
    }
    char* key_at = const_cast<char*>(node->key_data());
    std::memcpy(key_at, key.data(), key.size());
    std::memcpy(key_at + key.size(), value.bytes.data(), value.bytes.size());
    return node;
  }

  static void Free(void* raw) {
    Node* node = static_cast<Node*>(raw);
    if (node->has_object) {
      using Ptr = std::shared_ptr<const void>;
      reinterpret_cast<Ptr*>(node->extra())->~Ptr();
    }
    node->~Node();
    ::operator delete(raw);
  }
};

// Open addressing with linear probing over node pointers. Readers load
// slots with acquire; the single writer (mu_) publishes a slot with release
// after the node is fully built. Never full: a rebuild keeps at least a
// quarter of the slots empty, so every probe ends at an empty slot.
struct ConcurrentStore::Table {
  size_t mask;
  size_t used = 0;  // slots not empty (live + tombstones); writer only
  std::atomic<Node*> slots[1];

  static Node* Tombstone() {
    return reinterpret_cast<Node*>(static_cast<uintptr_t>(1));
  }

  static Table* Make(size_t capacity) {
    const size_t size =
        sizeof(Table) + (capacity - 1) * sizeof(std::atomic<Node*>);
    void* memory = ::operator new(size);
    Table* table = static_cast<Table*>(memory);
    table->mask = capacity - 1;
    table->used = 0;
    for (size_t i = 0; i < capacity; ++i) {
      new (&table->slots[i]) std::atomic<Node*>(nullptr);
    }
    return table;
  }
  static void Free(void* raw) { ::operator delete(raw); }
  size_t capacity() const { return mask + 1; }
};

namespace {

// liburcu-bp asks programs that fork() without exec() to call these around
// the fork; a library cannot know, so it registers them itself (once).
void RegisterForkHandlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    pthread_atfork(&urcu_bp_before_fork, &urcu_bp_after_fork_parent,
                   &urcu_bp_after_fork_child);
  });
}

}  // namespace

ConcurrentStore::ConcurrentStore(Options options)
    : limit_(options.limit),
      expire_ms_(options.expire_seconds < 0 ? -1
                                            : options.expire_seconds * 1000),
      clock_(options.clock),
      key_format_(options.key_format),
      policy_(options.policy == EvictionPolicy::kLru ? EvictionPolicy::kLru
                                                     : EvictionPolicy::kS3Fifo),
      small_capacity_(
          options.limit > 0 ? std::max<int64_t>(1, options.limit / 10) : 0),
      table_(Table::Make(kMinTableSize)) {
  RegisterForkHandlers();
  if (limit_ > 0 && policy_ == EvictionPolicy::kS3Fifo) {
    ghost_.assign(NextPowerOfTwo(static_cast<size_t>(
                      std::max<int64_t>(16, limit_ - small_capacity_))),
                  0);
  }
}

ConcurrentStore::~ConcurrentStore() {
  // No reader can be inside: every caller holds a reference to the store.
  Table* table = table_.load(std::memory_order_relaxed);
  for (size_t i = 0; i < table->capacity(); ++i) {
    Node* node = table->slots[i].load(std::memory_order_relaxed);
    if (node != nullptr && node != Table::Tombstone()) Node::Free(node);
  }
  Table::Free(table);
  for (size_t i = 0; i < retired_.size(); ++i) retired_free_[i](retired_[i]);
}

uint64_t ConcurrentStore::Hash(std::string_view key) {
  // Keys of scalar arguments are a few bytes: read them as two (possibly
  // overlapping) words and let absl::HashOf mix those, which costs a third
  // of hashing them as a string.
  const char* p = key.data();
  const size_t n = key.size();
  if (n >= 8 && n <= 16) {
    uint64_t a, b;
    std::memcpy(&a, p, 8);
    std::memcpy(&b, p + n - 8, 8);
    return absl::HashOf(a, b ^ n);
  }
  if (n >= 4 && n < 8) {
    uint32_t a, b;
    std::memcpy(&a, p, 4);
    std::memcpy(&b, p + n - 4, 4);
    return absl::HashOf((uint64_t{a} << 32 | b) ^ (uint64_t{n} << 60));
  }
  return absl::Hash<absl::string_view>()(absl::string_view(p, n));
}

namespace {

// Equality of a node's key and a probe key of the same length; short keys
// (the common case: scalar arguments) without a call to memcmp.
inline bool SameBytes(const char* a, const char* b, size_t n) {
  if (n == 8) {
    uint64_t x, y;
    std::memcpy(&x, a, 8);
    std::memcpy(&y, b, 8);
    return x == y;
  }
  if (n == 4) {
    uint32_t x, y;
    std::memcpy(&x, a, 4);
    std::memcpy(&y, b, 4);
    return x == y;
  }
  return std::memcmp(a, b, n) == 0;
}

}  // namespace

bool ConcurrentStore::Expired(const Node& node, int64_t now) const {
  return node.expires_at_ms >= 0 && now >= node.expires_at_ms;
}

int64_t ConcurrentStore::ExpiryOf(int64_t now) const {
  return expire_ms_ < 0 ? -1 : now + expire_ms_;
}

inline __attribute__((always_inline)) ConcurrentStore::Node*
ConcurrentStore::Find(const Table& table, uint64_t hash, std::string_view key) {
  for (size_t i = hash & table.mask;; i = (i + 1) & table.mask) {
    Node* node = table.slots[i].load(std::memory_order_acquire);
    if (node == nullptr) return nullptr;
    if (node != Table::Tombstone() && node->hash == hash &&
        node->key_len == key.size() &&
        SameBytes(node->key_data(), key.data(), key.size())) {
      return node;
    }
  }
}

namespace {

// Leaves the read-side critical section on every path out of a lookup.
class ReadSection {
 public:
  ReadSection() { urcu_bp_read_lock(); }
  ~ReadSection() { urcu_bp_read_unlock(); }
  ReadSection(const ReadSection&) = delete;
  ReadSection& operator=(const ReadSection&) = delete;
};

}  // namespace

bool ConcurrentStore::Lookup(std::string_view key, ValueVisitor visit,
                             void* context, Fence* fence) {
  if (fence != nullptr) {
    fence->local = clears_.load(std::memory_order_acquire);
    fence->remote = 0;
  }
  const uint64_t hash = Hash(key);
  ReadSection section;
  Node* node = Find(*table_.load(std::memory_order_acquire), hash, key);
  if (node == nullptr) return false;
  if (node->expires_at_ms >= 0 && clock_->NowMillis() >= node->expires_at_ms) {
    return false;  // expired: a miss (the writer removes it later)
  }
  if (policy_ == EvictionPolicy::kLru) {
    Touch(node);
  } else {
    // The one write of a hit, and only until the counter saturates.
    const uint8_t freq = node->freq.load(std::memory_order_relaxed);
    if (freq < kMaxFreq) {
      node->freq.store(freq + 1, std::memory_order_relaxed);
    }
  }
  const std::shared_ptr<const void>* object = node->object();
  visit(context,
        ValueView{object != nullptr ? object->get() : nullptr, node->value()});
  return true;
}

bool ConcurrentStore::Copy(std::string_view key, StoredValue* out,
                           Fence* fence) {
  if (fence != nullptr) {
    fence->local = clears_.load(std::memory_order_acquire);
    fence->remote = 0;
  }
  const uint64_t hash = Hash(key);
  ReadSection section;
  Node* node = Find(*table_.load(std::memory_order_acquire), hash, key);
  if (node == nullptr || (node->expires_at_ms >= 0 &&
                          clock_->NowMillis() >= node->expires_at_ms)) {
    return false;
  }
  const std::shared_ptr<const void>* object = node->object();
  out->object = object != nullptr ? *object : nullptr;
  out->bytes.assign(node->value());
  return true;
}

void ConcurrentStore::Touch(Node* node) {
  std::lock_guard<std::mutex> lock(mu_);
  if (node->dead || small_.head == node) return;
  Unlink(node);
  PushHead(small_, node, kSmallQueue);
}

void ConcurrentStore::Unlink(Node* node) {
  Queue& queue = node->queue == kMainQueue ? main_ : small_;
  if (node->newer != nullptr) {
    node->newer->older = node->older;
  } else {
    queue.head = node->older;
  }
  if (node->older != nullptr) {
    node->older->newer = node->newer;
  } else {
    queue.tail = node->newer;
  }
  node->newer = node->older = nullptr;
  node->queue = kNoQueue;
  --queue.size;
}

void ConcurrentStore::PushHead(Queue& queue, Node* node, uint8_t which) {
  node->queue = which;
  node->newer = nullptr;
  node->older = queue.head;
  if (queue.head != nullptr) queue.head->newer = node;
  queue.head = node;
  if (queue.tail == nullptr) queue.tail = node;
  ++queue.size;
}

void ConcurrentStore::Retire(Node* node) {
  Table* table = table_.load(std::memory_order_relaxed);
  for (size_t i = node->hash & table->mask;; i = (i + 1) & table->mask) {
    Node* at = table->slots[i].load(std::memory_order_relaxed);
    if (at == nullptr) break;  // not in the table (cannot happen)
    if (at == node) {
      table->slots[i].store(Table::Tombstone(), std::memory_order_release);
      break;
    }
  }
  if (node->queue != kNoQueue) Unlink(node);
  node->dead = true;
  --count_;
  retired_.push_back(node);
  retired_free_.push_back(&Node::Free);
}

bool ConcurrentStore::InGhost(uint64_t hash) const {
  if (ghost_.empty()) return false;
  const uint32_t fingerprint = static_cast<uint32_t>(hash >> 32) | 1u;
  return ghost_[hash & (ghost_.size() - 1)] == fingerprint;
}

void ConcurrentStore::AddToGhost(uint64_t hash) {
  if (ghost_.empty()) return;
  // A direct-mapped table of fingerprints: a newer fingerprint overwrites an
  // older one in its slot (4 bytes per entry instead of a FIFO and a set).
  ghost_[hash & (ghost_.size() - 1)] = static_cast<uint32_t>(hash >> 32) | 1u;
}

void ConcurrentStore::Forget(Node* node, bool to_ghost) {
  if (to_ghost) AddToGhost(node->hash);
  Retire(node);
  evictions_.fetch_add(1, std::memory_order_relaxed);
}

void ConcurrentStore::EvictFromSmall(int64_t now) {
  while (small_.tail != nullptr) {
    Node* tail = small_.tail;
    const bool expired = expire_ms_ >= 0 && Expired(*tail, now);
    if (!expired && tail->freq.load(std::memory_order_relaxed) > 0) {
      // Hit while in the small queue: promoted, its counter starting over.
      Unlink(tail);
      tail->freq.store(0, std::memory_order_relaxed);
      PushHead(main_, tail, kMainQueue);
      continue;
    }
    Forget(tail, /*to_ghost=*/!expired);
    return;
  }
  EvictFromMain(now);  // everything in small was promoted
}

void ConcurrentStore::EvictFromMain(int64_t now) {
  while (main_.tail != nullptr) {
    Node* tail = main_.tail;
    const bool expired = expire_ms_ >= 0 && Expired(*tail, now);
    const uint8_t freq = tail->freq.load(std::memory_order_relaxed);
    if (!expired && freq > 0) {
      // Another round for an entry that was hit, one hit fewer.
      Unlink(tail);
      tail->freq.store(freq - 1, std::memory_order_relaxed);
      PushHead(main_, tail, kMainQueue);
      continue;
    }
    Forget(tail, /*to_ghost=*/false);
    return;
  }
  if (small_.tail != nullptr) Forget(small_.tail, /*to_ghost=*/false);
}

void ConcurrentStore::EvictFromLru() {
  if (small_.tail != nullptr) Forget(small_.tail, /*to_ghost=*/false);
}

void ConcurrentStore::EvictToLimit(int64_t now) {
  if (limit_ <= 0) return;
  while (count_ > limit_) {
    if (policy_ == EvictionPolicy::kLru) {
      EvictFromLru();
    } else if (small_.size >= small_capacity_ || main_.size == 0) {
      EvictFromSmall(now);
    } else {
      EvictFromMain(now);
    }
  }
}

void ConcurrentStore::GrowIfNeeded() {
  Table* table = table_.load(std::memory_order_relaxed);
  if ((table->used + 1) * 4 <= table->capacity() * 3) return;
  // Rebuilt at most half full, which also drops every tombstone.
  const size_t capacity = std::max(
      kMinTableSize, NextPowerOfTwo(static_cast<size_t>(count_ + 1) * 2));
  Table* bigger = Table::Make(capacity);
  for (size_t i = 0; i < table->capacity(); ++i) {
    Node* node = table->slots[i].load(std::memory_order_relaxed);
    if (node == nullptr || node == Table::Tombstone()) continue;
    size_t j = node->hash & bigger->mask;
    while (bigger->slots[j].load(std::memory_order_relaxed) != nullptr) {
      j = (j + 1) & bigger->mask;
    }
    bigger->slots[j].store(node, std::memory_order_relaxed);
    ++bigger->used;
  }
  table_.store(bigger, std::memory_order_release);
  retired_.push_back(table);
  retired_free_.push_back(&Table::Free);
}

void ConcurrentStore::Insert(Node* node) {
  GrowIfNeeded();
  Table* table = table_.load(std::memory_order_relaxed);
  size_t free_slot = SIZE_MAX;
  for (size_t i = node->hash & table->mask;; i = (i + 1) & table->mask) {
    Node* at = table->slots[i].load(std::memory_order_relaxed);
    if (at == nullptr) {
      if (free_slot == SIZE_MAX) {
        free_slot = i;
        ++table->used;
      }
      break;
    }
    if (at == Table::Tombstone()) {
      if (free_slot == SIZE_MAX) free_slot = i;
      continue;
    }
    if (at->hash == node->hash && at->key() == node->key()) {
      // Replaced: the new node takes the old one's place and history.
      node->freq.store(at->freq.load(std::memory_order_relaxed),
                       std::memory_order_relaxed);
      const uint8_t queue = at->queue;
      table->slots[i].store(node, std::memory_order_release);
      if (queue != kNoQueue) Unlink(at);
      at->dead = true;
      retired_.push_back(at);
      retired_free_.push_back(&Node::Free);
      PushHead(queue == kMainQueue ? main_ : small_, node,
               queue == kMainQueue ? kMainQueue : kSmallQueue);
      return;
    }
  }
  table->slots[free_slot].store(node, std::memory_order_release);
  ++count_;
  const bool to_main =
      policy_ == EvictionPolicy::kS3Fifo && InGhost(node->hash);
  PushHead(to_main ? main_ : small_, node, to_main ? kMainQueue : kSmallQueue);
}

bool ConcurrentStore::Store(std::string_view key, StoredValue value,
                            const Fence* fence) {
  const int64_t now = clock_->NowMillis();
  Node* node = Node::Make(Hash(key), key, std::move(value), ExpiryOf(now));
  std::unique_lock<std::mutex> lock(mu_);
  if (fence != nullptr &&
      fence->local != clears_.load(std::memory_order_relaxed)) {
    lock.unlock();
    Node::Free(node);  // cleared since the lookup: the value may predate it
    return false;
  }
  Insert(node);
  EvictToLimit(now);
  MaybeReclaim(lock, /*force=*/false);
  return true;
}

template <typename Pred>
int64_t ConcurrentStore::RemoveIf(Pred remove, int64_t now) {
  clears_.store(clears_.load(std::memory_order_relaxed) + 1,
                std::memory_order_release);
  int64_t live = 0;
  Table* table = table_.load(std::memory_order_relaxed);
  for (size_t i = 0; i < table->capacity(); ++i) {
    Node* node = table->slots[i].load(std::memory_order_relaxed);
    if (node == nullptr || node == Table::Tombstone()) continue;
    if (!remove(node->key())) continue;
    if (!Expired(*node, now)) ++live;
    Retire(node);
  }
  return live;
}

int64_t ConcurrentStore::Clear() {
  const int64_t now = clock_->NowMillis();
  std::unique_lock<std::mutex> lock(mu_);
  const int64_t live = RemoveIf([](std::string_view) { return true; }, now);
  std::fill(ghost_.begin(), ghost_.end(), 0u);
  MaybeReclaim(lock, /*force=*/true);
  return live;
}

int64_t ConcurrentStore::ClearMatching(const KeyPattern& pattern) {
  const int64_t now = clock_->NowMillis();
  std::unique_lock<std::mutex> lock(mu_);
  const int64_t live = RemoveIf(
      [&](std::string_view key) {
        return StrictKeyMatches(key, pattern, key_format_);
      },
      now);
  MaybeReclaim(lock, /*force=*/true);
  return live;
}

int64_t ConcurrentStore::Size() {
  const int64_t now = clock_->NowMillis();
  std::lock_guard<std::mutex> lock(mu_);
  int64_t live = 0;
  for (const Queue* queue : {&small_, &main_}) {
    for (Node* node = queue->tail; node != nullptr; node = node->newer) {
      if (!Expired(*node, now)) ++live;
    }
  }
  return live;
}

void ConcurrentStore::MaybeReclaim(std::unique_lock<std::mutex>& lock,
                                   bool force) {
  if (retired_.empty() || (!force && retired_.size() < kReclaimBatch)) return;
  // Waiting for readers from inside a read-side critical section (a visitor
  // that stores) would wait for ourselves: leave it for a later call.
  if (urcu_bp_read_ongoing()) return;
  std::vector<void*> items;
  std::vector<void (*)(void*)> frees;
  items.swap(retired_);
  frees.swap(retired_free_);
  lock.unlock();
  urcu_bp_synchronize_rcu();  // every reader that could see them is done
  for (size_t i = 0; i < items.size(); ++i) frees[i](items[i]);
  lock.lock();
}

}  // namespace memory
}  // namespace cache_alchemy
