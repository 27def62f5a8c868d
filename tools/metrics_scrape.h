// File: tools/metrics_scrape.h
// -----------------------------------------------------------------------------
//
// Reading a running process's metrics from outside, as Prometheus would: an
// HTTP GET of its exporter (core/metrics_exporter.h) and a parser of the
// text exposition format. For the operator CLI's `stats --from URL`.
//
//   absl::StatusOr<std::string> text =
//       HttpGet("http://127.0.0.1:9464/metrics", absl::Seconds(5));
//   absl::StatusOr<std::vector<Sample>> samples = ParseExposition(*text);

#ifndef CACHE_ALCHEMY_TOOLS_METRICS_SCRAPE_H_
#define CACHE_ALCHEMY_TOOLS_METRICS_SCRAPE_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace cache_alchemy {
namespace tools {

// One sample line: `name{label="value",...} value`.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;  // values unescaped
  double value = 0;
};

// The samples of `text` (comments and blank lines skipped). Returns
// InvalidArgument naming the line number for a line that is not a sample.
absl::StatusOr<std::vector<Sample>> ParseExposition(std::string_view text);

// The body of a 200 answer to `GET url` (`http://host[:port][/path]`, host
// a name or an IP literal, IPv6 in brackets). Returns InvalidArgument for a
// URL it does not take, Unavailable for a connection that failed or timed
// out (`timeout` covers the whole exchange), FailedPrecondition for another
// status (with the status line).
absl::StatusOr<std::string> HttpGet(const std::string& url,
                                    absl::Duration timeout);

}  // namespace tools
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_TOOLS_METRICS_SCRAPE_H_
