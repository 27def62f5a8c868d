// File: backends/memory/push_invalidation.h
// -----------------------------------------------------------------------------
//
// The push side of DistributedMemoryCache (docs/design.md, "Push
// invalidation"): the invalidation messages that clears publish, and the
// per-client `Invalidator` that listens for them on one pub/sub connection
// and drops the matching local entries.
//
//   auto inv = std::make_shared<Invalidator>(client, counters);
//   std::shared_ptr<LocalStore> store =
//       inv->OpenStore(spec, clock);        // subscribes to the prefix channel
//   if (Invalidator::Live(*store->channel)) { /* serve local entries */ }
//
// Built into the plugin library `cache_alchemy.backends.memory.so`; for that
// library and its tests only.

#ifndef CACHE_ALCHEMY_BACKENDS_MEMORY_PUSH_INVALIDATION_H_
#define CACHE_ALCHEMY_BACKENDS_MEMORY_PUSH_INVALIDATION_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "backends/memory/concurrent_store.h"
#include "core/backend.h"
#include "core/internal/striped_counters.h"
#include "core/redis_client.h"

namespace cache_alchemy {
namespace memory {

// What one clear removed, as published on the prefix's channel. Encoded as
// varint-length-prefixed fields: origin (8 bytes), kind, then the name
// (kFull, kPartial, kKey), then one field per pattern slot ("*" any, "=" +
// bytes) for kPartial, or the key for kKey.
struct Invalidation {
  enum class Kind : char {
    kFull = 'F',
    kPartial = 'P',
    kFlush = 'X',
    kKey = 'K',  // one entry (CacheNamespace::Invalidate)
  };
  uint64_t origin = 0;  // the publishing Invalidator, to skip its own
  Kind kind = Kind::kFull;
  std::string name;    // the function (kFull, kPartial, kKey)
  KeyPattern pattern;  // kPartial
  std::string key;     // kKey: the entry's key
};
std::string EncodeInvalidation(const Invalidation& message);
// False (and `*message` unspecified) on malformed input.
bool DecodeInvalidation(std::string_view bytes, Invalidation* message);

// "{prefix}cache_alchemy:invalidations".
std::string InvalidationChannel(const std::string& prefix);

// The stripes of this library's threads (core/internal/striped_counters.h).
struct PushStripes;

// A counter bumped on every local hit, from every thread: striped (each
// thread adds to its own cache line, without a locked instruction while it
// owns its stripe; a read sums them), because one shared atomic would bounce
// between cores and stop hits from scaling. Thread safety: Add and load may
// be called from any thread at once.
class StripedCounter {
 public:
  void Add() { counters_.Add(0); }
  int64_t load() const { return counters_.Sum(0); }

 private:
  internal::StripedCounters<1, PushStripes> counters_;
};

// Counters of one backend object, shared by its invalidators and
// namespaces (`Backend::Stats`).
struct PushCounters {
  StripedCounter local_hits;              // served without a round trip
  std::atomic<int64_t> verified_hits{0};  // served after a GET (not live)
  std::atomic<int64_t> invalidations_received{0};  // from other processes
  std::atomic<int64_t> subscriptions{0};    // OnSubscribed, every channel
  std::atomic<int64_t> resubscriptions{0};  // OnSubscribed after a loss
  std::atomic<int64_t> disconnects{0};      // OnDisconnected
  std::atomic<int64_t> refused_stores{0};   // invalidated while computing
};

// One prefix's channel in one Invalidator.
// How long the first open of a channel waits for its subscription.
inline constexpr int64_t kSubscribeWaitMs = 2000;

struct Channel {
  std::string name;
  // Nonzero while subscribed: the epoch of the current subscription. Every
  // (re)subscription gets a new one. Zero while down.
  std::atomic<uint64_t> live_epoch{0};
};

// The local entries of one function (per client, prefix and function id),
// shared by every namespace opened for it. Entries stored while the channel
// was subscribed are marked (ConcurrentStore's mark) and hold the value's
// bytes; the others hold the Redis token, then the value's bytes
// (distributed_memory_cache.cc). Keys are text (the backend's key format).
struct LocalStore {
  LocalStore(const NamespaceSpec& spec, const Clock* clock, Channel* channel)
      : store(ConcurrentStore::Options{.limit = spec.limit,
                                       .expire_seconds = spec.expire_seconds,
                                       .clock = clock,
                                       .key_format = KeyFormat::kText,
                                       .policy = spec.eviction}),
        channel(channel) {}

  // Drops the entries matching `pattern` (all when null). Every
  // invalidation (received or local) and every change of subscription
  // state goes through here, moving the store's clear counter, so a
  // computation that began before cannot store (ConcurrentStore's fence).
  void Invalidate(const KeyPattern* pattern);
  // Drops the entry of `key`, moving the clear counter like Invalidate.
  void InvalidateKey(std::string_view key);

  ConcurrentStore store;
  Channel* const channel;  // owned by the Invalidator
};

// One subscriber connection per RedisClient in this process, started with
// the first store opened, and the local stores it keeps honest.
//
// Thread safety: every method may be called from any thread; the listener
// methods are called by the subscription's thread.
class Invalidator final : public RedisSubscriptionListener {
 public:
  Invalidator(std::shared_ptr<RedisClient> client,
              std::shared_ptr<PushCounters> counters);
  ~Invalidator() override;

  // The store of `spec` (shared with earlier opens while alive); subscribes
  // to the prefix's channel. The first open of a channel waits (at most
  // kSubscribeWait) until it is subscribed or the connection failed, so
  // the first values stored are already served locally.
  std::shared_ptr<LocalStore> OpenStore(const NamespaceSpec& spec,
                                        const Clock* clock);

  // True when `channel` is subscribed in this process now. Inline, one
  // load: every DistributedMemoryCache hit asks. In a child after fork()
  // it is false until the child has subscribed anew (the atfork child
  // handler sets every channel down; CheckFork starts the new
  // subscription).
  static bool Live(const Channel& channel) {
    return channel.live_epoch.load(std::memory_order_acquire) != 0;
  }
  // In a child after fork(), the first call forgets the parent's
  // subscription and starts the child's own (stores and lookups that
  // cannot be served locally call it before they go to Redis). Cheap
  // otherwise: two loads.
  void CheckFork() {
    if (ABSL_PREDICT_FALSE(fork_generation_.load(std::memory_order_acquire) !=
                           forks_.load(std::memory_order_relaxed))) {
      RestartInChild();
    }
  }

  // Drops this process's entries after a clear made here (the published
  // message is skipped by this invalidator when it comes back).
  void Apply(const std::string& channel, const Invalidation& message);

  uint64_t origin() const { return origin_.load(std::memory_order_relaxed); }
  int64_t live_channels();

  void OnSubscribed(const std::string& channel) override;
  void OnMessage(const std::string& channel,
                 const std::string& payload) override;
  void OnDisconnected(const std::string& error) override;

  // pthread_atfork handlers (registered with the first Invalidator).
  static void BeforeFork();
  static void AfterFork();
  static void AfterForkInChild();

 private:
  struct ChannelSlot {
    std::unique_ptr<Channel> channel;
    bool ever_subscribed = false;
    absl::flat_hash_map<std::string, std::weak_ptr<LocalStore>> stores;
    size_t prune_at = 64;  // forget dead stores when there are this many
  };
  // Drops every local entry under `slot` (state change: nothing is vouched
  // for any more).
  static void DropAll(ChannelSlot& slot);
  // In a child after fork(): forgets the parent's subscription and starts a
  // new one. REQUIRES: mu_ held.
  void RestartAfterFork() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // CheckFork's slow path: takes mu_ and runs RestartAfterFork, unless
  // another thread of the child did already.
  ABSL_ATTRIBUTE_NOINLINE void RestartInChild();

  // Bumped in every child process right after fork(): an Invalidator whose
  // fork_generation_ differs belongs to the parent's subscriber thread,
  // which does not exist here.
  static inline std::atomic<uint64_t> forks_{0};

  const std::shared_ptr<RedisClient> client_;
  const std::shared_ptr<PushCounters> counters_;
  std::atomic<uint64_t> origin_;
  std::atomic<uint64_t> fork_generation_;

  absl::Mutex mu_;
  uint64_t next_epoch_ ABSL_GUARDED_BY(mu_) = 1;
  // OnDisconnected calls so far, and whether the connection is down now.
  int64_t losses_ ABSL_GUARDED_BY(mu_) = 0;
  bool down_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<std::string, ChannelSlot> channels_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<RedisSubscription> subscription_ ABSL_GUARDED_BY(mu_);
};

}  // namespace memory
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_BACKENDS_MEMORY_PUSH_INVALIDATION_H_
