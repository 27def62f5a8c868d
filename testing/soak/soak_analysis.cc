// The fault soak's figures, targets and summary table.

#include "testing/soak/soak_analysis.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace cache_alchemy {
namespace testing {
namespace soak {
namespace {

// Windows with fewer calls say nothing about the hit rate.
constexpr int64_t kMinCallsPerWindow = 20;
constexpr int kAll = -1;

int64_t Ms(int64_t ns) { return ns / 1'000'000; }

std::string Percent(double rate) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f%%", 100 * rate);
  return text;
}

class Windows {
 public:
  Windows(SoakState* state, int processes)
      : state_(state), processes_(processes) {}

  // The window holding `ms` (since the start).
  int At(int64_t ms) const {
    return static_cast<int>(
        std::clamp<int64_t>(ms * 1'000'000 / kWindowNs, 0, last()));
  }
  int last() const { return state_->windows - 1; }
  static int64_t StartMs(int w) { return Ms(w * kWindowNs); }
  static int64_t EndMs(int w) { return Ms((w + 1) * kWindowNs); }

  // Calls and hits of windows [from, to] of `backend` (kAll: every one).
  std::pair<int64_t, int64_t> Sum(int from, int to, int backend) const {
    int64_t calls = 0, hits = 0;
    for (int w = from; w <= to; ++w) {
      for (int p = 0; p < processes_; ++p) {
        for (int b = 0; b < kBackends; ++b) {
          if (backend != kAll && b != backend) continue;
          calls += state_->cell(w, p, b).calls.load();
          hits += state_->cell(w, p, b).hits.load();
        }
      }
    }
    return {calls, hits};
  }
  double HitRate(int from, int to, int backend) const {
    const auto [calls, hits] = Sum(from, to, backend);
    return calls == 0 ? 0 : static_cast<double>(hits) / calls;
  }
  int64_t WorstLatencyNs(int from, int to) const {
    int64_t worst = 0;
    for (int w = from; w <= to; ++w) {
      for (int p = 0; p < processes_; ++p) {
        for (int b = 0; b < kBackends; ++b) {
          worst = std::max(worst, state_->cell(w, p, b).max_latency_ns.load());
        }
      }
    }
    return worst;
  }
  WindowSample Sample(int w) const {
    WindowSample sample;
    sample.start_ms = StartMs(w);
    for (int b = 0; b < kBackends; ++b) {
      std::tie(sample.calls[b], sample.hits[b]) = Sum(w, w, b);
    }
    sample.worst_call_ms = Ms(WorstLatencyNs(w, w));
    return sample;
  }
  // Ms from `since_ms` to the end of the first window starting at or after
  // it, before `until_ms`, whose hit rate reached `target`; -1 if none.
  int64_t Recovery(int64_t since_ms, int64_t until_ms, int backend,
                   double target) const {
    for (int w = At(since_ms + 99); w <= last() && StartMs(w) < until_ms; ++w) {
      if (StartMs(w) < since_ms) continue;
      const auto [calls, hits] = Sum(w, w, backend);
      if (calls >= kMinCallsPerWindow &&
          static_cast<double>(hits) >= target * calls) {
        return EndMs(w) - since_ms;
      }
    }
    return -1;
  }

 private:
  SoakState* state_;
  int processes_;
};

void SumTotals(SoakState* state, int processes, FaultSoakReport* report) {
  for (int b = 0; b < kBackends; ++b) {
    BackendCounts& c = report->totals[b];
    for (int p = 0; p < processes; ++p) {
      const Totals& t = state->totals[p][b];
      c.calls += t.calls.load();
      c.hits += t.hits.load();
      c.wrong += t.wrong.load();
      c.late += t.late.load();
      c.max_late_ns = std::max(c.max_late_ns, t.max_late_ns.load());
      c.read_exceptions += t.read_exceptions.load();
      c.clears += t.clears.load();
      c.full_clears += t.full_clears.load();
      c.refused_clears += t.refused_clears.load();
      c.clear_other_exceptions += t.clear_other_exceptions.load();
      c.max_latency_ns = std::max(c.max_latency_ns, t.max_latency_ns.load());
      c.fail_open_errors += t.fail_open_errors.load();
    }
  }
  for (int s = 0; s < kStats; ++s) {
    for (int p = 0; p < processes; ++p) report->stats[s] += state->stats[p][s];
  }
  for (int l = 0; l < 3; ++l) report->log_records[l] = state->log_records[l];
  const int wrong = std::min(state->wrong_recorded.load(), kMaxRecorded);
  report->wrong.assign(state->wrong, state->wrong + wrong);
  const int messages = std::min(state->messages_recorded.load(), kMaxRecorded);
  for (int m = 0; m < messages; ++m) {
    report->messages.emplace_back(state->messages[m].text);
  }
}

void Measure(const Windows& windows, FaultSoakReport* report) {
  const FaultSoakOptions& o = report->options;
  std::vector<FaultEvent>& events = report->events;
  const int64_t first_fault =
      events.empty() ? report->ran_ms : events.front().start_ms;
  report->baseline_hit_rate = windows.HitRate(
      windows.At(o.warmup_ms / 2),
      std::max(windows.At(o.warmup_ms / 2), windows.At(first_fault) - 1), kAll);
  bool never_recovered = false;
  int64_t worst_recovery = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    FaultEvent& e = events[i];
    const int64_t until =
        i + 1 < events.size() ? events[i + 1].start_ms : report->ran_ms;
    e.worst_call_ms = Ms(windows.WorstLatencyNs(windows.At(e.start_ms),
                                                windows.At(e.recovered_ms)));
    e.recovery_ms =
        windows.Recovery(e.recovered_ms, until, kAll, o.hit_rate_target);
    for (int b = 0; b < kBackends; ++b) {
      e.backend_recovery_ms[b] =
          windows.Recovery(e.recovered_ms, until, b, o.hit_rate_target);
    }
    const int settled_from = windows.At(e.recovered_ms + o.recovery_ms);
    e.settled_hit_rate = windows.HitRate(
        settled_from, std::max(settled_from, windows.At(until) - 1), kAll);
    if (o.print_series) {
      for (int w = windows.At(e.start_ms - 200);
           w <= windows.At(e.recovered_ms + o.recovery_ms + 1000); ++w) {
        e.series.push_back(windows.Sample(w));
      }
    }
    if (e.kind == kPause) {
      report->worst_hang_call_ms =
          std::max(report->worst_hang_call_ms, e.worst_call_ms);
    }
    if (e.recovery_ms < 0) never_recovered = true;
    worst_recovery = std::max(worst_recovery, e.recovery_ms);
  }
  report->worst_recovery_ms = never_recovered ? -1 : worst_recovery;
}

void AddTarget(FaultSoakReport* report, std::string what, std::string value,
               std::string bound, bool passed) {
  report->targets.push_back(
      {std::move(what), std::move(value), std::move(bound), passed});
}

void Judge(FaultSoakReport* report) {
  const FaultSoakOptions& o = report->options;
  int64_t wrong = 0, exceptions = 0, other = 0;
  for (const BackendCounts& c : report->totals) {
    wrong += c.wrong;
    exceptions += c.read_exceptions;
    other += c.clear_other_exceptions;
  }
  if (!report->harness_error.empty()) {
    AddTarget(report, "the soak ran", report->harness_error, "no error", false);
  }
  AddTarget(report, "wrong answers", std::to_string(wrong), "0", wrong == 0);
  AddTarget(report, "exceptions reaching readers", std::to_string(exceptions),
            "0", exceptions == 0);
  AddTarget(report, "crashed or hung workers",
            std::to_string(report->crashes.size()), "0",
            report->crashes.empty());
  AddTarget(report, "clears throwing other than ClearError",
            std::to_string(other), "0", other == 0);
  const int64_t latency_bound =
      static_cast<int64_t>(o.latency_factor * o.timeout_ms);
  if (report->worst_hang_call_ms >= 0) {
    AddTarget(report, "worst call during a hang",
              std::to_string(report->worst_hang_call_ms) + " ms",
              "<= " + std::to_string(latency_bound) + " ms",
              report->worst_hang_call_ms <= latency_bound);
  }
  if (!report->events.empty()) {
    const bool recovered = report->worst_recovery_ms >= 0 &&
                           report->worst_recovery_ms <= o.recovery_ms;
    AddTarget(
        report, "hits >= " + Percent(o.hit_rate_target) + " after each fault",
        report->worst_recovery_ms < 0
            ? "not reached after a fault"
            : "worst " + std::to_string(report->worst_recovery_ms) + " ms",
        "<= " + std::to_string(o.recovery_ms) + " ms", recovered);
  }
  report->passed = true;
  for (const Target& t : report->targets) report->passed &= t.passed;
}

}  // namespace

void Analyze(SoakState* state, std::vector<FaultEvent> events,
             FaultSoakReport* report) {
  report->events = std::move(events);
  if (state != nullptr) {
    SumTotals(state, report->options.processes, report);
    Measure(Windows(state, report->options.processes), report);
  }
  Judge(report);
}

void PrintFaultSoakReport(const FaultSoakReport& r, std::FILE* out) {
  const FaultSoakOptions& o = r.options;
  std::string faults;
  for (FaultKind f : o.faults) {
    faults += (faults.empty() ? "" : ",") + std::string(FaultName(f));
  }
  std::fprintf(out,
               "fault soak: %.1f s (warm-up %.1f s), %d processes x %d readers "
               "+ 1 writer, %d keys, seed %llu, timeout_ms %d, faults %s\n\n",
               r.ran_ms / 1000.0, o.warmup_ms / 1000.0, o.processes, o.threads,
               o.keys, static_cast<unsigned long long>(o.seed), o.timeout_ms,
               faults.empty() ? "none" : faults.c_str());
  std::fprintf(out,
               "late: DistributedMemoryCache answers older than another "
               "process's clear that returned less than %d ms before\n",
               PropagationBoundMs(o));
  std::fprintf(out, "%-8s %11s %7s %6s %14s %9s %9s %6s %8s %10s %9s\n",
               "backend", "calls", "hits", "wrong", "late (max ms)", "read exc",
               "clears", "full", "refused", "fail-open", "worst ms");
  BackendCounts all;
  for (int b = 0; b <= kBackends; ++b) {
    const BackendCounts& c = b < kBackends ? r.totals[b] : all;
    if (b < kBackends) {
      all.calls += c.calls, all.hits += c.hits, all.wrong += c.wrong;
      all.late += c.late, all.read_exceptions += c.read_exceptions;
      all.clears += c.clears, all.full_clears += c.full_clears;
      all.refused_clears += c.refused_clears;
      all.fail_open_errors += c.fail_open_errors;
      all.max_late_ns = std::max(all.max_late_ns, c.max_late_ns);
      all.max_latency_ns = std::max(all.max_latency_ns, c.max_latency_ns);
    }
    const std::string late =
        std::to_string(c.late) + " (" + std::to_string(Ms(c.max_late_ns)) + ")";
    std::fprintf(
        out,
        "%-8s %11lld %7s %6lld %14s %9lld %9lld %6lld %8lld %10lld %9lld\n",
        b < kBackends ? kBackendShortNames[b] : "all",
        static_cast<long long>(c.calls),
        Percent(c.calls ? static_cast<double>(c.hits) / c.calls : 0).c_str(),
        static_cast<long long>(c.wrong), late.c_str(),
        static_cast<long long>(c.read_exceptions),
        static_cast<long long>(c.clears), static_cast<long long>(c.full_clears),
        static_cast<long long>(c.refused_clears),
        static_cast<long long>(c.fail_open_errors),
        static_cast<long long>(Ms(c.max_latency_ns)));
  }
  std::fprintf(out, "\nDistributedMemoryCache (all processes):");
  for (int s = 0; s < kStats; ++s) {
    std::fprintf(out, " %s %lld", kStatNames[s],
                 static_cast<long long>(r.stats[s]));
  }
  std::fprintf(out,
               "\nlibrary log records: %lld info, %lld warning, %lld error",
               static_cast<long long>(r.log_records[0]),
               static_cast<long long>(r.log_records[1]),
               static_cast<long long>(r.log_records[2]));
  std::fprintf(out, "\nhit rate before the first fault: %s\n\n",
               Percent(r.baseline_hit_rate).c_str());
  std::fprintf(out,
               "faults (ms since the start; recovery: from the server "
               "answering again to the end of the first 100 ms window at >= "
               "%s hits; settled: the hit rate from then on)\n",
               Percent(o.hit_rate_target).c_str());
  std::fprintf(out, "%3s %-12s %8s %9s %11s %9s %20s %8s  %s\n", "#", "fault",
               "start", "answers", "worst call", "recovery", "json/pickle/dmc",
               "settled", "detail");
  for (size_t i = 0; i < r.events.size(); ++i) {
    const FaultEvent& e = r.events[i];
    const std::string each = std::to_string(e.backend_recovery_ms[0]) + "/" +
                             std::to_string(e.backend_recovery_ms[1]) + "/" +
                             std::to_string(e.backend_recovery_ms[2]);
    std::fprintf(out, "%3zu %-12s %8lld %9lld %11lld %9lld %20s %8s  %s\n",
                 i + 1, FaultName(e.kind), static_cast<long long>(e.start_ms),
                 static_cast<long long>(e.recovered_ms),
                 static_cast<long long>(e.worst_call_ms),
                 static_cast<long long>(e.recovery_ms), each.c_str(),
                 Percent(e.settled_hit_rate).c_str(), e.detail.c_str());
  }
  for (size_t i = 0; i < r.events.size(); ++i) {
    if (r.events[i].series.empty()) continue;
    std::fprintf(out,
                 "\nfault %zu (%s) in 100 ms windows: start ms, calls, "
                 "hits json/pickle/dmc, worst call ms\n",
                 i + 1, FaultName(r.events[i].kind));
    for (const WindowSample& w : r.events[i].series) {
      int64_t calls = 0;
      std::string hits;
      for (int b = 0; b < kBackends; ++b) {
        calls += w.calls[b];
        hits += (b ? "/" : "") +
                Percent(w.calls[b] ? static_cast<double>(w.hits[b]) / w.calls[b]
                                   : 0);
      }
      std::fprintf(out, "  %7lld %7lld %24s %6lld\n",
                   static_cast<long long>(w.start_ms),
                   static_cast<long long>(calls), hits.c_str(),
                   static_cast<long long>(w.worst_call_ms));
    }
  }
  if (!r.wrong.empty()) {
    std::fprintf(out, "\nwrong answers (the first %zu):\n", r.wrong.size());
    for (const WrongAnswer& w : r.wrong) {
      std::fprintf(out,
                   "  process %d, %s, key %d: got key %d version %d, floor %d "
                   "(committed by process %d, %lld ms before the call), at "
                   "%lld ms, during fault: %s; a %s taking %lld us\n",
                   w.process, kBackendShortNames[w.backend], w.key, w.got_key,
                   w.got_version, w.floor_version, w.floor_writer,
                   static_cast<long long>(Ms(w.since_commit_ns)),
                   static_cast<long long>(Ms(w.at_ns)), FaultName(w.fault),
                   w.hit ? "hit" : "miss",
                   static_cast<long long>(w.latency_ns / 1000));
    }
  }
  if (!r.messages.empty()) {
    std::fprintf(out, "\nexceptions (the first %zu):\n", r.messages.size());
    for (const std::string& m : r.messages) {
      std::fprintf(out, "  %s\n", m.c_str());
    }
  }
  for (const std::string& c : r.crashes) {
    std::fprintf(out, "\ncrash: %s", c.c_str());
  }
  std::fprintf(out, "\ntargets\n");
  for (const Target& t : r.targets) {
    std::fprintf(out, "  %-40s %-26s %-14s %s\n", t.what.c_str(),
                 t.value.c_str(), t.bound.c_str(), t.passed ? "PASS" : "FAIL");
  }
  std::fprintf(out, "result: %s\n", r.passed ? "PASS" : "FAIL");
  std::fflush(out);
}

}  // namespace soak
}  // namespace testing
}  // namespace cache_alchemy
