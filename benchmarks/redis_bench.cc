// The Redis backends next to raw hiredis in the same binary, against a private
// redis-server the binary starts itself (testing/redis_server.h).
//
//   bazel run -c opt //benchmarks:redis_bench -- --benchmark_repetitions=5
//   --benchmark_report_aggregates_only=true
//
// Target (docs/performance.md, "Redis backends"): a json hit at most 1.15x
// one raw hiredis GET; a miss stores with one round trip.

#include <hiredis/hiredis.h>

#include <cstdio>
#include <memory>
#include <string>

#include "benchmark/benchmark.h"
#include "benchmarks/redis_support.h"
#include "cache_alchemy/cache_alchemy.h"
#include "testing/redis_server.h"

namespace ca = cache_alchemy;

namespace {

using ca::bench::Client;
using ca::bench::MeasureHits;

int Square(int n) { return n * n; }

// Baseline: one GET of a small value on a plain hiredis connection.
void BM_RawHiredisGet(benchmark::State& state) {
  const int port = ca::testing::SharedRedisServer()->port();
  redisContext* c = redisConnect("127.0.0.1", port);
  redisReply* set =
      static_cast<redisReply*>(redisCommand(c, "SET raw:key {\"value\":9}"));
  freeReplyObject(set);
  for (auto _ : state) {
    auto* r = static_cast<redisReply*>(redisCommand(c, "GET raw:key"));
    benchmark::DoNotOptimize(r->str);
    freeReplyObject(r);
  }
  redisFree(c);
}
BENCHMARK(BM_RawHiredisGet)->UseRealTime();

// The client alone: one GET through ca::RedisClient (pool, argv, reply).
void BM_RedisClientGet(benchmark::State& state) {
  Client()->Command({"SET", "client:key", "{\"value\":9}"});
  for (auto _ : state) {
    benchmark::DoNotOptimize(Client()->Command({"GET", "client:key"}));
  }
}
BENCHMARK(BM_RedisClientGet)->UseRealTime();

void BM_JsonHit(benchmark::State& state) {
  MeasureHits(state, ca::json_cache({.name = "bench:json"}, Square));
}
BENCHMARK(BM_JsonHit)->UseRealTime();

void BM_PickleHit(benchmark::State& state) {
  MeasureHits(state, ca::pickle_cache({.name = "bench:pickle"}, Square));
}
BENCHMARK(BM_PickleHit)->UseRealTime();

void BM_DistributedMemoryHit(benchmark::State& state) {
  MeasureHits(state, ca::memory_cache({.name = "bench:memory"}, Square));
}
BENCHMARK(BM_DistributedMemoryHit)->UseRealTime();

// A miss: the lookup, the call and the store. Counts round trips per miss.
void BM_JsonMiss(benchmark::State& state) {
  auto f = ca::json_cache({.limit = 1000, .name = "bench:json-miss"}, Square);
  f(-1);  // loads the store script
  static int next = 0;
  const int64_t trips = Client()->round_trips();
  for (auto _ : state) benchmark::DoNotOptimize(f(next++));
  state.counters["round_trips_per_miss"] =
      benchmark::Counter(static_cast<double>(Client()->round_trips() - trips) /
                         static_cast<double>(state.iterations()));
}
BENCHMARK(BM_JsonMiss)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  ca::config::DefaultConfig config;
  ca::bench::UsePrivateRedis(config);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  // Server-side view of the same run.
  ca::RedisReply stats = Client()->Command({"INFO", "commandstats"});
  std::printf("\nredis-server commandstats:\n%s\n", stats.str.c_str());
  Client().reset();
  return 0;
}
