// File: benchmarks/redis_support.h
// -----------------------------------------------------------------------------
//
// What the Redis benchmark binaries share: a private redis-server wired into
// the config, the client they count round trips on, and the loop that
// measures cache hits and reports the Redis round trips each call cost.
//
//   int main(int argc, char** argv) {
//     ca::config::DefaultConfig config;
//     ca::bench::UsePrivateRedis(config);
//     ...
//   }
//   void BM_JsonHit(benchmark::State& state) {
//     MeasureHits(state, ca::json_cache({.name = "bench:json"}, Square));
//   }

#ifndef CACHE_ALCHEMY_BENCHMARKS_REDIS_SUPPORT_H_
#define CACHE_ALCHEMY_BENCHMARKS_REDIS_SUPPORT_H_

#include <memory>

#include "benchmark/benchmark.h"
#include "cache_alchemy/cache_alchemy.h"
#include "testing/redis_server.h"

namespace cache_alchemy {
namespace bench {

// The client the benchmarks count round trips on; set by UsePrivateRedis.
inline std::shared_ptr<RedisClient>& Client() {
  static auto* client = new std::shared_ptr<RedisClient>();
  return *client;
}

// Starts the binary's private redis-server (testing/redis_server.h), makes
// Client() a client of it and assigns that to `config.cache_redis_client`.
// Throws std::runtime_error if the server cannot start.
inline void UsePrivateRedis(config::DefaultConfig& config) {
  Client() = RedisClient::FromUrl(testing::SharedRedisServer()->url());
  config.cache_redis_client = Client();
}

// Calls `f(3)` once to store it, then measures hits of `f(3)`; reports the
// counter round_trips_per_call, and fails the benchmark if a call missed.
template <typename F>
void MeasureHits(benchmark::State& state, F f) {
  f(3);
  const int64_t trips = Client()->round_trips();
  int n = 3;
  for (auto _ : state) {
    benchmark::DoNotOptimize(n);
    benchmark::DoNotOptimize(f(n));
  }
  state.counters["round_trips_per_call"] =
      benchmark::Counter(static_cast<double>(Client()->round_trips() - trips) /
                         static_cast<double>(state.iterations()));
  if (f.misses() > 1) state.SkipWithError("not all hits");
}

}  // namespace bench
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_BENCHMARKS_REDIS_SUPPORT_H_
