// File: backends/memory/concurrent_store.h
// -----------------------------------------------------------------------------
//
// The in-process store of one cached function, shared by MemoryCache and
// DistributedMemoryCache: a hash table whose lookups take no lock and write
// nothing shared (so hits scale with cores), with TTL, a `limit` enforced by
// S3-FIFO (or LRU, on request) and the fence of the plugin ABI.
//
//   ConcurrentStore store({.limit = 1000, .expire_seconds = 60,
//                          .clock = host.clock});
//   Fence fence;
//   if (!store.Lookup(key, visit, context, &fence)) {
//     store.Store(key, value, &fence);  // refused if a clear came in between
//   }
//
// How it works (docs/design.md, "The in-process store"):
//   - Readers run inside a userspace-RCU read-side critical section
//     (liburcu's "bulletproof" flavor: no thread registration, no atomic
//     read-modify-write and, with sys_membarrier, no fence on the read side).
//     They probe an open-addressing table of node pointers and copy the value
//     out through the visitor. Nodes and tables that writers unlink are freed
//     only after a grace period, so a reader never touches freed memory.
//   - Writers (store, clear, eviction) hold the store's mutex. A hit's only
//     write is a saturating 2-bit frequency counter in its node (S3-FIFO),
//     which stops changing after the entry's third hit; with LRU a hit takes
//     the mutex to move the entry (LRU does not scale with cores).
//   - S3-FIFO (Yang et al., SOSP 2023): new entries enter a small FIFO queue
//     (10% of `limit`); an entry leaving it is promoted to the main queue if
//     it was hit, else forgotten (its fingerprint kept in a ghost table, and
//     a key found there enters the main queue directly). The main queue gives
//     hit entries another round (decrementing their counter). One-pass scans
//     therefore wash through the small queue without evicting the working
//     set.
//
// Thread safety: every method may be called from any thread at once, and
// from inside a visitor (reentrant calls never wait for a grace period).
//
// Built into the plugin library `cache_alchemy.backends.memory.so`; this
// header is for that library and its tests only.

#ifndef CACHE_ALCHEMY_BACKENDS_MEMORY_CONCURRENT_STORE_H_
#define CACHE_ALCHEMY_BACKENDS_MEMORY_CONCURRENT_STORE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "core/backend.h"

namespace cache_alchemy {
namespace memory {

class ConcurrentStore {
 public:
  struct Options {
    int64_t limit = -1;            // max entries (> 0) or -1 (unlimited)
    int64_t expire_seconds = -1;   // > 0, or -1 for never
    const Clock* clock = nullptr;  // must outlive the store; never null
    KeyFormat key_format = KeyFormat::kBinary;  // for partial clears
    EvictionPolicy policy = EvictionPolicy::kS3Fifo;
  };

  explicit ConcurrentStore(Options options);
  ~ConcurrentStore();
  ConcurrentStore(const ConcurrentStore&) = delete;
  ConcurrentStore& operator=(const ConcurrentStore&) = delete;

  // As CacheNamespace::Lookup. The fence's `local` is the clear counter.
  bool Lookup(std::string_view key, ValueVisitor visit, void* context,
              Fence* fence);
  // What LookupMarked found.
  enum class Found { kMiss, kHit, kUnmarked };
  // Like Lookup, but serves only an entry stored `marked`, whose value
  // starts with a header (one length byte, then that many bytes): the
  // visitor sees the bytes after it. An unmarked entry (or a marked one too
  // short for its header) is neither visited nor counted as a hit, and
  // kUnmarked is returned. (DistributedMemoryCache marks what it stored
  // while subscribed; the header is the entry's Redis token.)
  Found LookupMarked(std::string_view key, ValueVisitor visit, void* context,
                     Fence* fence);
  // Like Lookup, but copies the value out (sharing its object) instead of
  // visiting it, and does not count as a hit for eviction: for callers that
  // must check a value elsewhere before serving it. Returns false on a miss.
  bool Copy(std::string_view key, StoredValue* out, Fence* fence);
  // As CacheNamespace::Store: with `fence`, refused (false) if a clear came
  // since its lookup. Evicts down to `limit`. A `value.ttl_ms` shorter than
  // `expire_seconds` is the entry's lifetime. `marked` is kept with the
  // entry for LookupMarked (one bit: no memory).
  bool Store(std::string_view key, StoredValue value, const Fence* fence,
             bool marked = false);
  // All three return the number of live (unexpired) entries removed, and
  // fence (every store whose lookup came before is refused: Invalidate moves
  // the same counter as the clears).
  int64_t Clear();
  int64_t ClearMatching(const KeyPattern& pattern);
  int64_t Invalidate(std::string_view key);
  // Live (unexpired) entries.
  int64_t Size();
  // The clear counter: changes whenever entries may have been removed by a
  // clear. Lock-free.
  uint64_t clears() const { return clears_.load(std::memory_order_acquire); }
  // Entries evicted at `limit` since creation.
  int64_t evictions() const {
    return evictions_.load(std::memory_order_relaxed);
  }

 private:
  struct Node;
  struct Table;
  struct Queue {
    Node* head = nullptr;  // newest
    Node* tail = nullptr;  // oldest
    int64_t size = 0;
  };

  static uint64_t Hash(std::string_view key);
  template <bool kMarkedOnly>
  Found LookupImpl(std::string_view key, ValueVisitor visit, void* context,
                   Fence* fence);
  bool Expired(const Node& node, int64_t now) const;
  // When an entry stored at `now` expires (-1: never); `ttl_ms` > 0
  // shortens the store's expiry.
  int64_t ExpiryOf(int64_t now, int64_t ttl_ms) const;
  // Reader side (inside a read-side critical section).
  static Node* Find(const Table& table, uint64_t hash, std::string_view key);
  // Writer side. REQUIRES: mu_ held (for all below).
  void Insert(Node* node, uint64_t hash);
  void Unlink(Node* node);  // from its queue
  void PushHead(Queue& queue, Node* node, uint8_t which);
  void Retire(Node* node);  // out of the table and its queue, freed later
  void EvictToLimit(int64_t now);
  void EvictFromSmall(int64_t now);
  void EvictFromMain(int64_t now);
  void EvictFromLru();
  void Forget(Node* node, bool to_ghost);
  bool InGhost(uint64_t hash) const;
  void AddToGhost(uint64_t hash);
  void GrowIfNeeded();
  template <typename Pred>
  int64_t RemoveIf(Pred remove, int64_t now);
  void Touch(Node* node);  // LRU: move to head
  // Frees what is retired once no reader can hold it. Called with `lock`
  // held; may release and retake it.
  void MaybeReclaim(std::unique_lock<std::mutex>& lock, bool force);

  const int64_t limit_;
  const int64_t expire_ms_;
  const Clock* const clock_;
  const KeyFormat key_format_;
  const EvictionPolicy policy_;
  const int64_t small_capacity_;  // S3-FIFO: entries of the small queue

  // Written under mu_, read by readers (RCU-published).
  std::atomic<Table*> table_;
  std::atomic<uint64_t> clears_{0};
  std::atomic<int64_t> evictions_{0};

  std::mutex mu_;
  // Guarded by mu_.
  Queue small_;                  // S3-FIFO small queue; LRU: the only queue
  Queue main_;                   // S3-FIFO main queue
  int64_t count_ = 0;            // entries in the table (expired ones included)
  std::vector<uint32_t> ghost_;  // fingerprints; 0 = empty
  std::vector<void*> retired_;   // nodes and tables waiting for a grace period
  std::vector<void (*)(void*)> retired_free_;
  bool reclaim_now_ = false;  // something big is retired
  std::vector<void*> pool_;   // freed nodes of pool_bytes_ bytes, for reuse
  size_t pool_bytes_ = 0;
};

}  // namespace memory
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_BACKENDS_MEMORY_CONCURRENT_STORE_H_
