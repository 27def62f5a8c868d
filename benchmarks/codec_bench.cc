// ValueCodec<R>::Decode alone (no Redis): the client CPU a json/pickle hit
// spends turning stored bytes back into the result, for a small and a
// medium value in each format.
//
//   bazel run -c opt //benchmarks:codec_bench -- --benchmark_repetitions=10
//   --benchmark_report_aggregates_only=true

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "core/value_codec.h"

namespace ca = cache_alchemy;

namespace {

template <typename R>
void Decode(benchmark::State& state, ca::ValueFormat format, R value) {
  const ca::StoredValue stored = ca::ValueCodec<R>::Encode(
      format, std::make_shared<const R>(std::move(value)));
  const ca::ValueView view{stored.object.get(), stored.bytes};
  for (auto _ : state) {
    std::optional<R> out;
    benchmark::DoNotOptimize(ca::ValueCodec<R>::Decode(format, view, &out));
    benchmark::DoNotOptimize(out);
  }
  state.counters["bytes"] = static_cast<double>(stored.bytes.size());
}

std::vector<std::string> Words() {
  std::vector<std::string> words;
  for (int i = 0; i < 100; ++i) words.push_back("word-" + std::to_string(i));
  return words;
}

std::map<std::string, int> Scores() {
  std::map<std::string, int> scores;
  for (int i = 0; i < 100; ++i) scores["player-" + std::to_string(i)] = i;
  return scores;
}

void BM_JsonInt(benchmark::State& s) { Decode(s, ca::ValueFormat::kJson, 81); }

// The baseline of the direct JSON reader (scalars and strings): the same
// bytes through cereal's JSONInputArchive, as every JSON decode went before
// (the pre-scan included in both).
template <typename R>
void DecodeViaCereal(benchmark::State& state, R value) {
  const std::string json =
      ca::ValueCodec<R>::Encode(ca::ValueFormat::kJson,
                                std::make_shared<const R>(std::move(value)))
          .bytes;
  for (auto _ : state) {
    std::optional<R> out;
    benchmark::DoNotOptimize(
        ca::internal::JsonPrescan(json, ca::kMaxJsonDepth));
    benchmark::DoNotOptimize(ca::internal::DecodeJsonWithCereal(json, &out));
    benchmark::DoNotOptimize(out);
  }
}
void BM_JsonIntViaCereal(benchmark::State& s) { DecodeViaCereal(s, 81); }
std::string Sentence() {
  return "a cached sentence of about sixty bytes, no escapes";
}
void BM_JsonString(benchmark::State& s) {
  Decode(s, ca::ValueFormat::kJson, Sentence());
}
void BM_JsonStringViaCereal(benchmark::State& s) {
  DecodeViaCereal(s, Sentence());
}
void BM_BinaryInt(benchmark::State& s) {
  Decode(s, ca::ValueFormat::kBinary, 81);
}
void BM_JsonWords(benchmark::State& s) {
  Decode(s, ca::ValueFormat::kJson, Words());
}
void BM_BinaryWords(benchmark::State& s) {
  Decode(s, ca::ValueFormat::kBinary, Words());
}
void BM_JsonMap(benchmark::State& s) {
  Decode(s, ca::ValueFormat::kJson, Scores());
}
void BM_BinaryMap(benchmark::State& s) {
  Decode(s, ca::ValueFormat::kBinary, Scores());
}
// The nesting pre-scan alone, over the JSON of Scores() (3.7 KB).
void BM_JsonNestingScan(benchmark::State& s) {
  const std::string json =
      ca::ValueCodec<std::map<std::string, int>>::Encode(
          ca::ValueFormat::kJson,
          std::make_shared<const std::map<std::string, int>>(Scores()))
          .bytes;
  for (auto _ : s) {
    benchmark::DoNotOptimize(
        ca::internal::JsonPrescan(json, ca::kMaxJsonDepth));
  }
  s.SetBytesProcessed(static_cast<int64_t>(s.iterations() * json.size()));
}

BENCHMARK(BM_JsonInt);
BENCHMARK(BM_JsonIntViaCereal);
BENCHMARK(BM_JsonString);
BENCHMARK(BM_JsonStringViaCereal);
BENCHMARK(BM_BinaryInt);
BENCHMARK(BM_JsonWords);
BENCHMARK(BM_BinaryWords);
BENCHMARK(BM_JsonMap);
BENCHMARK(BM_BinaryMap);
BENCHMARK(BM_JsonNestingScan);

}  // namespace

BENCHMARK_MAIN();
