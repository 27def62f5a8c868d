// A private Sentinel deployment: master, replicas and sentinels.

#include "testing/redis_sentinel.h"

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include "testing/redis_admin.h"

namespace cache_alchemy {
namespace testing {
namespace {

// Polls `check` (which returns "" when satisfied, else what is wrong) every
// 20 ms for at most `timeout_ms`; throws with the last problem.
template <typename Check>
void WaitUntil(const char* what, int timeout_ms, Check check) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::string problem;
  for (;;) {
    try {
      problem = check();
    } catch (const std::exception& e) {
      problem = e.what();
    }
    if (problem.empty()) return;
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error(std::string("RedisSentinels: ") + what +
                               " not reached after " +
                               std::to_string(timeout_ms) + " ms: " + problem);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// The value after `field` in a flat [field, value, ...] reply.
std::string FlatField(const RedisReply& reply, const std::string& field) {
  for (size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    if (reply.elements[i].str == field) return reply.elements[i + 1].str;
  }
  return "";
}

}  // namespace

RedisSentinels::RedisSentinels(Options options) : options_(options) {
  data_.push_back(std::make_unique<RedisServer>());
  const std::string master_port = std::to_string(data_[0]->port());
  for (int i = 0; i < options_.replicas; ++i) {
    RedisServer::Options replica;
    replica.args = {"--replicaof", "127.0.0.1", master_port};
    data_.push_back(std::make_unique<RedisServer>(replica));
  }
  WaitUntilHealthy(/*for_failover=*/false);
  RedisServer::Options sentinel;
  sentinel.sentinel = true;
  const std::string& name = options_.master_name;
  sentinel.config = "sentinel monitor " + name + " 127.0.0.1 " + master_port +
                    " 2\n" + "sentinel down-after-milliseconds " + name + " " +
                    std::to_string(options_.down_after_ms) + "\n" +
                    "sentinel failover-timeout " + name + " " +
                    std::to_string(options_.failover_timeout_ms) + "\n" +
                    "sentinel parallel-syncs " + name + " 1\n";
  for (int i = 0; i < options_.sentinels; ++i) {
    sentinels_.push_back(std::make_unique<RedisServer>(sentinel));
  }
}

RedisSentinels::~RedisSentinels() = default;

std::string RedisSentinels::url(const std::string& query) const {
  std::string out = "redis-sentinel://";
  for (size_t i = 0; i < sentinels_.size(); ++i) {
    if (i > 0) out += ",";
    out += sentinels_[i]->address();
  }
  out += "/" + options_.master_name;
  if (!query.empty()) out += "?" + query;
  return out;
}

RedisServer* RedisSentinels::DataAt(int port) {
  for (auto& server : data_) {
    if (server->port() == port) return server.get();
  }
  return nullptr;
}

int RedisSentinels::MasterPort() {
  for (auto& sentinel : sentinels_) {
    if (!sentinel->running()) continue;
    try {
      RedisReply named = AdminCommand(
          sentinel->port(),
          {"SENTINEL", "get-master-addr-by-name", options_.master_name});
      if (named.elements.size() == 2) return std::stoi(named.elements[1].str);
    } catch (const std::exception&) {
    }
  }
  // Before the sentinels start: the first master.
  return sentinels_.empty() ? data_[0]->port() : 0;
}

void RedisSentinels::WaitUntilHealthy(bool for_failover, int timeout_ms) {
  WaitUntil("a healthy deployment", timeout_ms, [&]() -> std::string {
    const int master = MasterPort();
    RedisServer* server = DataAt(master);
    if (server == nullptr || !server->running()) return "no running master";
    const RedisReply info = AdminCommand(master, {"INFO", "replication"});
    if (InfoField(info.str, "role") != "master") return "named master is not";
    int expected = 0;
    for (auto& other : data_) {
      if (other->running() && other->port() != master) ++expected;
    }
    if (InfoField(info.str, "connected_slaves") != std::to_string(expected)) {
      return "not every replica is connected";
    }
    // Connected is not enough: ROLE (which DurableCommand reads) lists a
    // replica only once its sync finished ("state=online" in the master's
    // slaveN lines).
    int online = 0;
    for (size_t at = info.str.find("state=online"); at != std::string::npos;
         at = info.str.find("state=online", at + 1)) {
      ++online;
    }
    if (online != expected) return "not every replica is online";
    for (auto& other : data_) {
      if (!other->running() || other->port() == master) continue;
      const RedisReply r = AdminCommand(other->port(), {"INFO", "replication"});
      if (InfoField(r.str, "master_link_status") != "up" ||
          InfoField(r.str, "master_port") != std::to_string(master)) {
        return other->address() + ": link to the master not up";
      }
    }
    for (auto& sentinel : sentinels_) {
      if (!sentinel->running()) continue;
      const RedisReply state = AdminCommand(
          sentinel->port(), {"SENTINEL", "master", options_.master_name});
      if (FlatField(state, "port") != std::to_string(master)) {
        return sentinel->address() + " names another master";
      }
      if (FlatField(state, "flags") != "master") {
        return sentinel->address() + " flags " + FlatField(state, "flags");
      }
      if (!for_failover) continue;
      if (FlatField(state, "num-other-sentinels") !=
          std::to_string(sentinels_.size() - 1)) {
        return sentinel->address() + " does not know every sentinel yet";
      }
      // Each running replica known and fit to be promoted (the sentinel's
      // last INFO from it says its link is up).
      int fit = 0;
      for (const RedisReply& replica :
           AdminCommand(sentinel->port(),
                        {"SENTINEL", "REPLICAS", options_.master_name})
               .elements) {
        if (FlatField(replica, "flags") == "slave" &&
            FlatField(replica, "master-link-status") == "ok") {
          ++fit;
        }
      }
      if (fit < expected) {
        return sentinel->address() + " knows " + std::to_string(fit) + " of " +
               std::to_string(expected) + " replicas fit for a failover";
      }
    }
    return "";
  });
}

int RedisSentinels::KillMasterAndWaitForFailover(int timeout_ms) {
  const int old = MasterPort();
  DataAt(old)->Stop();
  int now = 0;
  WaitUntil("a failover", timeout_ms, [&]() -> std::string {
    now = MasterPort();
    if (now == old || now == 0) return "the sentinels still name the old one";
    const RedisReply info = AdminCommand(now, {"INFO", "replication"});
    return InfoField(info.str, "role") == "master" ? "" : "not promoted yet";
  });
  return now;
}

RedisSentinels* SharedRedisSentinels() {
  static RedisSentinels* shared = [] {
    auto* s = new RedisSentinels();
    std::atexit([] {
      RedisSentinels* d = SharedRedisSentinels();
      for (int i = 0; i < d->sentinel_size(); ++i) d->sentinel(i).Stop();
      for (int i = 0; i < d->data_size(); ++i) d->data(i).Stop();
    });
    return s;
  }();
  return shared;
}

}  // namespace testing
}  // namespace cache_alchemy
