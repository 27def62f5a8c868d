// The Redis backends on a Redis Cluster next to raw hiredis in the same
// binary: the binary starts its own 3-master, 3-replica cluster and a single
// redis-server (testing/redis_cluster.h, testing/redis_server.h).
//
//   bazel build -c opt //benchmarks:cluster_bench
//   bazel-bin/benchmarks/cluster_bench --benchmark_repetitions=10
//   --benchmark_enable_random_interleaving=true
//   --benchmark_report_aggregates_only=true
//
// Targets (docs/performance.md, "Redis Cluster"): a json hit on the cluster
// within 1.15x a raw hiredis GET to the master that owns the key, and no
// round trip added by routing; 8 threads of hits on the cluster against the
// same on a single Redis.

#include <hiredis/hiredis.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "cache_alchemy/cache_alchemy.h"
#include "core/redis_key_slot.h"
#include "testing/redis_cluster.h"
#include "testing/redis_server.h"

namespace ca = cache_alchemy;

namespace {

constexpr int kKeys = 1024;  // hit over these, spread over every master

struct Setup {
  ca::testing::RedisCluster* cluster = nullptr;
  std::shared_ptr<ca::RedisClient> cluster_client;
  std::shared_ptr<ca::RedisClient> single_client;
  int single_port = 0;
};

Setup& Shared() {
  static Setup* setup = new Setup;
  return *setup;
}

int Square(int n) { return n * n; }

// A plain hiredis connection with a 2 s connect and command timeout: a
// stalled server fails the benchmark instead of hanging it. Null (the
// benchmark marked failed) when it cannot connect.
redisContext* Connect(int port, benchmark::State& state) {
  const timeval timeout{2, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, timeout);
  if (c == nullptr || c->err != 0) {
    state.SkipWithError(c == nullptr ? "cannot connect" : c->errstr);
    if (c != nullptr) redisFree(c);
    return nullptr;
  }
  redisSetTimeout(c, timeout);
  return c;
}

// One command on a raw connection; false (the reply freed) on any error.
bool RawCommand(redisContext* c, const char* format, const char* key,
                benchmark::State& state) {
  auto* r = static_cast<redisReply*>(redisCommand(c, format, key));
  if (r == nullptr || r->type == REDIS_REPLY_ERROR) {
    state.SkipWithError(c->err != 0 ? c->errstr : "error reply");
    if (r != nullptr) freeReplyObject(r);
    return false;
  }
  benchmark::DoNotOptimize(r->str);
  freeReplyObject(r);
  return true;
}

// The wrapped functions, made once (wrapping reads the config's client).
struct Functions {
  std::function<int(int)> cluster_json, single_json;
  std::function<int64_t()> cluster_misses, single_misses;
};
Functions& Fns() {
  static Functions* fns = new Functions;
  return *fns;
}

// Baseline: one GET of a small JSON value on a plain hiredis connection to
// the master that owns the key (no routing at all).
void BM_RawGetOnOwningMaster(benchmark::State& state) {
  const std::string key = "raw:{bench}";
  const int port = Shared().cluster->MasterPortOf(ca::RedisKeySlot(key));
  redisContext* c = Connect(port, state);
  if (c == nullptr) return;
  if (!RawCommand(c, "SET %s {\"value\":9}", key.c_str(), state)) {
    redisFree(c);
    return;
  }
  for (auto _ : state) {
    if (!RawCommand(c, "GET %s", key.c_str(), state)) break;
  }
  redisFree(c);
}
BENCHMARK(BM_RawGetOnOwningMaster)->UseRealTime();

// The cluster client alone: one GET routed by slot.
void BM_ClusterClientGet(benchmark::State& state) {
  ca::RedisClient& client = *Shared().cluster_client;
  client.Command({"SET", "client:{bench}", "{\"value\":9}"});
  for (auto _ : state) {
    benchmark::DoNotOptimize(client.Command({"GET", "client:{bench}"}));
  }
}
BENCHMARK(BM_ClusterClientGet)->UseRealTime();

// A json hit on the cluster; reports the round trips each call cost.
void BM_ClusterJsonHit(benchmark::State& state) {
  auto& f = Fns().cluster_json;
  f(3);
  const int64_t misses = Fns().cluster_misses();
  const int64_t trips = Shared().cluster_client->round_trips();
  for (auto _ : state) benchmark::DoNotOptimize(f(3));
  state.counters["round_trips_per_call"] = benchmark::Counter(
      static_cast<double>(Shared().cluster_client->round_trips() - trips) /
      static_cast<double>(state.iterations()));
  if (Fns().cluster_misses() != misses) state.SkipWithError("not all hits");
}
BENCHMARK(BM_ClusterJsonHit)->UseRealTime();

// The same hit on the single redis-server: the difference is routing.
void BM_SingleJsonHit(benchmark::State& state) {
  auto& f = Fns().single_json;
  f(3);
  const int64_t misses = Fns().single_misses();
  for (auto _ : state) benchmark::DoNotOptimize(f(3));
  if (Fns().single_misses() != misses) state.SkipWithError("not all hits");
}
BENCHMARK(BM_SingleJsonHit)->UseRealTime();

// Throughput: 8 threads of json hits over kKeys keys (every master busy).
void HitsOverManyKeys(benchmark::State& state,
                      const std::function<int(int)>& f) {
  int n = state.thread_index() * 131;
  for (auto _ : state) {
    benchmark::DoNotOptimize(f(n % kKeys));
    n += 7;
  }
  state.SetItemsProcessed(state.iterations());
}

// Baselines for the throughput: 8 threads of raw hiredis GETs, each thread
// with its own connection to every server, over keys that live on every
// master (a small JSON value each).
void RawGets(benchmark::State& state, const std::vector<int>& ports) {
  std::vector<redisContext*> contexts;
  std::vector<std::string> keys;
  bool ok = true;
  for (size_t i = 0; ok && i < ports.size(); ++i) {
    redisContext* c = Connect(ports[i], state);
    if (c == nullptr) {
      ok = false;
      break;
    }
    contexts.push_back(c);
    // A key each server owns: on a cluster, the slot's master (bounded: a
    // master that owns none of 1,000 keys' slots is an error, not a hang).
    std::string key;
    for (int n = 0; n < 1000 && key.empty(); ++n) {
      const std::string candidate = "raw:" + std::to_string(n);
      if (ports.size() == 1 || Shared().cluster->MasterPortOf(
                                   ca::RedisKeySlot(candidate)) == ports[i]) {
        key = candidate;
      }
    }
    if (key.empty()) {
      state.SkipWithError("a master owns no slot");
      ok = false;
      break;
    }
    keys.push_back(key);
    ok = RawCommand(contexts[i], "SET %s {\"value\":9}", key.c_str(), state);
  }
  size_t n = state.thread_index();
  for (auto _ : state) {
    if (!ok) break;
    const size_t i = n++ % contexts.size();
    if (!RawCommand(contexts[i], "GET %s", keys[i].c_str(), state)) break;
  }
  state.SetItemsProcessed(state.iterations());
  for (redisContext* c : contexts) redisFree(c);
}

void BM_RawGetsOnClusterMasters(benchmark::State& state) {
  RawGets(state, Shared().cluster->MasterPorts());
}
BENCHMARK(BM_RawGetsOnClusterMasters)->Threads(8)->UseRealTime();

void BM_RawGetsOnSingle(benchmark::State& state) {
  RawGets(state, {Shared().single_port});
}
BENCHMARK(BM_RawGetsOnSingle)->Threads(8)->UseRealTime();

void BM_ClusterJsonHits(benchmark::State& state) {
  HitsOverManyKeys(state, Fns().cluster_json);
}
BENCHMARK(BM_ClusterJsonHits)->Threads(8)->UseRealTime();

void BM_SingleJsonHits(benchmark::State& state) {
  HitsOverManyKeys(state, Fns().single_json);
}
BENCHMARK(BM_SingleJsonHits)->Threads(8)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  ca::testing::RedisCluster cluster;
  ca::testing::RedisServer single;
  Shared().cluster = &cluster;
  Shared().cluster_client = ca::RedisClient::FromUrl(cluster.url());
  Shared().single_client = ca::RedisClient::FromUrl(single.url());
  Shared().single_port = single.port();
  {
    ca::config::DefaultConfig config;
    config.cache_redis_client = Shared().cluster_client;
    auto on_cluster = std::make_shared<decltype(ca::json_cache(
        {.name = "bench:json"}, Square))>(
        ca::json_cache({.limit = -1, .name = "bench:json"}, Square));
    config.cache_redis_client = Shared().single_client;
    auto on_single = std::make_shared<decltype(ca::json_cache(
        {.name = "bench:json"}, Square))>(
        ca::json_cache({.limit = -1, .name = "bench:json"}, Square));
    Fns().cluster_json = [on_cluster](int n) { return (*on_cluster)(n); };
    Fns().single_json = [on_single](int n) { return (*on_single)(n); };
    Fns().cluster_misses = [on_cluster] { return on_cluster->misses(); };
    Fns().single_misses = [on_single] { return on_single->misses(); };
    for (int n = 0; n < kKeys; ++n) {
      Fns().cluster_json(n);
      Fns().single_json(n);
    }
    benchmark::RunSpecifiedBenchmarks();
    std::printf(
        "misses after warm-up (must stay %d): cluster %lld, single "
        "%lld\n",
        kKeys, static_cast<long long>(Fns().cluster_misses()),
        static_cast<long long>(Fns().single_misses()));
    Fns() = Functions();
  }
  Shared().cluster_client.reset();
  Shared().single_client.reset();
  return 0;
}
