// Metrics of the live cached functions: collection and the Prometheus text.

#include "core/metrics.h"

#include <charconv>
#include <cmath>
#include <memory>
#include <set>
#include <string_view>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/backend.h"
#include "core/defaults.h"
#include "core/internal/function_cache.h"
#include "core/internal/latency_histogram.h"
#include "core/registry.h"

namespace cache_alchemy {
namespace metrics {
namespace {

using internal::FunctionCache;
using internal::LatencyHistogram;

MissDurations EmptyDurations() {
  MissDurations d;
  for (int64_t bound : LatencyHistogram::kBoundsNanos) {
    d.upper_bounds_seconds.push_back(static_cast<double>(bound) / 1e9);
  }
  d.counts.assign(LatencyHistogram::kBuckets, 0);
  return d;
}

void AddDurations(const LatencyHistogram::Counts& counts, MissDurations* d) {
  for (size_t i = 0; i < LatencyHistogram::kBuckets; ++i) {
    d->counts[i] += counts.buckets[i];
    d->count += counts.buckets[i];
  }
  d->sum_seconds += static_cast<double>(counts.sum_nanos) / 1e9;
}

// The loaded backend object of `name`, or null (never loads a plugin that
// is not loaded yet: every backend asked for here has a live function).
std::shared_ptr<Backend> LoadedBackend(const std::string& name) {
  std::vector<std::string> plugin_path;
  try {
    plugin_path = internal::CurrentDefaults().plugin_path;
  } catch (const std::exception&) {
    // A bad environment value: the backend is loaded already anyway.
  }
  try {
    return BackendRegistry::Global().Get(name, plugin_path);
  } catch (const std::exception&) {
    return nullptr;
  }
}

bool WantsEntries(Entries policy, const Backend* backend) {
  switch (policy) {
    case Entries::kNone:
      return false;
    case Entries::kAll:
      return true;
    case Entries::kInProcess:
      return backend != nullptr &&
             (backend->requirements() & Backend::kRequiresStableName) == 0;
  }
  return false;
}

}  // namespace

Snapshot Collect(const CollectOptions& options) {
  const std::vector<std::shared_ptr<FunctionCache>> live =
      FunctionCache::Live([](const FunctionCache&) { return true; });

  // Backends by name, looked up once each.
  std::map<std::string, std::shared_ptr<Backend>> backends;
  std::map<std::string, int64_t> functions_per_backend;
  for (const auto& fn : live) {
    const std::string& name = fn->options().backend;
    if (name.empty()) continue;
    ++functions_per_backend[name];
    if (!backends.contains(name)) backends[name] = LoadedBackend(name);
  }

  using Labels = std::tuple<std::string, std::string, std::string>;
  std::map<Labels, FunctionMetrics> merged;
  // Namespaces whose entries were counted already (wrappers of one name,
  // backend, prefix and signature share one store).
  std::set<Labels> counted_ids;
  for (const auto& fn : live) {
    const internal::ResolvedOptions& o = fn->options();
    FunctionMetrics& m = merged[Labels{o.name, o.backend, o.prefix}];
    if (m.instances == 0) {
      m.function = o.name;
      m.backend = o.backend;
      m.prefix = o.prefix;
      m.miss_durations = EmptyDurations();
    }
    ++m.instances;
    m.hits += fn->hits();
    m.misses += fn->misses();
    m.errors += fn->errors();
    m.puts += fn->stores();
    m.oversized += fn->oversized();
    AddDurations(fn->miss_durations().Read(), &m.miss_durations);
    if (!fn->enabled()) continue;
    auto backend = backends.find(o.backend);
    if (!WantsEntries(options.entries, backend == backends.end()
                                           ? nullptr
                                           : backend->second.get())) {
      continue;
    }
    // Wrappers with one id share one store (same name, so same labels).
    if (!counted_ids.insert(Labels{o.id, o.backend, o.prefix}).second) {
      continue;
    }
    const int64_t errors_before = fn->errors();
    const int64_t size = fn->size();
    // size() reports a failure as an error and 0: leave the count unknown.
    if (fn->errors() == errors_before) {
      m.entries = m.entries.value_or(0) + size;
    }
  }

  Snapshot snapshot;
  snapshot.functions.reserve(merged.size());
  for (auto& [labels, m] : merged) snapshot.functions.push_back(std::move(m));
  for (const auto& [name, backend] : backends) {
    BackendMetrics b;
    b.backend = name;
    b.functions = functions_per_backend[name];
    if (backend != nullptr) {
      try {
        b.stats = backend->Stats();
      } catch (const std::exception&) {
        // Stats() must not throw; a plugin that does shows no stats.
      }
    }
    if (auto it = b.stats.find("evictions"); it != b.stats.end()) {
      b.evictions = it->second;
    }
    snapshot.backends.push_back(std::move(b));
  }
  return snapshot;
}

void VisitFunctions(const std::function<void(const FunctionMetrics&)>& visit,
                    const CollectOptions& options) {
  for (const FunctionMetrics& f : Collect(options).functions) visit(f);
}

void VisitBackends(const std::function<void(const BackendMetrics&)>& visit) {
  for (const BackendMetrics& b :
       Collect({.entries = Entries::kNone}).backends) {
    visit(b);
  }
}

namespace {

// Appends `text` as a label value: valid UTF-8 with `\`, `"` and newline
// escaped; every byte that does not start a valid UTF-8 sequence becomes
// U+FFFD.
void AppendLabelValue(std::string_view text, std::string* out) {
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c == '\\') {
        out->append("\\\\");
      } else if (c == '"') {
        out->append("\\\"");
      } else if (c == '\n') {
        out->append("\\n");
      } else {
        out->push_back(static_cast<char>(c));
      }
      ++i;
      continue;
    }
    // Length and the smallest code point of a sequence starting with `c`.
    size_t len = 0;
    uint32_t cp = 0, min = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07, min = 0x10000;
    }
    bool valid = len != 0 && i + len <= text.size();
    for (size_t k = 1; valid && k < len; ++k) {
      const auto cont = static_cast<unsigned char>(text[i + k]);
      valid = (cont & 0xC0) == 0x80;
      cp = (cp << 6) | (cont & 0x3F);
    }
    valid =
        valid && cp >= min && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
    if (valid) {
      out->append(text.substr(i, len));
      i += len;
    } else {
      out->append("\xEF\xBF\xBD");  // U+FFFD
      ++i;
    }
  }
}

// The shortest text that reads back as `value`, in the notation Go's
// strconv.FormatFloat(v, 'g', -1, 64) picks (as Prometheus' own clients
// write "le"): scientific below 1e-4 and from 1e21, else fixed ("1e-05",
// "0.0001", "2.5", "10").
std::string Number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  const double magnitude = std::fabs(value);
  const bool scientific =
      magnitude != 0 && (magnitude < 1e-4 || magnitude >= 1e21);
  char buf[64];
  auto [end, ec] = std::to_chars(
      buf, buf + sizeof(buf), value,
      scientific ? std::chars_format::scientific : std::chars_format::fixed);
  return ec == std::errc() ? std::string(buf, end) : "NaN";
}

class Writer {
 public:
  void Family(std::string_view name, std::string_view type,
              std::string_view help) {
    for (std::string_view part :
         {std::string_view("# HELP "), name, std::string_view(" "), help,
          std::string_view("\n# TYPE "), name, std::string_view(" "), type,
          std::string_view("\n")}) {
      out_.append(part);
    }
  }

  // name{function=..,backend=..,prefix=..[,extra=..]} value
  void FunctionSample(std::string_view name, const FunctionMetrics& f,
                      std::string_view extra_label,
                      std::string_view extra_value, std::string_view value) {
    out_.append(name);
    out_.append("{function=\"");
    AppendLabelValue(f.function, &out_);
    out_.append("\",backend=\"");
    AppendLabelValue(f.backend, &out_);
    out_.append("\",prefix=\"");
    AppendLabelValue(f.prefix, &out_);
    out_.push_back('"');
    AppendExtra(extra_label, extra_value);
    out_.append("} ");
    out_.append(value);
    out_.push_back('\n');
  }

  void BackendSample(std::string_view name, std::string_view backend,
                     std::string_view extra_label, std::string_view extra_value,
                     std::string_view value) {
    out_.append(name);
    out_.append("{backend=\"");
    AppendLabelValue(backend, &out_);
    out_.push_back('"');
    AppendExtra(extra_label, extra_value);
    out_.append("} ");
    out_.append(value);
    out_.push_back('\n');
  }

  std::string Take() { return std::move(out_); }

 private:
  void AppendExtra(std::string_view label, std::string_view value) {
    if (label.empty()) return;
    out_.push_back(',');
    out_.append(label);
    out_.append("=\"");
    AppendLabelValue(value, &out_);
    out_.push_back('"');
  }

  std::string out_;
};

}  // namespace

std::string PrometheusText(const Snapshot& snapshot) {
  Writer w;
  const auto& functions = snapshot.functions;

  w.Family("cache_alchemy_gets_total", "counter",
           "Calls of cached functions by result: hit (answered without "
           "running the function) or miss (ran it).");
  for (const auto& f : functions) {
    w.FunctionSample("cache_alchemy_gets_total", f, "result", "hit",
                     absl::StrCat(f.hits));
    w.FunctionSample("cache_alchemy_gets_total", f, "result", "miss",
                     absl::StrCat(f.misses));
  }
  w.Family("cache_alchemy_errors_total", "counter",
           "Backend failures absorbed by fail-open lookups and stores, and "
           "stored values that did not decode.");
  for (const auto& f : functions) {
    w.FunctionSample("cache_alchemy_errors_total", f, "", "",
                     absl::StrCat(f.errors));
  }
  w.Family("cache_alchemy_puts_total", "counter",
           "Values stored in the backend (stores refused by a clear's fence "
           "are not counted).");
  for (const auto& f : functions) {
    w.FunctionSample("cache_alchemy_puts_total", f, "", "",
                     absl::StrCat(f.puts));
  }
  w.Family("cache_alchemy_oversized_total", "counter",
           "Results not stored because their serialized size exceeded "
           "max_value_bytes (CACHE_ALCHEMY_MAX_VALUE_BYTES).");
  for (const auto& f : functions) {
    w.FunctionSample("cache_alchemy_oversized_total", f, "", "",
                     absl::StrCat(f.oversized));
  }
  w.Family("cache_alchemy_entries", "gauge",
           "Entries the backend holds for the function now.");
  for (const auto& f : functions) {
    if (!f.entries.has_value()) continue;
    w.FunctionSample("cache_alchemy_entries", f, "", "",
                     absl::StrCat(*f.entries));
  }
  w.Family("cache_alchemy_miss_duration_seconds", "histogram",
           "How long the wrapped function ran on a miss.");
  for (const auto& f : functions) {
    const MissDurations& d = f.miss_durations;
    int64_t cumulative = 0;
    for (size_t i = 0; i < d.counts.size(); ++i) {
      cumulative += d.counts[i];
      const std::string le = i < d.upper_bounds_seconds.size()
                                 ? Number(d.upper_bounds_seconds[i])
                                 : "+Inf";
      w.FunctionSample("cache_alchemy_miss_duration_seconds_bucket", f, "le",
                       le, absl::StrCat(cumulative));
    }
    w.FunctionSample("cache_alchemy_miss_duration_seconds_sum", f, "", "",
                     Number(d.sum_seconds));
    w.FunctionSample("cache_alchemy_miss_duration_seconds_count", f, "", "",
                     absl::StrCat(cumulative));
  }

  const auto& backends = snapshot.backends;
  w.Family("cache_alchemy_functions", "gauge",
           "Live cached functions using the backend in this process.");
  for (const auto& b : backends) {
    w.BackendSample("cache_alchemy_functions", b.backend, "", "",
                    absl::StrCat(b.functions));
  }
  w.Family("cache_alchemy_evictions_total", "counter",
           "Entries evicted at the limit by this process (backends that "
           "count them).");
  for (const auto& b : backends) {
    if (!b.evictions.has_value()) continue;
    w.BackendSample("cache_alchemy_evictions_total", b.backend, "", "",
                    absl::StrCat(*b.evictions));
  }
  w.Family("cache_alchemy_backend_stat", "gauge",
           "What the backend object of this process reports "
           "(ca::backend_stats), by stat name.");
  for (const auto& b : backends) {
    for (const auto& [stat, value] : b.stats) {
      w.BackendSample("cache_alchemy_backend_stat", b.backend, "stat", stat,
                      absl::StrCat(value));
    }
  }
  return w.Take();
}

std::string PrometheusText(const CollectOptions& options) {
  return PrometheusText(Collect(options));
}

}  // namespace metrics
}  // namespace cache_alchemy
