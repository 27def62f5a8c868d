// ca::RedisClient for Redis Cluster, on one HiredisClient per node. Section
// names below are those of the Redis Cluster specification,
// https://redis.io/docs/reference/cluster-spec/.

#include "core/redis/cluster_client.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/redis/hiredis_client.h"
#include "core/redis_key_slot.h"

namespace cache_alchemy {
namespace redis {
namespace {

// Redirections followed for one command before its last reply is returned
// as it is (a map that keeps changing, or a loop).
constexpr int kMaxHops = 16;
// Slot maps are loaded again at most this often (after MOVED or a node that
// stopped answering), so a storm of redirections costs one load per period.
constexpr int64_t kMapLoadIntervalMs = 100;
// Back-off between retries of TRYAGAIN, doubling up to the maximum.
constexpr int kFirstBackoffMs = 1;
constexpr int kMaxBackoffMs = 32;
// The bucket count every process of a cluster uses (docs/redis.md).
constexpr char kBucketsKey[] = "cache_alchemy:buckets";

int64_t SteadyNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct ClusterNode {
  ClusterNode(std::string address, const RedisEndpoint& endpoint)
      : address(std::move(address)), client(endpoint) {}
  const std::string address;
  HiredisClient client;  // this node's pool
};

struct ClusterClient::State {
  explicit State(ClusterUrl url)
      : options(std::move(url)), description(options.Describe()) {}

  void EnsureReady();
  void Initialize();
  // Loads the slot map from the first node that answers (known masters,
  // replicas, then seeds). At most every kMapLoadIntervalMs unless
  // `initial`; then it throws when no node answered.
  void LoadMap(bool initial);
  bool LoadMapFrom(ClusterNode& node, std::string* error);
  ClusterNode* NodeFor(const std::string& host, int port);
  ClusterNode* SlotNode(int slot);
  ClusterNode* AnyMaster();
  // Every node worth asking: the last map's masters (their number in
  // `*masters_first`, if given), its replicas, then the seeds.
  std::vector<ClusterNode*> Candidates(size_t* masters_first = nullptr);
  RedisReply Execute(const std::vector<std::string>& argv, bool durable);
  RedisReply Send(ClusterNode& node, const std::vector<std::string>& argv,
                  bool asking, bool durable);
  RedisReply Broadcast(const std::vector<std::string>& argv);
  // `counter` (round_trips, deferred_errors) summed over every node.
  int64_t Sum(int64_t (HiredisClient::*counter)() const) const;

  const ClusterUrl options;
  const std::string description;
  // The master of each slot in the last map (nullptr: not served, or not
  // loaded yet). Nodes live as long as the client, so readers need no lock.
  std::array<std::atomic<ClusterNode*>, kRedisClusterSlots> slots{};

  mutable absl::Mutex mu;
  absl::flat_hash_map<std::string, std::unique_ptr<ClusterNode>> nodes
      ABSL_GUARDED_BY(mu);
  std::vector<ClusterNode*> masters ABSL_GUARDED_BY(mu);   // last map's
  std::vector<ClusterNode*> replicas ABSL_GUARDED_BY(mu);  // last map's

  absl::Mutex load_mu;  // one map load at a time
  int64_t last_load_ms ABSL_GUARDED_BY(load_mu) = 0;

  absl::Mutex init_mu;  // the first map load and the bucket check
  std::atomic<bool> ready{false};
  std::string refusal;  // written once before `ready`, read after it

  std::atomic<uint64_t> cursor{0};
  std::atomic<int64_t> moved{0}, ask{0}, retried{0}, map_loads{0},
      node_failures{0};
};

ClusterNode* ClusterClient::State::NodeFor(const std::string& host, int port) {
  std::string address = HostPort{host, port}.Text();
  absl::MutexLock lock(&mu);
  std::unique_ptr<ClusterNode>& node = nodes[address];
  if (node == nullptr) {
    RedisEndpoint endpoint = options.node;
    endpoint.host = host;
    endpoint.port = port;
    node = std::make_unique<ClusterNode>(std::move(address), endpoint);
  }
  return node.get();
}

std::vector<ClusterNode*> ClusterClient::State::Candidates(
    size_t* masters_first) {
  std::vector<ClusterNode*> out;
  {
    absl::ReaderMutexLock lock(&mu);
    out = masters;
    if (masters_first != nullptr) *masters_first = masters.size();
    out.insert(out.end(), replicas.begin(), replicas.end());
  }
  for (const HostPort& seed : options.seeds) {
    ClusterNode* node = NodeFor(seed.host, seed.port);
    if (std::find(out.begin(), out.end(), node) == out.end()) {
      out.push_back(node);
    }
  }
  return out;
}

bool ClusterClient::State::LoadMapFrom(ClusterNode& node, std::string* error) {
  // "Client and server role in the Redis cluster protocol": CLUSTER SLOTS
  // lists [start, end, [ip, port, id, ...] master, [ip, port, id] replicas
  // ...] per slot range. An empty ip (or "?") means "the node you asked".
  RedisReply map;
  try {
    map = node.client.Command({"CLUSTER", "SLOTS"});
  } catch (const std::exception& e) {
    *error = e.what();
    return false;
  }
  if (map.type != RedisReply::Type::kArray || map.elements.empty()) {
    *error = absl::StrCat(node.address, ": CLUSTER SLOTS gave ",
                          map.is_error() ? map.str : "no slot ranges");
    return false;
  }
  const std::string& asked_host = node.client.endpoint().host;
  auto node_of = [&](const RedisReply& entry) -> ClusterNode* {
    if (entry.type != RedisReply::Type::kArray || entry.elements.size() < 2) {
      return nullptr;
    }
    std::string host = entry.elements[0].str;
    if (host.empty() || host == "?") host = asked_host;
    return NodeFor(host, static_cast<int>(entry.elements[1].integer));
  };
  std::array<ClusterNode*, kRedisClusterSlots> owner{};
  std::vector<ClusterNode*> new_masters, new_replicas;
  for (const RedisReply& range : map.elements) {
    if (range.type != RedisReply::Type::kArray || range.elements.size() < 3) {
      *error = absl::StrCat(node.address, ": malformed CLUSTER SLOTS reply");
      return false;
    }
    const int64_t first = range.elements[0].integer;
    const int64_t last = range.elements[1].integer;
    ClusterNode* master = node_of(range.elements[2]);
    if (master == nullptr || first < 0 || last >= kRedisClusterSlots ||
        first > last) {
      *error = absl::StrCat(node.address, ": malformed CLUSTER SLOTS range");
      return false;
    }
    for (int64_t s = first; s <= last; ++s) owner[s] = master;
    if (std::find(new_masters.begin(), new_masters.end(), master) ==
        new_masters.end()) {
      new_masters.push_back(master);
    }
    for (size_t r = 3; r < range.elements.size(); ++r) {
      ClusterNode* replica = node_of(range.elements[r]);
      if (replica != nullptr &&
          std::find(new_replicas.begin(), new_replicas.end(), replica) ==
              new_replicas.end()) {
        new_replicas.push_back(replica);
      }
    }
  }
  for (int s = 0; s < kRedisClusterSlots; ++s) {
    slots[s].store(owner[s], std::memory_order_release);
  }
  absl::MutexLock lock(&mu);
  masters = std::move(new_masters);
  replicas = std::move(new_replicas);
  return true;
}

void ClusterClient::State::LoadMap(bool initial) {
  absl::MutexLock lock(&load_mu);
  const int64_t now = SteadyNowMs();
  if (!initial && now - last_load_ms < kMapLoadIntervalMs) return;
  last_load_ms = now;
  std::string errors;
  for (ClusterNode* node : Candidates()) {
    std::string error;
    if (LoadMapFrom(*node, &error)) {
      map_loads.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    absl::StrAppend(&errors, "; ", error);
  }
  if (initial) {
    throw std::runtime_error(absl::StrCat(
        "redis ", description, ": no node answered CLUSTER SLOTS", errors));
  }
}

void ClusterClient::State::Initialize() {
  absl::MutexLock lock(&init_mu);
  if (ready.load(std::memory_order_acquire)) return;
  LoadMap(/*initial=*/true);
  // Every process must spread functions over the same number of buckets,
  // or one process's clears would miss the buckets another stores in. The
  // first client stores its count in the cluster; the others compare.
  const std::string mine = std::to_string(options.buckets);
  RedisReply held = Execute({"SET", kBucketsKey, mine, "NX", "GET"}, false);
  if (held.is_error()) {
    throw std::runtime_error(absl::StrCat("redis ", description,
                                          ": cannot check the bucket count (",
                                          kBucketsKey, "): ", held.str));
  }
  if (held.type == RedisReply::Type::kString && held.str != mine) {
    refusal = absl::StrCat(
        "redis ", description, ": this client spreads each function over ",
        mine, " buckets but the cluster was set up with ", held.str, " (key ",
        kBucketsKey,
        "): every process sharing a cluster must use the same `buckets` "
        "option; refusing to run commands (docs/redis.md)");
  }
  ready.store(true, std::memory_order_release);
}

void ClusterClient::State::EnsureReady() {
  if (!ready.load(std::memory_order_acquire)) Initialize();
  if (!refusal.empty()) throw std::runtime_error(refusal);
}

ClusterNode* ClusterClient::State::AnyMaster() {
  {
    absl::ReaderMutexLock lock(&mu);
    if (!masters.empty()) {
      return masters[cursor.fetch_add(1, std::memory_order_relaxed) %
                     masters.size()];
    }
  }
  const HostPort& seed = options.seeds.front();
  return NodeFor(seed.host, seed.port);
}

ClusterNode* ClusterClient::State::SlotNode(int slot) {
  ClusterNode* node = slots[slot].load(std::memory_order_acquire);
  // A slot no master serves: ask anyone, the answer redirects or says why.
  return node != nullptr ? node : AnyMaster();
}

RedisReply ClusterClient::State::Send(ClusterNode& node,
                                      const std::vector<std::string>& argv,
                                      bool asking, bool durable) {
  if (!asking) {
    return durable ? node.client.DurableCommand(argv)
                   : node.client.Command(argv);
  }
  // "ASK redirection": ASKING makes the importing node serve the next
  // command for a slot it does not own yet; sent in the same write.
  std::vector<std::vector<std::string>> commands = {{"ASKING"}, argv};
  std::vector<RedisReply> replies = durable
                                        ? node.client.PipelineDurable(commands)
                                        : node.client.Pipeline(commands);
  return std::move(replies.back());
}

RedisReply ClusterClient::State::Broadcast(
    const std::vector<std::string>& argv) {
  std::vector<ClusterNode*> targets;
  {
    absl::ReaderMutexLock lock(&mu);
    targets = masters;
  }
  if (targets.empty()) targets.push_back(AnyMaster());
  // Integers add up (DBSIZE, CLIENT KILL), arrays concatenate (KEYS), the
  // first error wins, anything else is the first reply (OK, a script SHA).
  RedisReply merged;
  bool first = true;
  for (ClusterNode* node : targets) {
    RedisReply reply = node->client.Command(argv);
    if (reply.is_error()) return reply;
    if (first) {
      merged = std::move(reply);
      first = false;
    } else if (merged.type == RedisReply::Type::kInteger &&
               reply.type == RedisReply::Type::kInteger) {
      merged.integer += reply.integer;
    } else if (merged.type == RedisReply::Type::kArray &&
               reply.type == RedisReply::Type::kArray) {
      for (RedisReply& e : reply.elements) {
        merged.elements.push_back(std::move(e));
      }
    }
  }
  return merged;
}

RedisReply ClusterClient::State::Execute(const std::vector<std::string>& argv,
                                         bool durable) {
  const CommandRouting routing = RoutingOf(argv);
  if (routing.routing == Routing::kEveryMaster) return Broadcast(argv);
  const int slot =
      routing.routing == Routing::kKey ? RedisKeySlot(argv[routing.key]) : -1;
  ClusterNode* node = slot >= 0 ? SlotNode(slot) : AnyMaster();
  bool asking = false;
  bool retried_node = false;
  int backoff_ms = kFirstBackoffMs;
  const int64_t deadline = SteadyNowMs() + options.node.timeout_ms;
  for (int hop = 0;; ++hop) {
    RedisReply reply;
    try {
      reply = Send(*node, argv, asking, durable);
    } catch (const std::runtime_error&) {
      // The node did not answer: it may have died and a replica taken over
      // its slots ("Replica election and promotion"). Learn the map again
      // and retry once if the slot has a new owner; otherwise fail (the
      // caller fails open, or reports a clear that could not run).
      node_failures.fetch_add(1, std::memory_order_relaxed);
      if (retried_node) throw;
      retried_node = true;
      LoadMap(/*initial=*/false);
      ClusterNode* now = slot >= 0 ? SlotNode(slot) : AnyMaster();
      if (now == node) throw;
      node = now;
      asking = false;
      continue;
    }
    asking = false;
    if (!reply.is_error() || hop >= kMaxHops) return reply;
    const Redirection to = ParseRedirection(reply);
    switch (to.kind) {
      case Redirect::kNone:
        return reply;
      case Redirect::kMoved: {
        moved.fetch_add(1, std::memory_order_relaxed);
        node = NodeFor(to.host.empty() ? node->client.endpoint().host : to.host,
                       to.port);
        slots[to.slot].store(node, std::memory_order_release);
        // "MOVED Redirection": more slots probably moved with this one.
        LoadMap(/*initial=*/false);
        continue;
      }
      case Redirect::kAsk:
        ask.fetch_add(1, std::memory_order_relaxed);
        node = NodeFor(to.host.empty() ? node->client.endpoint().host : to.host,
                       to.port);
        asking = true;
        continue;
      case Redirect::kRetry:
        if (SteadyNowMs() + backoff_ms > deadline) return reply;
        retried.fetch_add(1, std::memory_order_relaxed);
        std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
        backoff_ms = std::min(2 * backoff_ms, kMaxBackoffMs);
        // The migration may have ended: the slot's owner answers (or
        // redirects) the next attempt.
        if (slot >= 0) node = SlotNode(slot);
        continue;
    }
  }
}

ClusterClient::ClusterClient(ClusterUrl options)
    : state_(std::make_shared<State>(std::move(options))) {
  if (state_->options.seeds.empty()) {
    throw std::invalid_argument("ClusterClient: no seed node");
  }
}

ClusterClient::~ClusterClient() = default;

RedisReply ClusterClient::Command(const std::vector<std::string>& argv) {
  state_->EnsureReady();
  return state_->Execute(argv, /*durable=*/false);
}

RedisReply ClusterClient::DurableCommand(const std::vector<std::string>& argv) {
  state_->EnsureReady();
  return state_->Execute(argv, /*durable=*/true);
}

std::vector<RedisReply> ClusterClient::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  state_->EnsureReady();
  const size_t n = commands.size();
  std::vector<RedisReply> replies(n);
  // Group the commands by the node of their slot, in order of first
  // appearance; commands for every master run alone.
  std::vector<ClusterNode*> order;
  absl::flat_hash_map<ClusterNode*, std::vector<size_t>> groups;
  std::vector<size_t> alone;
  for (size_t i = 0; i < n; ++i) {
    const CommandRouting routing = RoutingOf(commands[i]);
    if (routing.routing == Routing::kEveryMaster) {
      alone.push_back(i);
      continue;
    }
    ClusterNode* node =
        routing.routing == Routing::kKey
            ? state_->SlotNode(RedisKeySlot(commands[i][routing.key]))
            : state_->AnyMaster();
    std::vector<size_t>& group = groups[node];
    if (group.empty()) order.push_back(node);
    group.push_back(i);
  }
  for (ClusterNode* node : order) {
    const std::vector<size_t>& group = groups[node];
    std::vector<RedisReply> got;
    try {
      if (group.size() == n) {
        got = node->client.Pipeline(commands);
      } else {
        std::vector<std::vector<std::string>> batch;
        batch.reserve(group.size());
        for (size_t i : group) batch.push_back(commands[i]);
        got = node->client.Pipeline(batch);
      }
    } catch (const std::runtime_error&) {
      // The node failed: each command goes again alone, with Command's
      // recovery (a new map, the slot's new owner).
      got.clear();
    }
    for (size_t j = 0; j < group.size(); ++j) {
      const size_t i = group[j];
      if (j < got.size() && ParseRedirection(got[j]).kind == Redirect::kNone) {
        replies[i] = std::move(got[j]);
      } else {
        replies[i] = state_->Execute(commands[i], /*durable=*/false);
      }
    }
  }
  for (size_t i : alone) replies[i] = state_->Broadcast(commands[i]);
  return replies;
}

bool ClusterClient::Send(const std::vector<std::string>& argv) {
  state_->EnsureReady();
  const CommandRouting routing = RoutingOf(argv);
  if (routing.routing != Routing::kKey) return false;
  ClusterNode* node = state_->SlotNode(RedisKeySlot(argv[routing.key]));
  try {
    return node->client.Send(argv);
  } catch (const std::runtime_error&) {
    state_->node_failures.fetch_add(1, std::memory_order_relaxed);
    state_->LoadMap(/*initial=*/false);
    return false;
  }
}

int64_t ClusterClient::State::Sum(int64_t (HiredisClient::*counter)()
                                      const) const {
  absl::ReaderMutexLock lock(&mu);
  int64_t total = 0;
  for (const auto& [address, node] : nodes) total += (node->client.*counter)();
  return total;
}

int64_t ClusterClient::deferred_errors() const {
  return state_->Sum(&HiredisClient::deferred_errors);
}

bool ClusterClient::Settle() {
  if (!state_->options.node.deferred_stores) return false;
  std::vector<ClusterNode*> nodes;
  {
    absl::ReaderMutexLock lock(&state_->mu);
    for (const auto& [address, node] : state_->nodes) {
      nodes.push_back(node.get());
    }
  }
  // Nodes live as long as the client. One timeout for all of them.
  const auto deadline =
      std::chrono::steady_clock::now() +
      std::chrono::milliseconds(state_->options.node.timeout_ms);
  for (ClusterNode* node : nodes) node->client.SettleUntil(deadline);
  return true;
}

int64_t ClusterClient::round_trips() const {
  return state_->Sum(&HiredisClient::round_trips);
}

std::unique_ptr<RedisSubscription> ClusterClient::Subscribe(
    const std::vector<std::string>& channels,
    RedisSubscriptionListener* listener) {
  // Any node hears every PUBLISH ("Pub/Sub": a cluster propagates every
  // published message to every node over the cluster bus), so one
  // connection to one master serves. Start at a random one, so processes
  // spread over the masters; after a failure try the next node of a fresh
  // map (the dead node's replica may have taken over by then).
  std::shared_ptr<State> state = state_;
  static std::atomic<size_t> spread{static_cast<size_t>(SteadyNowMs())};
  auto cursor = std::make_shared<size_t>(spread.fetch_add(1) * 7919);
  return MakeHiredisSubscription(
      [state, cursor](int failures) {
        try {
          state->EnsureReady();
        } catch (const std::exception&) {
          // Unreachable for now: the seeds are the candidates.
        }
        if (failures > 0) state->LoadMap(/*initial=*/false);
        size_t masters = 0;
        std::vector<ClusterNode*> candidates = state->Candidates(&masters);
        if (failures == 0) {
          *cursor %= std::max<size_t>(masters, 1);  // a master to begin with
        } else {
          ++*cursor;
        }
        return candidates[*cursor % candidates.size()]->client.endpoint();
      },
      channels, listener);
}

int ClusterClient::buckets() const { return state_->options.buckets; }

ClusterClient::Counters ClusterClient::counters() const {
  Counters c;
  c.moved = state_->moved.load();
  c.ask = state_->ask.load();
  c.retried = state_->retried.load();
  c.map_loads = state_->map_loads.load();
  c.node_failures = state_->node_failures.load();
  return c;
}

std::string ClusterClient::MasterOf(uint16_t slot) const {
  ClusterNode* node =
      state_->slots[slot % kRedisClusterSlots].load(std::memory_order_acquire);
  return node != nullptr ? node->address : "";
}

std::vector<std::string> ClusterClient::Masters() {
  state_->EnsureReady();
  absl::ReaderMutexLock lock(&state_->mu);
  std::vector<std::string> out;
  out.reserve(state_->masters.size());
  for (const ClusterNode* node : state_->masters) out.push_back(node->address);
  return out;
}

RedisReply ClusterClient::CommandOn(const std::string& address,
                                    const std::vector<std::string>& argv) {
  state_->EnsureReady();
  ClusterNode* node = nullptr;
  {
    absl::ReaderMutexLock lock(&state_->mu);
    auto it = state_->nodes.find(address);
    if (it != state_->nodes.end()) node = it->second.get();
  }
  if (node == nullptr) {
    throw std::invalid_argument("ClusterClient::CommandOn: " + address +
                                " is not a node of the cluster's map");
  }
  return node->client.Command(argv);
}

}  // namespace redis
}  // namespace cache_alchemy
