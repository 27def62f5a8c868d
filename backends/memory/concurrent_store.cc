// The in-process store: RCU-read hash table, S3-FIFO or LRU, TTL, fences.

#include "backends/memory/concurrent_store.h"

// liburcu's read-side functions inline (they are under ten lines each, the
// LGPL's threshold for inlining into code under another license).
#define _LGPL_SOURCE 1
#include <pthread.h>
#include <sys/mman.h>
#include <urcu-bp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#include "absl/base/attributes.h"
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

// Freed nodes of one size kept for reuse (a store under churn allocates the
// same size again and again), at most this many.
constexpr size_t kPoolLimit = 1024;

[[maybe_unused]] size_t NextPowerOfTwo(size_t n) {
  size_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

}  // namespace

// One entry: a 32-byte header and, in the same allocation, its variable
// part. An int -> int entry is 40 bytes in all (a 48-byte malloc chunk).
//   [uint32 key length, uint32 value length]  only if either is >= 255
//   [shared_ptr<const void>]                   only if the value is an object
//   [key bytes] [value bytes]
struct ConcurrentStore::Node {
  Node* newer = nullptr;  // toward the queue's head; guarded by mu_
  Node* older = nullptr;  // toward the queue's tail; guarded by mu_
  int64_t expires_at_ms;  // -1: never
  uint32_t slot;          // where the table holds it; guarded by mu_
  uint8_t short_key_len;  // kLongLengths: the lengths are in the extra part
  uint8_t short_value_len;
  std::atomic<uint8_t> freq{0};  // hits, saturating; readers write it
  // kQueueMask | kHasObject | kDead | kMarked. Written by writers (under mu_)
  // while readers read kHasObject and kMarked (set before the node is
  // published, never changed): atomic so that the byte's other bits may change
  // meanwhile; relaxed, which on x86 is a plain byte load or store.
  std::atomic<uint8_t> bits{0};

  static constexpr uint8_t kLongLengths = 255;
  static constexpr uint8_t kQueueMask = 3;  // kNoQueue/kSmallQueue/kMainQueue
  static constexpr uint8_t kHasObject = 4;
  static constexpr uint8_t kDead = 8;     // out of the table, awaiting a grace
  static constexpr uint8_t kMarked = 16;  // Store's `marked`; never changed

  uint8_t load_bits() const { return bits.load(std::memory_order_relaxed); }
  void add_bits(uint8_t b) {  // writers only
    bits.store(static_cast<uint8_t>(load_bits() | b),
               std::memory_order_relaxed);
  }
  uint8_t queue() const { return load_bits() & kQueueMask; }
  void set_queue(uint8_t q) {  // writers only
    bits.store(static_cast<uint8_t>((load_bits() & ~kQueueMask) | q),
               std::memory_order_relaxed);
  }
  bool has_object() const { return load_bits() & kHasObject; }
  bool dead() const { return load_bits() & kDead; }
  bool marked() const { return load_bits() & kMarked; }
  bool long_lengths() const { return short_key_len == kLongLengths; }

  char* extra() { return reinterpret_cast<char*>(this + 1); }
  const char* extra() const { return reinterpret_cast<const char*>(this + 1); }
  uint32_t key_len() const {
    if (!long_lengths()) return short_key_len;
    uint32_t n;
    std::memcpy(&n, extra(), sizeof(n));
    return n;
  }
  uint32_t value_len() const {
    if (!long_lengths()) return short_value_len;
    uint32_t n;
    std::memcpy(&n, extra() + sizeof(uint32_t), sizeof(n));
    return n;
  }
  const char* object_at() const {
    return extra() + (long_lengths() ? 2 * sizeof(uint32_t) : 0);
  }
  const std::shared_ptr<const void>* object() const {
    return has_object() ? reinterpret_cast<const std::shared_ptr<const void>*>(
                              object_at())
                        : nullptr;
  }
  const char* key_data() const {
    return object_at() +
           (has_object() ? sizeof(std::shared_ptr<const void>) : 0);
  }
  std::string_view key() const { return {key_data(), key_len()}; }
  std::string_view value() const {
    return {key_data() + key_len(), value_len()};
  }

  // Bytes of a node with these parts.
  static size_t SizeFor(size_t key_len, size_t value_len, bool has_object) {
    const bool long_lengths =
        key_len >= kLongLengths || value_len >= kLongLengths;
    return sizeof(Node) + (long_lengths ? 2 * sizeof(uint32_t) : 0) +
           (has_object ? sizeof(std::shared_ptr<const void>) : 0) + key_len +
           value_len;
  }
  size_t size() const { return SizeFor(key_len(), value_len(), has_object()); }

  // Builds a node in `memory` (SizeFor bytes).
  static Node* Make(void* memory, std::string_view key, StoredValue&& value,
                    int64_t expires_at_ms, bool marked) {
    const bool has_object = value.object != nullptr;
    const bool long_lengths =
        key.size() >= kLongLengths || value.bytes.size() >= kLongLengths;
    Node* node = new (memory) Node;
    node->expires_at_ms = expires_at_ms;
    if (marked) node->add_bits(kMarked);
    node->slot = 0;
    if (long_lengths) {
      node->short_key_len = node->short_value_len = kLongLengths;
      const uint32_t lengths[2] = {static_cast<uint32_t>(key.size()),
                                   static_cast<uint32_t>(value.bytes.size())};
      std::memcpy(node->extra(), lengths, sizeof(lengths));
    } else {
      node->short_key_len = static_cast<uint8_t>(key.size());
      node->short_value_len = static_cast<uint8_t>(value.bytes.size());
    }
    if (has_object) {
      node->add_bits(kHasObject);
      new (const_cast<char*>(node->object_at()))
          std::shared_ptr<const void>(std::move(value.object));
    }
    char* key_at = const_cast<char*>(node->key_data());
    std::memcpy(key_at, key.data(), key.size());
    std::memcpy(key_at + key.size(), value.bytes.data(), value.bytes.size());
    return node;
  }

  // Destroys the node's object (if any), leaving raw memory.
  void Destroy() {
    if (has_object()) {
      using Ptr = std::shared_ptr<const void>;
      reinterpret_cast<Ptr*>(const_cast<char*>(object_at()))->~Ptr();
    }
    this->~Node();
  }
  static void Free(void* raw) {
    static_cast<Node*>(raw)->Destroy();
    ::operator delete(raw);
  }
};

// Open addressing with linear probing, any capacity (a key's home slot is
// its hash scaled to the capacity, so the table need not double: it is
// rebuilt at 60% full and grows to 85%). A slot holds a node pointer in its
// low 48 bits and 16 bits of the key's hash above them, so a probe
// passes other keys without touching their nodes. Readers load slots with
// acquire; the single writer (mu_) publishes a slot with release after the
// node is fully built. Never full, so every probe ends at an empty slot.
struct ConcurrentStore::Table {
  size_t capacity;
  size_t used = 0;  // slots not empty (live + tombstones); writer only
  std::atomic<uint64_t> slots[1];

  static constexpr uint64_t kEmpty = 0;
  static constexpr uint64_t kTombstone = 1;
  static constexpr uint64_t kPointerBits = (uint64_t{1} << 48) - 1;
  static uint64_t Pack(Node* node, uint64_t hash) {
    return Fingerprint(hash) | reinterpret_cast<uintptr_t>(node);
  }
  // The low 16 bits of the hash, above the pointer. (Not the top bits: they
  // choose the home slot, so keys probed together share them and a
  // fingerprint made of them would tell nothing apart.)
  static uint64_t Fingerprint(uint64_t hash) { return hash << 48; }
  static Node* NodeOf(uint64_t slot) {
    return reinterpret_cast<Node*>(static_cast<uintptr_t>(slot & kPointerBits));
  }
  static bool Live(uint64_t slot) { return slot > kTombstone; }
  // Whether `slot` may hold a key of `hash` (the top 16 bits agree).
  static bool MayHold(uint64_t slot, uint64_t hash) {
    return Live(slot) && (slot & ~kPointerBits) == Fingerprint(hash);
  }
  size_t Home(uint64_t hash) const {
    return static_cast<size_t>(
        (static_cast<unsigned __int128>(hash) * capacity) >> 64);
  }
  size_t Next(size_t i) const { return i + 1 == capacity ? 0 : i + 1; }
  size_t Prev(size_t i) const { return i == 0 ? capacity - 1 : i - 1; }

  static Table* Make(size_t capacity) {
    const size_t size = Bytes(capacity);
    // Big tables come straight from the kernel and go straight back to it:
    // from malloc, each table the store outgrew would stay in the process
    // as a hole of the heap.
    void* memory = size >= kMapAtBytes
                       ? mmap(nullptr, size, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                       : ::operator new(size);
    if (memory == MAP_FAILED) throw std::bad_alloc();
    Table* table = static_cast<Table*>(memory);
    table->capacity = capacity;
    table->used = 0;
    for (size_t i = 0; i < capacity; ++i) {
      new (&table->slots[i]) std::atomic<uint64_t>(kEmpty);
    }
    return table;
  }
  static void Free(void* raw) {
    Table* table = static_cast<Table*>(raw);
    const size_t size = Bytes(table->capacity);
    if (size >= kMapAtBytes) {
      munmap(raw, size);
    } else {
      ::operator delete(raw);
    }
  }
  static size_t Bytes(size_t capacity) {
    return sizeof(Table) + (capacity - 1) * sizeof(std::atomic<uint64_t>);
  }
  static constexpr size_t kMapAtBytes = size_t{1} << 20;
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
  static_assert(sizeof(Node) == 32, "a node's header is 32 bytes");
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
  for (size_t i = 0; i < table->capacity; ++i) {
    const uint64_t slot = table->slots[i].load(std::memory_order_relaxed);
    if (Table::Live(slot)) Node::Free(Table::NodeOf(slot));
  }
  Table::Free(table);
  for (size_t i = 0; i < retired_.size(); ++i) retired_free_[i](retired_[i]);
  for (void* p : pool_) ::operator delete(p);
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
  if (n > 0 && n < 4) {  // the first, middle and last bytes: all of them
    const uint64_t v = uint64_t{static_cast<unsigned char>(p[0])} << 16 |
                       uint64_t{static_cast<unsigned char>(p[n >> 1])} << 8 |
                       static_cast<unsigned char>(p[n - 1]);
    return absl::HashOf(v ^ (uint64_t{n} << 60));
  }
  return absl::Hash<absl::string_view>()(absl::string_view(p, n));
}

namespace {

// Equality of a node's key and a probe key of the same length; short keys
// (the common case: scalar arguments) without a call to memcmp.
inline bool SameBytes(const char* a, const char* b, size_t n) {
  if (n >= 8 && n <= 16) {  // two overlapping words
    uint64_t x0, y0, x1, y1;
    std::memcpy(&x0, a, 8);
    std::memcpy(&y0, b, 8);
    std::memcpy(&x1, a + n - 8, 8);
    std::memcpy(&y1, b + n - 8, 8);
    return ((x0 ^ y0) | (x1 ^ y1)) == 0;
  }
  if (n >= 4 && n < 8) {
    uint32_t x0, y0, x1, y1;
    std::memcpy(&x0, a, 4);
    std::memcpy(&y0, b, 4);
    std::memcpy(&x1, a + n - 4, 4);
    std::memcpy(&y1, b + n - 4, 4);
    return ((x0 ^ y0) | (x1 ^ y1)) == 0;
  }
  if (n < 4) {  // the first, middle and last bytes cover all of them
    return n == 0 ||
           (a[0] == b[0] && a[n >> 1] == b[n >> 1] && a[n - 1] == b[n - 1]);
  }
  return std::memcmp(a, b, n) == 0;
}

}  // namespace

bool ConcurrentStore::Expired(const Node& node, int64_t now) const {
  return node.expires_at_ms >= 0 && now >= node.expires_at_ms;
}

int64_t ConcurrentStore::ExpiryOf(int64_t now, int64_t ttl_ms) const {
  if (ttl_ms > 0 && (expire_ms_ < 0 || ttl_ms < expire_ms_)) {
    return now + ttl_ms;
  }
  return expire_ms_ < 0 ? -1 : now + expire_ms_;
}

inline __attribute__((always_inline)) ConcurrentStore::Node*
ConcurrentStore::Find(const Table& table, uint64_t hash, std::string_view key) {
  for (size_t i = table.Home(hash);; i = table.Next(i)) {
    const uint64_t slot = table.slots[i].load(std::memory_order_acquire);
    if (slot == Table::kEmpty) return nullptr;
    if (!Table::MayHold(slot, hash)) continue;
    Node* node = Table::NodeOf(slot);
    if (node->key_len() == key.size() &&
        SameBytes(node->key_data(), key.data(), key.size())) {
      return node;
    }
  }
}

namespace {

// ThreadSanitizer does not see liburcu's grace periods (the library is not
// instrumented): without these annotations it reports every free after
// urcu_bp_synchronize_rcu() as racing with the readers that finished before
// it. Each read-side critical section ends with a release on one sync
// object, and the writer acquires it after the grace period, which is
// exactly what the grace period guarantees. No code outside TSan builds.
#if defined(__SANITIZE_THREAD__)
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
char g_grace_period_sync;
void TsanReaderDone() { __tsan_release(&g_grace_period_sync); }
void TsanGracePeriodEnded() { __tsan_acquire(&g_grace_period_sync); }
#else
void TsanReaderDone() {}
void TsanGracePeriodEnded() {}
#endif

// Leaves the read-side critical section on every path out of a lookup.
class ReadSection {
 public:
  ReadSection() { urcu_bp_read_lock(); }
  ~ReadSection() {
    TsanReaderDone();
    urcu_bp_read_unlock();
  }
  ReadSection(const ReadSection&) = delete;
  ReadSection& operator=(const ReadSection&) = delete;
};

}  // namespace

// (Inlined into both lookups: a call here costs a MemoryCache hit 2 ns.)
template <bool kMarkedOnly>
ABSL_ATTRIBUTE_ALWAYS_INLINE inline ConcurrentStore::Found
ConcurrentStore::LookupImpl(std::string_view key, ValueVisitor visit,
                            void* context, Fence* fence) {
  if (fence != nullptr) {
    fence->local = clears_.load(std::memory_order_acquire);
    fence->remote = 0;
  }
  const uint64_t hash = Hash(key);
  ReadSection section;
  Node* node = Find(*table_.load(std::memory_order_acquire), hash, key);
  if (node == nullptr) return Found::kMiss;
  if (node->expires_at_ms >= 0 && clock_->NowMillis() >= node->expires_at_ms) {
    return Found::kMiss;  // expired: a miss (the writer removes it later)
  }
  std::string_view value = node->value();
  if constexpr (kMarkedOnly) {
    if (!node->marked()) return Found::kUnmarked;
    // Past the header: one length byte, then that many bytes.
    const size_t header =
        value.empty() ? 0 : 1 + static_cast<unsigned char>(value[0]);
    if (header == 0 || header > value.size()) return Found::kUnmarked;
    value.remove_prefix(header);
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
  visit(context, ValueView{object != nullptr ? object->get() : nullptr, value});
  return Found::kHit;
}

bool ConcurrentStore::Lookup(std::string_view key, ValueVisitor visit,
                             void* context, Fence* fence) {
  return LookupImpl<false>(key, visit, context, fence) == Found::kHit;
}

ConcurrentStore::Found ConcurrentStore::LookupMarked(std::string_view key,
                                                     ValueVisitor visit,
                                                     void* context,
                                                     Fence* fence) {
  return LookupImpl<true>(key, visit, context, fence);
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
  if (node->dead() || small_.head == node) return;
  Unlink(node);
  PushHead(small_, node, kSmallQueue);
}

void ConcurrentStore::Unlink(Node* node) {
  Queue& queue = node->queue() == kMainQueue ? main_ : small_;
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
  node->set_queue(kNoQueue);
  --queue.size;
}

void ConcurrentStore::PushHead(Queue& queue, Node* node, uint8_t which) {
  node->set_queue(which);
  node->newer = nullptr;
  node->older = queue.head;
  if (queue.head != nullptr) queue.head->newer = node;
  queue.head = node;
  if (queue.tail == nullptr) queue.tail = node;
  ++queue.size;
}

void ConcurrentStore::Retire(Node* node) {
  Table* table = table_.load(std::memory_order_relaxed);
  const size_t i = node->slot;
  if (table->slots[table->Next(i)].load(std::memory_order_relaxed) ==
      Table::kEmpty) {
    // Every probe that reaches slot i stops at the empty slot after it, so
    // the slot can be empty too, and so can the tombstones right before it
    // (no key lies beyond them). Readers see no difference, and churn (a
    // store and an eviction per miss) leaves fewer tombstones to lengthen
    // probes and force rebuilds. (Moving keys back instead, as backward-shift
    // deletion does, measured no cheaper: each move rehashes a key.)
    table->slots[i].store(Table::kEmpty, std::memory_order_release);
    --table->used;
    for (size_t p = table->Prev(i);
         table->slots[p].load(std::memory_order_relaxed) == Table::kTombstone;
         p = table->Prev(p)) {
      table->slots[p].store(Table::kEmpty, std::memory_order_release);
      --table->used;
    }
  } else {
    table->slots[i].store(Table::kTombstone, std::memory_order_release);
  }
  if (node->queue() != kNoQueue) Unlink(node);
  node->add_bits(Node::kDead);
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
  if (to_ghost) AddToGhost(Hash(node->key()));
  Retire(node);
  evictions_.fetch_add(1, std::memory_order_relaxed);
}

void ConcurrentStore::EvictFromSmall(int64_t now) {
  while (small_.tail != nullptr) {
    Node* tail = small_.tail;
    const bool expired = Expired(*tail, now);
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
    const bool expired = Expired(*tail, now);
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
  if ((table->used + 1) * 100 <= table->capacity * 85) return;
  // Rebuilt 60% full (any capacity, not a power of two: 13 bytes of table
  // per entry at most), which also drops every tombstone.
  const size_t capacity =
      std::max(kMinTableSize, static_cast<size_t>(count_ + 1) * 100 / 60 + 1);
  Table* bigger = Table::Make(capacity);
  for (size_t i = 0; i < table->capacity; ++i) {
    const uint64_t slot = table->slots[i].load(std::memory_order_relaxed);
    if (!Table::Live(slot)) continue;
    Node* node = Table::NodeOf(slot);
    const uint64_t hash = Hash(node->key());
    size_t j = bigger->Home(hash);
    while (bigger->slots[j].load(std::memory_order_relaxed) != Table::kEmpty) {
      j = bigger->Next(j);
    }
    bigger->slots[j].store(Table::Pack(node, hash), std::memory_order_relaxed);
    node->slot = static_cast<uint32_t>(j);
    ++bigger->used;
  }
  table_.store(bigger, std::memory_order_release);
  retired_.push_back(table);
  retired_free_.push_back(&Table::Free);
  reclaim_now_ = true;  // a table is big: free it at once, not in a batch
}

void ConcurrentStore::Insert(Node* node, uint64_t hash) {
  GrowIfNeeded();
  Table* table = table_.load(std::memory_order_relaxed);
  size_t free_slot = SIZE_MAX;
  for (size_t i = table->Home(hash);; i = table->Next(i)) {
    const uint64_t slot = table->slots[i].load(std::memory_order_relaxed);
    if (slot == Table::kEmpty) {
      if (free_slot == SIZE_MAX) {
        free_slot = i;
        ++table->used;
      }
      break;
    }
    if (slot == Table::kTombstone) {
      if (free_slot == SIZE_MAX) free_slot = i;
      continue;
    }
    Node* at = Table::NodeOf(slot);
    if (Table::MayHold(slot, hash) && at->key() == node->key()) {
      // Replaced: the new node takes the old one's place and history.
      node->freq.store(at->freq.load(std::memory_order_relaxed),
                       std::memory_order_relaxed);
      const uint8_t queue = at->queue();
      node->slot = static_cast<uint32_t>(i);
      table->slots[i].store(Table::Pack(node, hash), std::memory_order_release);
      if (queue != kNoQueue) Unlink(at);
      at->add_bits(Node::kDead);
      retired_.push_back(at);
      retired_free_.push_back(&Node::Free);
      PushHead(queue == kMainQueue ? main_ : small_, node,
               queue == kMainQueue ? kMainQueue : kSmallQueue);
      return;
    }
  }
  node->slot = static_cast<uint32_t>(free_slot);
  table->slots[free_slot].store(Table::Pack(node, hash),
                                std::memory_order_release);
  ++count_;
  const bool to_main = policy_ == EvictionPolicy::kS3Fifo && InGhost(hash);
  PushHead(to_main ? main_ : small_, node, to_main ? kMainQueue : kSmallQueue);
}

bool ConcurrentStore::Store(std::string_view key, StoredValue value,
                            const Fence* fence, bool marked) {
  const int64_t now = clock_->NowMillis();
  const uint64_t hash = Hash(key);
  const size_t size =
      Node::SizeFor(key.size(), value.bytes.size(), value.object != nullptr);
  std::unique_lock<std::mutex> lock(mu_);
  if (fence != nullptr &&
      fence->local != clears_.load(std::memory_order_relaxed)) {
    return false;  // cleared since the lookup: the value may predate it
  }
  void* memory;
  if (size == pool_bytes_ && !pool_.empty()) {
    memory = pool_.back();  // a freed node of the same size
    pool_.pop_back();
  } else {
    memory = ::operator new(size);
  }
  const int64_t expires_at = ExpiryOf(now, value.ttl_ms);
  Node* node = Node::Make(memory, key, std::move(value), expires_at, marked);
  Insert(node, hash);
  EvictToLimit(now);
  MaybeReclaim(lock, /*force=*/false);
  return true;
}

template <typename Pred>
int64_t ConcurrentStore::RemoveIf(Pred remove, int64_t now) {
  clears_.store(clears_.load(std::memory_order_relaxed) + 1,
                std::memory_order_release);
  // Matches are listed first (from the queues), then removed: the table is
  // not scanned while it changes.
  std::vector<Node*> doomed;
  for (const Queue* queue : {&small_, &main_}) {
    for (Node* node = queue->tail; node != nullptr; node = node->newer) {
      if (remove(node->key())) doomed.push_back(node);
    }
  }
  int64_t live = 0;
  for (Node* node : doomed) {
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

int64_t ConcurrentStore::Invalidate(std::string_view key) {
  const int64_t now = clock_->NowMillis();
  const uint64_t hash = Hash(key);
  std::unique_lock<std::mutex> lock(mu_);
  // Moved even when the key is absent: a computation of `key` whose lookup
  // came before must not store (it may predate what made the caller
  // invalidate).
  clears_.store(clears_.load(std::memory_order_relaxed) + 1,
                std::memory_order_release);
  Node* node = Find(*table_.load(std::memory_order_relaxed), hash, key);
  if (node == nullptr) return 0;
  const int64_t live = Expired(*node, now) ? 0 : 1;
  Retire(node);
  MaybeReclaim(lock, /*force=*/false);
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
  if (retired_.empty() ||
      (!force && !reclaim_now_ && retired_.size() < kReclaimBatch)) {
    return;
  }
  // Waiting for readers from inside a read-side critical section (a visitor
  // that stores) would wait for ourselves: leave it for a later call.
  if (urcu_bp_read_ongoing()) return;
  std::vector<void*> items;
  std::vector<void (*)(void*)> frees;
  items.swap(retired_);
  frees.swap(retired_free_);
  reclaim_now_ = false;
  lock.unlock();
  urcu_bp_synchronize_rcu();  // every reader that could see them is done
  TsanGracePeriodEnded();
  // Nodes of the common size are kept for reuse (the memory only: their
  // objects are destroyed here, outside the lock, since destructors are
  // user code); the rest is freed.
  std::vector<void*> reusable;
  size_t reusable_bytes = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    if (frees[i] != &Node::Free) {
      frees[i](items[i]);
      continue;
    }
    Node* node = static_cast<Node*>(items[i]);
    const size_t size = node->size();
    node->Destroy();
    if (reusable.empty()) reusable_bytes = size;
    if (size == reusable_bytes && reusable.size() < kPoolLimit) {
      reusable.push_back(node);
    } else {
      ::operator delete(node);
    }
  }
  lock.lock();
  if (reusable.empty()) return;
  if (reusable_bytes != pool_bytes_) {
    for (void* p : pool_) ::operator delete(p);
    pool_.clear();
    pool_bytes_ = reusable_bytes;
  }
  for (void* p : reusable) {
    if (pool_.size() < kPoolLimit) {
      pool_.push_back(p);
    } else {
      ::operator delete(p);
    }
  }
}

}  // namespace memory
}  // namespace cache_alchemy
