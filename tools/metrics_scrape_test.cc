#include "tools/metrics_scrape.h"

#include <cmath>

#include "cache_alchemy/cache_alchemy.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cache_alchemy {
namespace tools {
namespace {

using ::testing::HasSubstr;

TEST(ParseExpositionTest, ReadsSamplesAndUnescapesLabels) {
  auto samples = ParseExposition(
      "# HELP x_total Things.\n"
      "# TYPE x_total counter\n"
      "x_total{a=\"q\\\"uote\\\\back\\nline\",b=\"\"} 42\n"
      "\n"
      "y 1.5e-06 1700000000\n"
      "z_bucket{le=\"+Inf\"} +Inf\n");
  ASSERT_TRUE(samples.ok()) << samples.status();
  ASSERT_EQ(samples->size(), 3u);
  EXPECT_EQ((*samples)[0].name, "x_total");
  EXPECT_EQ((*samples)[0].labels.at("a"), "q\"uote\\back\nline");
  EXPECT_EQ((*samples)[0].labels.at("b"), "");
  EXPECT_EQ((*samples)[0].value, 42);
  EXPECT_EQ((*samples)[1].value, 1.5e-06);
  EXPECT_TRUE(std::isinf((*samples)[2].value));
}

TEST(ParseExpositionTest, NamesTheBadLine) {
  auto samples = ParseExposition("ok 1\nbad{a=\"x} 2\n");
  ASSERT_FALSE(samples.ok());
  EXPECT_THAT(samples.status().message(), HasSubstr("line 2"));
  EXPECT_FALSE(ParseExposition("x{a=\"1\"}").ok());
  EXPECT_FALSE(ParseExposition("x one\n").ok());
}

TEST(ParseExpositionTest, ReadsWhatTheLibraryWrites) {
  auto f = cache({.backend = "cache_alchemy.backends.memory.MemoryCache",
                  .name = "scrape\"d\\\n"},
                 [](int x) { return x; });
  f(1);
  f(1);
  auto samples = ParseExposition(metrics::PrometheusText());
  ASSERT_TRUE(samples.ok()) << samples.status();
  bool found = false;
  for (const Sample& s : *samples) {
    if (s.name == "cache_alchemy_gets_total" &&
        s.labels.at("function") == "scrape\"d\\\n" &&
        s.labels.at("result") == "hit") {
      found = true;
      EXPECT_EQ(s.value, 1);
    }
  }
  EXPECT_TRUE(found);
}

TEST(HttpGetTest, FetchesFromTheExporterAndReportsFailures) {
  auto exporter = metrics::StartHttpExporter(0);
  auto body = HttpGet(exporter->url(), absl::Seconds(5));
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_THAT(*body, HasSubstr("# TYPE cache_alchemy_gets_total counter"));
  auto missing =
      HttpGet("http://127.0.0.1:" + std::to_string(exporter->port()) + "/x",
              absl::Seconds(5));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(missing.status().message(), HasSubstr("HTTP 404"));
  EXPECT_EQ(HttpGet("https://127.0.0.1/", absl::Seconds(1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      HttpGet("http://127.0.0.1:99999/", absl::Seconds(1)).status().code(),
      absl::StatusCode::kInvalidArgument);
  exporter.reset();
  EXPECT_EQ(HttpGet("http://127.0.0.1:1/", absl::Seconds(1)).status().code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace tools
}  // namespace cache_alchemy
