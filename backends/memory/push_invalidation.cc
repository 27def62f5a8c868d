// Push invalidation for DistributedMemoryCache: messages and the subscriber.

#include "backends/memory/push_invalidation.h"

#include <pthread.h>
#include <sys/random.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <mutex>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "core/strict_key.h"

namespace cache_alchemy {
namespace memory {

namespace {

// Every live Invalidator, so fork() can take their locks first.
absl::Mutex g_registry_mu(absl::kConstInit);
std::set<Invalidator*>* g_invalidators ABSL_GUARDED_BY(g_registry_mu) = nullptr;

// In a child right after fork(): getrandom(2) is a plain system call, safe
// where std::random_device might not be.
uint64_t OriginAfterFork() {
  uint64_t value = 0;
  if (getrandom(&value, sizeof(value), GRND_NONBLOCK) != sizeof(value)) {
    value = static_cast<uint64_t>(
        std::chrono::steady_clock::now().time_since_epoch().count());
  }
  value ^= static_cast<uint64_t>(getpid()) << 17;
  return value == 0 ? 1 : value;
}

}  // namespace

// Before fork(): holds every invalidator's lock (and the registry's), so no
// subscriber thread is inside a message (holding store locks) at the moment
// the process is copied; released in parent and child right after.
void Invalidator::BeforeFork() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  g_registry_mu.Lock();
  if (g_invalidators == nullptr) return;
  for (Invalidator* inv : *g_invalidators) inv->mu_.Lock();
}

void Invalidator::AfterFork() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  if (g_invalidators != nullptr) {
    for (Invalidator* inv : *g_invalidators) inv->mu_.Unlock();
  }
  g_registry_mu.Unlock();
}

void Invalidator::AfterForkInChild() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  forks_.fetch_add(1, std::memory_order_relaxed);
  // A new identity before the child can do anything: a clear the child
  // publishes must not carry the parent's origin (the parent would skip it
  // as its own), whatever the child's first operation is.
  // And no channel is live here: the parent's subscriber thread is not in
  // the child, so no local entry may be served unchecked until the child
  // has subscribed itself (CheckFork starts that; the subscription then
  // drops the inherited entries before it sets the channel live). Every
  // invalidator's lock is held here (BeforeFork).
  if (g_invalidators != nullptr) {
    for (Invalidator* inv : *g_invalidators) {
      inv->origin_.store(OriginAfterFork(), std::memory_order_relaxed);
      for (auto& [name, slot] : inv->channels_) {
        slot.channel->live_epoch.store(0, std::memory_order_release);
      }
    }
  }
  AfterFork();
}

namespace {

void Register(Invalidator* inv, bool add) {
  static std::once_flag once;
  std::call_once(once, [] {
    pthread_atfork(&Invalidator::BeforeFork, &Invalidator::AfterFork,
                   &Invalidator::AfterForkInChild);
  });
  absl::MutexLock lock(&g_registry_mu);
  if (g_invalidators == nullptr) g_invalidators = new std::set<Invalidator*>();
  if (add) {
    g_invalidators->insert(inv);
  } else {
    g_invalidators->erase(inv);
  }
}

uint64_t RandomOrigin() {
  std::random_device device;
  uint64_t value = (static_cast<uint64_t>(device()) << 32) ^ device();
  value ^= static_cast<uint64_t>(getpid()) << 17;
  value ^= static_cast<uint64_t>(
      std::chrono::steady_clock::now().time_since_epoch().count());
  return value == 0 ? 1 : value;
}

void AppendField(std::string_view field, std::string* out) {
  AppendVarint(field.size(), out);
  out->append(field);
}

bool ReadField(std::string_view* in, std::string_view* field) {
  uint64_t size = 0;
  if (!ReadVarint(in, &size) || size > in->size()) return false;
  *field = in->substr(0, size);
  in->remove_prefix(size);
  return true;
}

}  // namespace

std::string EncodeInvalidation(const Invalidation& message) {
  std::string out;
  char origin[8];
  std::memcpy(origin, &message.origin, sizeof(origin));
  AppendField(std::string_view(origin, sizeof(origin)), &out);
  const char kind = static_cast<char>(message.kind);
  AppendField(std::string_view(&kind, 1), &out);
  if (message.kind == Invalidation::Kind::kFlush) return out;
  AppendField(message.name, &out);
  if (message.kind == Invalidation::Kind::kKey) {
    AppendField(message.key, &out);
    return out;
  }
  if (message.kind != Invalidation::Kind::kPartial) return out;
  for (const auto& slot : message.pattern.segments) {
    AppendField(slot.has_value() ? "=" + *slot : std::string("*"), &out);
  }
  return out;
}

bool DecodeInvalidation(std::string_view in, Invalidation* message) {
  std::string_view field;
  if (!ReadField(&in, &field) || field.size() != 8) return false;
  std::memcpy(&message->origin, field.data(), 8);
  if (!ReadField(&in, &field) || field.size() != 1) return false;
  message->kind = static_cast<Invalidation::Kind>(field[0]);
  message->name.clear();
  message->pattern.segments.clear();
  message->key.clear();
  switch (message->kind) {
    case Invalidation::Kind::kFlush:
      return in.empty();
    case Invalidation::Kind::kFull:
      if (!ReadField(&in, &field)) return false;
      message->name = std::string(field);
      return in.empty();
    case Invalidation::Kind::kKey:
      if (!ReadField(&in, &field)) return false;
      message->name = std::string(field);
      if (!ReadField(&in, &field)) return false;
      message->key = std::string(field);
      return in.empty();
    case Invalidation::Kind::kPartial:
      if (!ReadField(&in, &field)) return false;
      message->name = std::string(field);
      while (!in.empty()) {
        if (!ReadField(&in, &field) || field.empty()) return false;
        if (field == "*") {
          message->pattern.segments.emplace_back(std::nullopt);
        } else if (field[0] == '=') {
          message->pattern.segments.emplace_back(std::string(field.substr(1)));
        } else {
          return false;
        }
      }
      return true;
  }
  return false;
}

std::string InvalidationChannel(const std::string& prefix) {
  return prefix + "cache_alchemy:invalidations";
}

void LocalStore::InvalidateKey(std::string_view key) { store.Invalidate(key); }

void LocalStore::Invalidate(const KeyPattern* pattern) {
  if (pattern != nullptr) {
    store.ClearMatching(*pattern);
  } else {
    store.Clear();
  }
}

Invalidator::Invalidator(std::shared_ptr<RedisClient> client,
                         std::shared_ptr<PushCounters> counters)
    : client_(std::move(client)),
      counters_(std::move(counters)),
      origin_(RandomOrigin()),
      fork_generation_(forks_.load(std::memory_order_relaxed)) {
  Register(this, true);
}

Invalidator::~Invalidator() {
  Register(this, false);
  std::unique_ptr<RedisSubscription> subscription;
  {
    absl::MutexLock lock(&mu_);
    subscription = std::move(subscription_);
  }
  if (fork_generation_.load() != forks_.load()) {
    subscription.release();  // the parent's: no thread here to stop
  }
  subscription.reset();  // joins the thread: no callback after this
}

std::shared_ptr<LocalStore> Invalidator::OpenStore(const NamespaceSpec& spec,
                                                   const Clock* clock) {
  const std::string channel_name = InvalidationChannel(spec.prefix);
  absl::MutexLock lock(&mu_);
  if (fork_generation_.load() != forks_.load()) {
    RestartAfterFork();
  }
  auto [it, inserted] = channels_.try_emplace(channel_name);
  ChannelSlot& slot = it->second;
  if (inserted) {
    slot.channel = std::make_unique<Channel>();
    slot.channel->name = channel_name;
  }
  if (slot.stores.size() >= slot.prune_at) {
    absl::erase_if(slot.stores,
                   [](const auto& kv) { return kv.second.expired(); });
    slot.prune_at = 2 * slot.stores.size() + 64;
  }
  std::shared_ptr<LocalStore> store = slot.stores[spec.name].lock();
  if (store == nullptr) {
    store = std::make_shared<LocalStore>(spec, clock, slot.channel.get());
    slot.stores[spec.name] = store;
  }
  if (!inserted) return store;
  const bool fresh_connection = subscription_ == nullptr;
  if (fresh_connection) {
    subscription_ = client_->Subscribe({channel_name}, this);
  } else {
    subscription_->AddChannel(channel_name);
  }
  // Wait until subscribed, or the connection failed (then stores fall back
  // to per-hit checks and the subscription keeps retrying by itself).
  struct Wait {
    Invalidator* self;
    Channel* channel;
    int64_t losses_before;
    bool fresh_connection;
    static bool Done(Wait* w) ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return w->channel->live_epoch.load() != 0 ||
             w->self->losses_ > w->losses_before ||
             (!w->fresh_connection && w->self->down_);
    }
  } wait{this, slot.channel.get(), losses_, fresh_connection};
  mu_.AwaitWithTimeout(absl::Condition(&Wait::Done, &wait),
                       absl::Milliseconds(kSubscribeWaitMs));
  return store;
}

void Invalidator::RestartInChild() {
  absl::MutexLock lock(&mu_);
  if (fork_generation_.load() != forks_.load()) RestartAfterFork();
}

void Invalidator::RestartAfterFork() {
  subscription_.release();  // the parent's thread and connection: not ours
  // (The origin was renewed by the atfork handler already.)
  std::vector<std::string> names;
  for (auto& [name, slot] : channels_) {
    // Inherited copies are checked against Redis per hit until the child's
    // own subscription holds (which then drops them).
    slot.channel->live_epoch.store(0, std::memory_order_release);
    names.push_back(name);
  }
  fork_generation_.store(forks_.load());
  if (!names.empty()) subscription_ = client_->Subscribe(names, this);
}

void Invalidator::DropAll(ChannelSlot& slot) {
  for (auto it = slot.stores.begin(); it != slot.stores.end();) {
    if (std::shared_ptr<LocalStore> store = it->second.lock()) {
      store->Invalidate(nullptr);
      ++it;
    } else {
      slot.stores.erase(it++);
    }
  }
}

void Invalidator::Apply(const std::string& channel,
                        const Invalidation& message) {
  absl::MutexLock lock(&mu_);
  auto it = channels_.find(channel);
  if (it == channels_.end()) return;
  ChannelSlot& slot = it->second;
  if (message.kind == Invalidation::Kind::kFlush) {
    DropAll(slot);
    return;
  }
  auto store_it = slot.stores.find(message.name);
  if (store_it == slot.stores.end()) return;
  if (std::shared_ptr<LocalStore> store = store_it->second.lock()) {
    if (message.kind == Invalidation::Kind::kKey) {
      store->InvalidateKey(message.key);
    } else {
      store->Invalidate(message.kind == Invalidation::Kind::kPartial
                            ? &message.pattern
                            : nullptr);
    }
  }
}

int64_t Invalidator::live_channels() {
  absl::MutexLock lock(&mu_);
  if (fork_generation_.load() != forks_.load()) return 0;
  int64_t live = 0;
  for (auto& [name, slot] : channels_) {
    if (slot.channel->live_epoch.load() != 0) ++live;
  }
  return live;
}

void Invalidator::OnSubscribed(const std::string& channel) {
  absl::MutexLock lock(&mu_);
  auto it = channels_.find(channel);
  if (it == channels_.end()) return;
  ChannelSlot& slot = it->second;
  // Drop first, then live. Entries stored before are gone (a forked
  // child's inherited ones too: marked in the parent, they must not be
  // served unchecked in the moment before the drop), and a store whose
  // lookup predates this point finds the store's counter moved and is
  // refused. Until the channel is live, stores are unmarked: none is served
  // unchecked.
  DropAll(slot);
  slot.channel->live_epoch.store(next_epoch_++, std::memory_order_release);
  down_ = false;
  counters_->subscriptions.fetch_add(1, std::memory_order_release);
  if (slot.ever_subscribed) {
    counters_->resubscriptions.fetch_add(1, std::memory_order_release);
  }
  slot.ever_subscribed = true;
}

void Invalidator::OnMessage(const std::string& channel,
                            const std::string& payload) {
  Invalidation message;
  if (!DecodeInvalidation(payload, &message)) return;  // not ours
  if (message.origin == origin_.load(std::memory_order_relaxed)) return;
  Apply(channel, message);
  // Counted once applied: a reader that sees the count sees the effect.
  counters_->invalidations_received.fetch_add(1, std::memory_order_release);
}

void Invalidator::OnDisconnected(const std::string& /*error*/) {
  absl::MutexLock lock(&mu_);
  ++losses_;
  down_ = true;
  for (auto& [name, slot] : channels_) {
    // Down first, then drop: nothing stored from here on is served locally.
    slot.channel->live_epoch.store(0, std::memory_order_release);
    DropAll(slot);
  }
  // Counted once applied (like every counter a test may wait on).
  counters_->disconnects.fetch_add(1, std::memory_order_release);
}

}  // namespace memory
}  // namespace cache_alchemy
