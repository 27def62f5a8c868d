// A private Redis Cluster: RedisServer nodes joined by redis-cli.

#include "testing/redis_cluster.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "testing/redis_admin.h"

extern char** environ;

namespace cache_alchemy {
namespace testing {
namespace {

std::string CliBinary() {
  const char* bin = std::getenv("REDIS_CLI_BIN");
  return bin != nullptr && *bin != '\0' ? bin : "/usr/bin/redis-cli";
}

// Runs `args` with stdout and stderr into `log`; returns the exit status,
// or -1 if it ran longer than `timeout_ms` (then it is killed: redis-cli
// waits for a cluster to join without a limit of its own).
int RunTool(std::vector<std::string> args, const std::string& log,
            int timeout_ms) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawned =
      posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    throw std::runtime_error("RedisCluster: cannot run " + args[0]);
  }
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string TempPath(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/" +
         name + "." + std::to_string(getpid());
}

}  // namespace

RedisCluster::RedisCluster(Options options) : options_(options) {
  const int count = options_.masters * (1 + options_.replicas_per_master);
  RedisServer::Options node;
  node.cluster = true;
  node.args = {"--cluster-node-timeout",
               std::to_string(options_.node_timeout_ms),
               "--cluster-require-full-coverage", "no"};
  std::vector<std::string> create = {CliBinary(), "--cluster", "create"};
  for (int i = 0; i < count; ++i) {
    nodes_.push_back(std::make_unique<RedisServer>(node));
    create.push_back(nodes_.back()->address());
  }
  create.insert(create.end(), {"--cluster-replicas",
                               std::to_string(options_.replicas_per_master),
                               "--cluster-yes"});
  const std::string log = TempPath("redis-cli-cluster-create.log");
  const int status = RunTool(create, log, 30000);
  if (status != 0) {
    throw std::runtime_error(
        std::string("RedisCluster: redis-cli --cluster create ") +
        (status < 0 ? "did not finish within 30 s" : "failed") + ":\n" +
        ReadFile(log));
  }
  WaitUntilHealthy();
}

RedisCluster::~RedisCluster() = default;

std::string RedisCluster::url(const std::string& query) const {
  std::string out = "redis-cluster://";
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (i > 0) out += ",";
    out += nodes_[i]->address();
  }
  if (!query.empty()) out += "?" + query;
  return out;
}

RedisServer* RedisCluster::NodeAt(int port) {
  for (auto& node : nodes_) {
    if (node->port() == port) return node.get();
  }
  return nullptr;
}

RedisReply RedisCluster::Slots() {
  for (auto& node : nodes_) {
    if (!node->running()) continue;
    try {
      RedisReply slots = AdminCommand(node->port(), {"CLUSTER", "SLOTS"});
      if (slots.type == RedisReply::Type::kArray) return slots;
    } catch (const std::exception&) {
    }
  }
  throw std::runtime_error("RedisCluster: no node answered CLUSTER SLOTS");
}

std::vector<std::pair<int, int>> RedisCluster::Masters(
    const RedisReply& slots) {
  std::vector<std::pair<int, int>> out;
  for (const RedisReply& range : slots.elements) {
    if (range.elements.size() < 3) continue;
    out.emplace_back(static_cast<int>(range.elements[0].integer),
                     static_cast<int>(range.elements[2].elements[1].integer));
  }
  std::sort(out.begin(), out.end());
  return out;
}

int RedisCluster::MasterPortOf(uint16_t slot) {
  for (const RedisReply& range : Slots().elements) {
    if (range.elements.size() >= 3 && range.elements[0].integer <= slot &&
        slot <= range.elements[1].integer) {
      return static_cast<int>(range.elements[2].elements[1].integer);
    }
  }
  return 0;
}

std::vector<int> RedisCluster::MasterPorts() {
  std::vector<int> out;
  for (const auto& [first, port] : Masters(Slots())) {
    if (std::find(out.begin(), out.end(), port) == out.end()) {
      out.push_back(port);
    }
  }
  return out;
}

int RedisCluster::ReplicaPortOf(int master_port) {
  // ROLE on the master lists its replicas online (CLUSTER SLOTS leaves out
  // a replica until it has replicated some offset).
  const RedisReply role = AdminCommand(master_port, {"ROLE"});
  if (role.elements.size() < 3 || role.elements[2].elements.empty()) return 0;
  return std::stoi(role.elements[2].elements[0].elements[1].str);
}

void RedisCluster::WaitUntilHealthy(int timeout_ms) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::string problem;
  for (;;) {
    problem.clear();
    std::string agreed;
    for (auto& node : nodes_) {
      if (!node->running()) continue;
      try {
        const RedisReply info = AdminCommand(node->port(), {"CLUSTER", "INFO"});
        if (InfoField(info.str, "cluster_state") != "ok") {
          problem = node->address() + " is not cluster_state:ok";
          break;
        }
        std::string view;
        for (const auto& [first, port] :
             Masters(AdminCommand(node->port(), {"CLUSTER", "SLOTS"}))) {
          view += std::to_string(first) + "@" + std::to_string(port) + " ";
        }
        if (!agreed.empty() && view != agreed) {
          problem = node->address() + " sees other masters";
          break;
        }
        agreed = view;
        // Every node serves slots or replicates a master that does.
        const RedisReply replication =
            AdminCommand(node->port(), {"INFO", "replication"});
        if (InfoField(replication.str, "role") == "slave") {
          if (InfoField(replication.str, "master_link_status") != "up") {
            problem = node->address() + ": replica link not up";
            break;
          }
        } else if (view.find("@" + std::to_string(node->port()) + " ") ==
                   std::string::npos) {
          problem = node->address() + " neither serves slots nor replicates";
          break;
        }
      } catch (const std::exception& e) {
        problem = e.what();
        break;
      }
    }
    if (problem.empty()) return;
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("RedisCluster: not healthy after " +
                               std::to_string(timeout_ms) + " ms: " + problem);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

namespace {

std::string NodeId(int port) {
  return AdminCommand(port, {"CLUSTER", "MYID"}).str;
}

void Expect(const RedisReply& reply, const std::string& what) {
  if (reply.is_error()) {
    throw std::runtime_error("RedisCluster: " + what + ": " + reply.str);
  }
}

}  // namespace

RedisCluster::SlotMigration RedisCluster::BeginSlotMigration(uint16_t slot,
                                                             int to_port) {
  SlotMigration m{slot, MasterPortOf(slot), to_port};
  const std::string s = std::to_string(slot);
  // The target first, so that no ASK ever points at a node not ready yet.
  Expect(AdminCommand(to_port, {"CLUSTER", "SETSLOT", s, "IMPORTING",
                                NodeId(m.from_port)}),
         "SETSLOT IMPORTING");
  Expect(AdminCommand(m.from_port,
                      {"CLUSTER", "SETSLOT", s, "MIGRATING", NodeId(to_port)}),
         "SETSLOT MIGRATING");
  return m;
}

int RedisCluster::MigrateKeys(const SlotMigration& m, int count) {
  const RedisReply keys = AdminCommand(
      m.from_port, {"CLUSTER", "GETKEYSINSLOT", std::to_string(m.slot),
                    std::to_string(count)});
  if (keys.elements.empty()) return 0;
  std::vector<std::string> names;
  for (const RedisReply& key : keys.elements) names.push_back(key.str);
  MigrateTheseKeys(m, names);
  return static_cast<int>(names.size());
}

void RedisCluster::MigrateTheseKeys(const SlotMigration& m,
                                    const std::vector<std::string>& keys) {
  std::vector<std::string> migrate = {
      "MIGRATE", "127.0.0.1", std::to_string(m.to_port), "", "0",
      "5000",    "KEYS"};
  migrate.insert(migrate.end(), keys.begin(), keys.end());
  Expect(AdminCommand(m.from_port, migrate, 10000), "MIGRATE");
}

void RedisCluster::EndSlotMigration(const SlotMigration& m) {
  while (MigrateKeys(m, 100) > 0) {
  }
  const std::string s = std::to_string(m.slot);
  const std::string to = NodeId(m.to_port);
  // The target, then the source (which then answers MOVED), then the rest.
  Expect(AdminCommand(m.to_port, {"CLUSTER", "SETSLOT", s, "NODE", to}),
         "SETSLOT NODE");
  Expect(AdminCommand(m.from_port, {"CLUSTER", "SETSLOT", s, "NODE", to}),
         "SETSLOT NODE");
  for (int port : MasterPorts()) {
    if (port != m.to_port && port != m.from_port) {
      AdminCommand(port, {"CLUSTER", "SETSLOT", s, "NODE", to});
    }
  }
}

void RedisCluster::MoveSlot(uint16_t slot, int to_port) {
  EndSlotMigration(BeginSlotMigration(slot, to_port));
}

int RedisCluster::KillMasterAndWaitForFailover(int port, int timeout_ms) {
  RedisServer* master = NodeAt(port);
  if (master == nullptr) throw std::runtime_error("RedisCluster: no such node");
  std::vector<int> owned;  // a slot of the dying master, to watch
  for (const RedisReply& range : Slots().elements) {
    if (range.elements.size() >= 3 &&
        range.elements[2].elements[1].integer == port) {
      owned.push_back(static_cast<int>(range.elements[0].integer));
    }
  }
  master->Stop();
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    const int now = owned.empty() ? 0 : MasterPortOf(owned.front());
    if (now != 0 && now != port) {
      WaitUntilHealthy(timeout_ms);  // every node agrees
      return now;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("RedisCluster: no replica took over from port " +
                           std::to_string(port));
}

RedisCluster* SharedRedisCluster() {
  static RedisCluster* cluster = [] {
    auto* c = new RedisCluster();
    std::atexit([] {
      RedisCluster* shared = SharedRedisCluster();
      for (int i = 0; i < shared->size(); ++i) shared->node(i).Stop();
    });
    return c;
  }();
  return cluster;
}

}  // namespace testing
}  // namespace cache_alchemy
