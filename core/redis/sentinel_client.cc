// ca::RedisClient for a Sentinel-managed master, on one HiredisClient per
// master. Steps follow https://redis.io/docs/reference/sentinel-clients/.

#include "core/redis/sentinel_client.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/redis/hiredis_client.h"

namespace cache_alchemy {
namespace redis {
namespace {

// After a discovery, a failing command asks the sentinels again only after
// this long (callers of a dead master fail fast meanwhile).
constexpr int64_t kRediscoverIntervalMs = 100;

int64_t SteadyNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool ReadOnly(const RedisReply& reply) {
  // A write sent to a replica (the old master after a failover), also from
  // inside a script.
  return reply.is_error() && absl::StrContains(reply.str, "READONLY");
}

bool ReadOnly(const std::vector<RedisReply>& replies) {
  for (const RedisReply& r : replies) {
    if (ReadOnly(r)) return true;
  }
  return false;
}

}  // namespace

struct SentinelClient::State {
  explicit State(SentinelUrl url)
      : options(std::move(url)),
        description(options.Describe()),
        sentinels(options.sentinels) {}

  // `counter` (round_trips, deferred_errors) summed over the masters used.
  int64_t Sum(int64_t (HiredisClient::*counter)() const) const {
    absl::ReaderMutexLock lock(&mu);
    int64_t total = 0;
    for (const auto& client : used) total += (client.get()->*counter)();
    return total;
  }

  // Steps 1 and 2: the endpoint of the master the first answering sentinel
  // names, checked with ROLE. Throws std::runtime_error naming what each
  // sentinel said.
  RedisEndpoint Discover();
  // The client of the current master (discovering it on first use).
  std::shared_ptr<HiredisClient> Current();
  // Step 3, after `failed` failed: the client of the master the sentinels
  // name now, or null if it is the same one (or a discovery ran moments
  // ago, or none answered).
  std::shared_ptr<HiredisClient> Replace(const HiredisClient* failed);

  const SentinelUrl options;
  const std::string description;

  mutable absl::Mutex mu;
  std::vector<HostPort> sentinels ABSL_GUARDED_BY(mu);  // last good first
  std::shared_ptr<HiredisClient> master ABSL_GUARDED_BY(mu);
  std::string master_address ABSL_GUARDED_BY(mu);
  // Every master client made, for round_trips().
  std::vector<std::shared_ptr<HiredisClient>> used ABSL_GUARDED_BY(mu);

  absl::Mutex discover_mu;  // one discovery at a time
  int64_t last_discovery_ms ABSL_GUARDED_BY(discover_mu) = 0;
  std::atomic<int64_t> discoveries{0};
};

RedisEndpoint SentinelClient::State::Discover() {
  std::vector<HostPort> order;
  {
    absl::ReaderMutexLock lock(&mu);
    order = sentinels;
  }
  std::string errors;
  for (const HostPort& sentinel : order) {
    RedisEndpoint at;
    at.host = sentinel.host;
    at.port = sentinel.port;
    at.user = options.sentinel_user;
    at.password = options.sentinel_password;
    at.connect_timeout_ms = options.node.connect_timeout_ms;
    at.timeout_ms = options.node.timeout_ms;
    at.pool_size = 0;  // one command, then the connection closes
    RedisReply named;
    try {
      named = HiredisClient(at).Command(
          {"SENTINEL", "get-master-addr-by-name", options.master_name});
    } catch (const std::exception& e) {
      absl::StrAppend(&errors, "; ", e.what());
      continue;
    }
    int port = 0;
    if (named.type != RedisReply::Type::kArray || named.elements.size() != 2 ||
        !absl::SimpleAtoi(named.elements[1].str, &port)) {
      absl::StrAppend(
          &errors, "; sentinel ", sentinel.host, ":", sentinel.port,
          " does not know master '", options.master_name, "'",
          named.is_error() ? absl::StrCat(" (", named.str, ")") : "");
      continue;
    }
    RedisEndpoint master_at = options.node;
    master_at.host = named.elements[0].str;
    master_at.port = port;
    // Step 2: a connection that checks ROLE (master_only) and goes.
    RedisEndpoint check = master_at;
    check.master_only = true;
    check.pool_size = 0;
    try {
      HiredisClient(check).Command({"PING"});
    } catch (const std::exception& e) {
      absl::StrAppend(&errors, "; sentinel ", sentinel.host, ":", sentinel.port,
                      " names ", master_at.Describe(), ": ", e.what());
      continue;
    }
    {
      // The guidelines: the sentinel that answered goes first next time.
      absl::MutexLock lock(&mu);
      for (size_t i = 0; i < sentinels.size(); ++i) {
        if (sentinels[i].host == sentinel.host &&
            sentinels[i].port == sentinel.port) {
          std::rotate(sentinels.begin(), sentinels.begin() + i,
                      sentinels.begin() + i + 1);
          break;
        }
      }
    }
    return master_at;
  }
  throw std::runtime_error(absl::StrCat("redis ", description,
                                        ": no sentinel named a reachable "
                                        "master",
                                        errors));
}

std::shared_ptr<HiredisClient> SentinelClient::State::Current() {
  {
    absl::ReaderMutexLock lock(&mu);
    if (master != nullptr) return master;
  }
  std::shared_ptr<HiredisClient> found = Replace(nullptr);
  if (found == nullptr) {
    throw std::runtime_error(absl::StrCat("redis ", description,
                                          ": no master found yet (retrying "
                                          "after a cool-down)"));
  }
  return found;
}

std::shared_ptr<HiredisClient> SentinelClient::State::Replace(
    const HiredisClient* failed) {
  absl::MutexLock discovering(&discover_mu);
  {
    absl::ReaderMutexLock lock(&mu);
    // Another caller switched while this one waited.
    if (master != nullptr && master.get() != failed) return master;
  }
  const int64_t now = SteadyNowMs();
  if (last_discovery_ms != 0 &&
      now - last_discovery_ms < kRediscoverIntervalMs) {
    return nullptr;
  }
  last_discovery_ms = now;
  RedisEndpoint found;
  try {
    found = Discover();
  } catch (const std::exception&) {
    if (failed == nullptr) throw;  // the first discovery says why
    return nullptr;                // the caller reports its own failure
  }
  const std::string address = HostPort{found.host, found.port}.Text();
  absl::MutexLock lock(&mu);
  if (master != nullptr && address == master_address) return nullptr;
  master = std::make_shared<HiredisClient>(found);
  master_address = address;
  used.push_back(master);
  discoveries.fetch_add(1, std::memory_order_relaxed);
  return master;
}

SentinelClient::SentinelClient(SentinelUrl options)
    : state_(std::make_shared<State>(std::move(options))) {
  if (state_->options.sentinels.empty()) {
    throw std::invalid_argument("SentinelClient: no sentinel");
  }
}

SentinelClient::~SentinelClient() = default;

template <typename Reply, typename Fn>
Reply SentinelClient::Run(Fn fn) {
  std::shared_ptr<HiredisClient> client = state_->Current();
  std::optional<Reply> reply;
  try {
    reply = fn(*client);
  } catch (const std::runtime_error&) {
    // The master did not answer: if the sentinels name another one now,
    // send the command there (it may have run on the old one: commands
    // are sent at least once across a failover).
    std::shared_ptr<HiredisClient> fresh = state_->Replace(client.get());
    if (fresh == nullptr) throw;
    return fn(*fresh);
  }
  if (!ReadOnly(*reply)) return std::move(*reply);
  // READONLY: this server was demoted and wrote nothing; send the command
  // to the new master, if the sentinels name one already.
  std::shared_ptr<HiredisClient> fresh = state_->Replace(client.get());
  return fresh != nullptr ? fn(*fresh) : std::move(*reply);
}

RedisReply SentinelClient::Command(const std::vector<std::string>& argv) {
  return Run<RedisReply>([&](HiredisClient& c) { return c.Command(argv); });
}

RedisReply SentinelClient::DurableCommand(
    const std::vector<std::string>& argv) {
  return Run<RedisReply>(
      [&](HiredisClient& c) { return c.DurableCommand(argv); });
}

std::vector<RedisReply> SentinelClient::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  return Run<std::vector<RedisReply>>(
      [&](HiredisClient& c) { return c.Pipeline(commands); });
}

bool SentinelClient::Send(const std::vector<std::string>& argv) {
  std::shared_ptr<HiredisClient> client = state_->Current();
  try {
    return client->Send(argv);
  } catch (const std::runtime_error&) {
    std::shared_ptr<HiredisClient> fresh = state_->Replace(client.get());
    if (fresh == nullptr) throw;
    return fresh->Send(argv);
  }
}

int64_t SentinelClient::deferred_errors() const {
  return state_->Sum(&HiredisClient::deferred_errors);
}

bool SentinelClient::Settle() {
  if (!state_->options.node.deferred_stores) return false;
  std::vector<std::shared_ptr<HiredisClient>> used;
  {
    absl::ReaderMutexLock lock(&state_->mu);
    used = state_->used;
  }
  const auto deadline =
      std::chrono::steady_clock::now() +
      std::chrono::milliseconds(state_->options.node.timeout_ms);
  for (const auto& client : used) client->SettleUntil(deadline);
  return true;
}

int64_t SentinelClient::round_trips() const {
  return state_->Sum(&HiredisClient::round_trips);
}

std::unique_ptr<RedisSubscription> SentinelClient::Subscribe(
    const std::vector<std::string>& channels,
    RedisSubscriptionListener* listener) {
  std::shared_ptr<State> state = state_;
  return MakeHiredisSubscription(
      [state](int /*failures*/) { return state->Discover(); }, channels,
      listener);
}

std::string SentinelClient::master() const {
  absl::ReaderMutexLock lock(&state_->mu);
  return state_->master_address;
}

int64_t SentinelClient::discoveries() const {
  return state_->discoveries.load();
}

}  // namespace redis
}  // namespace cache_alchemy
