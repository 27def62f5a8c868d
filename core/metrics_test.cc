// ca::metrics (core/metrics.h): what Collect() reports for each live cached
// function and backend, and that PrometheusText() is well-formed exposition
// text with correctly escaped labels.

#include "core/metrics.h"

#include <chrono>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cache_alchemy/cache_alchemy.h"
#include "core/internal/latency_histogram.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ca = cache_alchemy;

namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kMemory[] = "cache_alchemy.backends.memory.MemoryCache";

// The record of the function named `name`, if live.
std::optional<ca::metrics::FunctionMetrics> Find(
    const std::string& name, ca::metrics::CollectOptions options = {}) {
  for (auto& f : ca::metrics::Collect(options).functions) {
    if (f.function == name) return f;
  }
  return std::nullopt;
}

int64_t MemoryEvictions() {
  for (const auto& b : ca::metrics::Collect().backends) {
    if (b.backend == kMemory) return b.evictions.value_or(-1);
  }
  return -1;
}

TEST(LatencyHistogramTest, BucketsAreInclusiveUpperBounds) {
  ca::internal::LatencyHistogram h;
  h.Record(1'000);           // exactly 1 us: the first bucket
  h.Record(1'001);           // just above: the second (2.5 us)
  h.Record(10'000'000'001);  // above 10 s: +Inf
  h.Record(-5);              // a clock step back: counted in the first, no sum
  const auto counts = h.Read();
  EXPECT_EQ(counts.buckets[0], 2);
  EXPECT_EQ(counts.buckets[1], 1);
  EXPECT_EQ(counts.buckets.back(), 1);
  EXPECT_EQ(counts.sum_nanos, 1'000 + 1'001 + 10'000'000'001);
}

TEST(MetricsTest, CountsHitsMissesPutsAndEntries) {
  auto f = ca::cache(
      {.backend = kMemory, .cache_key_prefix = "mt:", .name = "metrics.square"},
      [](int x) { return x * x; });
  f(1);
  f(1);
  f(2);
  const auto m = Find("metrics.square");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->backend, kMemory);
  EXPECT_EQ(m->prefix, "mt:");
  EXPECT_EQ(m->instances, 1);
  EXPECT_EQ(m->hits, 1);
  EXPECT_EQ(m->misses, 2);
  EXPECT_EQ(m->puts, 2);
  EXPECT_EQ(m->errors, 0);
  EXPECT_EQ(m->entries, 2);
  EXPECT_EQ(m->miss_durations.count, 2);
  EXPECT_EQ(m->miss_durations.counts.size(),
            m->miss_durations.upper_bounds_seconds.size() + 1);
  EXPECT_DOUBLE_EQ(m->miss_durations.upper_bounds_seconds.front(), 1e-6);
  EXPECT_DOUBLE_EQ(m->miss_durations.upper_bounds_seconds.back(), 10.0);
}

TEST(MetricsTest, HitsRecordNoDuration) {
  auto f = ca::cache({.backend = kMemory, .name = "metrics.hits_only"},
                     [](int x) { return x; });
  f(7);
  for (int i = 0; i < 100; ++i) f(7);
  const auto m = Find("metrics.hits_only");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->hits, 100);
  EXPECT_EQ(m->miss_durations.count, 1);
}

TEST(MetricsTest, MissDurationLandsInItsBucket) {
  auto f = ca::cache({.backend = kMemory, .name = "metrics.slow"}, [](int x) {
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
    return x;
  });
  f(1);
  const auto m = Find("metrics.slow");
  ASSERT_TRUE(m.has_value());
  const auto& d = m->miss_durations;
  ASSERT_EQ(d.count, 1);
  EXPECT_GE(d.sum_seconds, 0.003);
  for (size_t i = 0; i < d.upper_bounds_seconds.size(); ++i) {
    if (d.upper_bounds_seconds[i] < 0.003) {
      EXPECT_EQ(d.counts[i], 0) << "le=" << d.upper_bounds_seconds[i];
    }
  }
}

TEST(MetricsTest, ThrowingMissIsTimedAndNothingIsPut) {
  auto f = ca::cache({.backend = kMemory, .name = "metrics.throws"},
                     [](int x) -> int { throw std::runtime_error("no"); });
  EXPECT_THROW(f(1), std::runtime_error);
  const auto m = Find("metrics.throws");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->misses, 1);
  EXPECT_EQ(m->miss_durations.count, 1);
  EXPECT_EQ(m->puts, 0);
  EXPECT_EQ(m->entries, 0);
}

TEST(MetricsTest, StoreRefusedByAClearIsNotAPut) {
  ca::CachedFunction<int(int)>* self = nullptr;
  auto f =
      ca::cache({.backend = kMemory, .name = "metrics.fenced"}, [&self](int x) {
        self->cache_clear();  // during the computation
        return x;
      });
  self = &f;
  f(1);
  const auto m = Find("metrics.fenced");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->misses, 1);
  EXPECT_EQ(m->puts, 0);
  EXPECT_EQ(m->entries, 0);
}

TEST(MetricsTest, PassThroughHasNoBackendAndNoEntries) {
  auto f = ca::cache({.limit = 0, .name = "metrics.uncached"},
                     [](int x) { return x; });
  f(1);
  f(1);
  const auto m = Find("metrics.uncached");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->backend, "");
  EXPECT_EQ(m->misses, 2);
  EXPECT_EQ(m->miss_durations.count, 2);
  EXPECT_FALSE(m->entries.has_value());
}

TEST(MetricsTest, WrappersSharingLabelsAreSummedAndEntriesCountedOnce) {
  auto a = ca::cache({.backend = kMemory, .name = "metrics.shared"},
                     [](int x) { return x; });
  auto b = ca::cache({.backend = kMemory, .name = "metrics.shared"},
                     [](int x) { return x; });
  a(1);  // miss
  b(1);  // hit: the same store
  b(2);  // miss
  const auto m = Find("metrics.shared");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->instances, 2);
  EXPECT_EQ(m->hits, 1);
  EXPECT_EQ(m->misses, 2);
  EXPECT_EQ(m->entries, 2);  // not 4
  int records = 0;
  ca::metrics::VisitFunctions([&](const ca::metrics::FunctionMetrics& f) {
    if (f.function == "metrics.shared") ++records;
  });
  EXPECT_EQ(records, 1);
}

TEST(MetricsTest, EntriesOnlyWhenAsked) {
  auto f = ca::cache({.backend = kMemory, .name = "metrics.entries"},
                     [](int x) { return x; });
  f(1);
  EXPECT_EQ(Find("metrics.entries", {.entries = ca::metrics::Entries::kNone})
                ->entries,
            std::nullopt);
  EXPECT_EQ(
      Find("metrics.entries", {.entries = ca::metrics::Entries::kAll})->entries,
      1);
}

TEST(MetricsTest, DestroyedFunctionsDisappear) {
  {
    auto f = ca::cache({.backend = kMemory, .name = "metrics.gone"},
                       [](int x) { return x; });
    f(1);
    ASSERT_TRUE(Find("metrics.gone").has_value());
  }
  EXPECT_FALSE(Find("metrics.gone").has_value());
}

TEST(MetricsTest, MemoryCacheEvictionsSurviveTheirFunction) {
  // Backends are listed while a live function uses them.
  auto keep_listed = ca::cache({.backend = kMemory, .name = "metrics.keep"},
                               [](int x) { return x; });
  const int64_t before = MemoryEvictions();
  ASSERT_GE(before, 0) << "MemoryCache reports no evictions";
  {
    auto f =
        ca::cache({.limit = 2, .backend = kMemory, .name = "metrics.evicting"},
                  [](int x) { return x; });
    for (int i = 0; i < 5; ++i) f(i);
    EXPECT_EQ(MemoryEvictions() - before, 3);
    EXPECT_THAT(ca::metrics::PrometheusText(),
                HasSubstr(absl::StrCat("cache_alchemy_evictions_total{backend="
                                       "\"cache_alchemy.backends.memory."
                                       "MemoryCache\"} ",
                                       before + 3, "\n")));
  }
  // The store is gone; its evictions still count (a counter never drops).
  EXPECT_EQ(MemoryEvictions() - before, 3);
}

// --- The text format ---------------------------------------------------------

// A sample line: name, labels and value.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;  // unescaped values
  std::string value;
};

// Parses `text` as exposition format 0.0.4, failing the test on any line
// that is not well-formed, on a family declared twice, and on a sample that
// does not belong to the family declared last. Returns the samples.
std::vector<Sample> ParseExposition(const std::string& text) {
  static const std::regex kHelp(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+)");
  static const std::regex kType(
      R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram))");
  static const std::regex kSample(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+))");
  static const std::regex kLabel(
      R"re(([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)")re");
  std::vector<Sample> samples;
  std::set<std::string> families;
  std::string family, type;
  EXPECT_TRUE(absl::EndsWith(text, "\n"));
  for (absl::string_view raw : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    const std::string line(raw);
    std::smatch m;
    if (std::regex_match(line, m, kHelp)) {
      family = m[1];
      EXPECT_TRUE(families.insert(family).second) << "declared twice: " << line;
      type.clear();
      continue;
    }
    if (std::regex_match(line, m, kType)) {
      EXPECT_EQ(m[1], family) << "TYPE without its HELP: " << line;
      type = m[2];
      continue;
    }
    if (!std::regex_match(line, m, kSample)) {
      ADD_FAILURE() << "not a sample: " << line;
      continue;
    }
    Sample s{m[1], {}, m[3]};
    const bool belongs = s.name == family || (type == "histogram" &&
                                              (s.name == family + "_bucket" ||
                                               s.name == family + "_sum" ||
                                               s.name == family + "_count"));
    EXPECT_TRUE(belongs) << s.name << " under family " << family;
    std::string labels = m[2];
    while (!labels.empty()) {
      std::smatch l;
      if (!std::regex_search(labels, l, kLabel) || l.position(0) != 0) {
        ADD_FAILURE() << "bad labels in: " << line;
        break;
      }
      std::string value, escaped = l[2];
      for (size_t i = 0; i < escaped.size(); ++i) {
        if (escaped[i] == '\\') {
          ++i;
          value.push_back(escaped[i] == 'n' ? '\n' : escaped[i]);
        } else {
          value.push_back(escaped[i]);
        }
      }
      s.labels[l[1]] = value;
      labels = labels.substr(l.length(0));
      if (!labels.empty()) {
        EXPECT_EQ(labels[0], ',') << line;
        labels = labels.substr(1);
      }
    }
    samples.push_back(std::move(s));
  }
  return samples;
}

TEST(PrometheusTextTest, WellFormedWithCumulativeHistogram) {
  auto f = ca::cache(
      {.backend = kMemory, .cache_key_prefix = "p:", .name = "prom.f"},
      [](int x) { return x; });
  f(1);
  f(1);
  f(2);
  const std::string text = ca::metrics::PrometheusText();
  const std::vector<Sample> samples = ParseExposition(text);
  EXPECT_THAT(text,
              HasSubstr("cache_alchemy_gets_total{function=\"prom.f\",backend="
                        "\"cache_alchemy.backends.memory.MemoryCache\",prefix="
                        "\"p:\",result=\"hit\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE cache_alchemy_gets_total counter\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE cache_alchemy_miss_duration_seconds "
                              "histogram\n"));
  std::vector<std::pair<std::string, int64_t>> buckets;
  std::string count, puts, entries, misses;
  for (const Sample& s : samples) {
    auto fn = s.labels.find("function");
    if (fn == s.labels.end() || fn->second != "prom.f") continue;
    if (s.name == "cache_alchemy_miss_duration_seconds_bucket") {
      buckets.emplace_back(s.labels.at("le"), std::stoll(s.value));
    } else if (s.name == "cache_alchemy_miss_duration_seconds_count") {
      count = s.value;
    } else if (s.name == "cache_alchemy_puts_total") {
      puts = s.value;
    } else if (s.name == "cache_alchemy_entries") {
      entries = s.value;
    } else if (s.name == "cache_alchemy_gets_total" &&
               s.labels.at("result") == "miss") {
      misses = s.value;
    }
  }
  EXPECT_EQ(misses, "2");
  EXPECT_EQ(puts, "2");
  EXPECT_EQ(entries, "2");
  ASSERT_EQ(buckets.size(), 23u);
  EXPECT_EQ(buckets.front().first, "1e-06");
  EXPECT_EQ(buckets[2].first, "5e-06");
  EXPECT_EQ(buckets[6].first, "0.0001");  // as Prometheus' Go clients write it
  EXPECT_EQ(buckets[8].first, "0.0005");
  EXPECT_EQ(buckets[21].first, "10");
  EXPECT_EQ(buckets.back().first, "+Inf");
  for (size_t i = 1; i < buckets.size(); ++i) {
    EXPECT_GE(buckets[i].second, buckets[i - 1].second) << buckets[i].first;
  }
  EXPECT_EQ(buckets.back().second, 2);
  EXPECT_EQ(count, "2");
}

TEST(PrometheusTextTest, LabelValuesAreEscaped) {
  const std::string name =
      "we\"ird\\name\nline2 caf\xC3\xA9 bad\xFF end\xE2\x82";  // é; 2 bad
  auto f =
      ca::cache({.backend = kMemory, .cache_key_prefix = "q\"", .name = name},
                [](int x) { return x; });
  f(1);
  const std::string text = ca::metrics::PrometheusText();
  EXPECT_THAT(text,
              HasSubstr("{function=\"we\\\"ird\\\\name\\nline2 caf\xC3\xA9"
                        " bad\xEF\xBF\xBD end\xEF\xBF\xBD\xEF\xBF\xBD\","
                        "backend=\"cache_alchemy.backends.memory."
                        "MemoryCache\",prefix=\"q\\\"\""));
  EXPECT_THAT(text, Not(HasSubstr("\xFF")));
  // The whole text still parses, and the label reads back.
  bool found = false;
  for (const Sample& s : ParseExposition(text)) {
    if (s.name == "cache_alchemy_gets_total" &&
        absl::StartsWith(s.labels.at("function"), "we\"ird\\name\nline2 ")) {
      found = true;
      EXPECT_EQ(s.labels.at("prefix"), "q\"");
    }
  }
  EXPECT_TRUE(found);
}

TEST(PrometheusTextTest, EmptySnapshotStillDeclaresFamilies) {
  const std::string text = ca::metrics::PrometheusText(ca::metrics::Snapshot{});
  EXPECT_TRUE(ParseExposition(text).empty());
  EXPECT_THAT(text, HasSubstr("# TYPE cache_alchemy_puts_total counter\n"));
}

}  // namespace
