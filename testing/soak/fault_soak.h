// File: testing/soak/fault_soak.h
// -----------------------------------------------------------------------------
//
// The fault soak: the Redis backends under load while their server dies,
// hangs and drops connections, checked for wrong answers.
//
// A private redis-server (testing/redis_server.h) and `processes` forked
// worker processes; each worker wraps one strict cached function per
// distributed backend (json, pickle, DistributedMemoryCache, one int
// parameter, explicit names shared by every worker) over `keys` keys of
// versioned data held in shared memory (testing/versioned_keys.h).
// `threads` readers per worker call random functions on random keys; a
// writer per worker bumps a key's version, clears the key in every function
// (a partial clear, now and then a full one) and commits the version only
// once each clear returned (a clear that threw ClearError is retried). A
// controller (the calling process) meanwhile cycles through the faults:
// SIGKILL and restart, SIGSTOP and SIGCONT, CLIENT KILL TYPE normal and TYPE
// pubsub, with a quiet period after each.
//
// What it checks, each a target of the report:
//   - wrong answers: an answer older than the floor read before the call (a
//     clear of it had returned), or another key's value. For
//     DistributedMemoryCache an answer older than ANOTHER process's clear is
//     counted as wrong only when that clear returned more than the
//     propagation bound before the call; sooner, it is counted as late and
//     its delay reported. docs/redis.md ("Guarantee"): another process
//     stops serving a cleared value once its subscriber applied the message
//     or noticed a lost connection, within 1 s + timeout_ms for a silent
//     one, which a hung server is; the bound is that plus 100 ms for the
//     scheduling of the subscriber's thread on a loaded machine;
//   - exceptions reaching the caller of a read (reads fail open: none);
//   - crashed or hung workers, and clears throwing anything but ClearError;
//   - the worst call latency while the server hangs (SIGSTOP): at most
//     `latency_factor` x `timeout_ms`;
//   - the hit rate after each fault, in 100 ms windows: at or above
//     `hit_rate_target` within `recovery_ms` of the server answering again.
//
//   FaultSoakOptions options;
//   options.duration_ms = 10'000;
//   FaultSoakReport report = RunFaultSoak(options);
//   PrintFaultSoakReport(report, stdout);
//   return report.passed ? 0 : 1;
//
// Test-only (it starts servers and forks). Call from a process with no
// other threads: workers are forked.

#ifndef CACHE_ALCHEMY_TESTING_SOAK_FAULT_SOAK_H_
#define CACHE_ALCHEMY_TESTING_SOAK_FAULT_SOAK_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "testing/soak/soak_state.h"

namespace cache_alchemy {
namespace testing {
namespace soak {

struct FaultSoakOptions {
  int duration_ms = 60'000;  // the whole run, warm-up included
  int warmup_ms = 3'000;     // before the first fault
  int processes = 2;         // 1 to kMaxProcesses
  int threads = 4;           // readers per process
  int keys = 2'000;
  uint64_t seed = 1;
  int timeout_ms = 200;       // the client URL's timeout_ms and
                              // connect_timeout_ms
  int write_interval_ms = 5;  // per process
  // Keys 0 to hot_keys - 1 get hot_percent of the reads and of the writes;
  // rewrite_percent of the writes of a hot key are followed, 0 to 2 ms
  // later, by another write of it, while readers recompute it: each such
  // computation must be fenced by the second clear.
  int hot_keys = 16;
  int hot_percent = 25;
  int rewrite_percent = 50;
  // How long a computation of a hot key takes after it read the data (a
  // sleep): the window in which a clear may overtake it. Other keys
  // compute at once, so that a refill after a fault is not slowed down.
  int compute_us = 500;
  int full_clear_every = 100;  // every n-th write clears a whole
                               // function (0: never); skipped during a
                               // fault and its recovery
  std::vector<FaultKind> faults = {kKill, kPause, kClientKill, kPubsubKill};
  int down_ms = 500;     // kKill: how long the server stays dead
  int pause_ms = 3'000;  // kPause: how long it hangs
  int quiet_ms = 4'000;  // after each fault
  // The propagation bound above; -1: 1000 + timeout_ms + 100.
  int dmc_propagation_ms = -1;
  double latency_factor = 2.0;
  double hit_rate_target = 0.9;
  int recovery_ms = 2'000;
  // Test hook, to show that wrong answers are seen: every n-th run of a
  // cached function returns the version before the current one (0: never).
  int stale_every = 0;
  bool print_series = false;  // each fault's 100 ms windows in the report
  bool print_log = false;     // the library's log lines (else only counted)
};

// "kill,pause,client_kill,pubsub_kill" (any subset, in order); throws
// std::invalid_argument naming an unknown fault.
std::vector<FaultKind> ParseFaults(const std::string& list);
const char* FaultName(int fault);

// One 100 ms window, every process.
struct WindowSample {
  int64_t start_ms = 0;
  int64_t calls[kBackends] = {};
  int64_t hits[kBackends] = {};
  int64_t worst_call_ms = 0;
};

struct FaultEvent {
  int kind = kNoFault;
  int64_t start_ms = 0;       // since the run began
  int64_t recovered_ms = 0;   // the server answered again (fault's end)
  int64_t worst_call_ms = 0;  // of calls begun during the fault
  // From the end of the fault to the end of the first 100 ms window whose
  // hit rate reached the target (all backends; then each); -1: never
  // before the next fault.
  int64_t recovery_ms = -1;
  int64_t backend_recovery_ms[kBackends] = {-1, -1, -1};
  double settled_hit_rate = 0;  // from recovery_ms to the next fault
  std::string detail;
  // From 200 ms before the fault to recovery_ms + 1 s after it (with
  // print_series).
  std::vector<WindowSample> series;
};

// Totals of one backend over every process (see Totals in soak_state.h).
struct BackendCounts {
  int64_t calls = 0, hits = 0, wrong = 0, late = 0, max_late_ns = 0,
          read_exceptions = 0, clears = 0, full_clears = 0, refused_clears = 0,
          clear_other_exceptions = 0, max_latency_ns = 0, fail_open_errors = 0;
};

struct Target {
  std::string what;
  std::string value;
  std::string bound;
  bool passed = false;
};

struct FaultSoakReport {
  FaultSoakOptions options;
  int64_t ran_ms = 0;
  // Summed over processes.
  BackendCounts totals[kBackends];
  int64_t stats[kStats] = {};         // DistributedMemoryCache, summed
  int64_t log_records[3] = {};        // the library's log: info, warning, error
  std::vector<WrongAnswer> wrong;     // the first few
  std::vector<std::string> messages;  // the first few exceptions
  std::vector<std::string> crashes;   // workers that did not exit 0
  std::vector<FaultEvent> events;
  double baseline_hit_rate = 0;     // the second half of the warm-up
  int64_t worst_hang_call_ms = -1;  // -1: no hang injected
  int64_t worst_recovery_ms = -1;
  std::string harness_error;  // the soak itself could not run
  std::vector<Target> targets;
  bool passed = false;
};

// options.dmc_propagation_ms, or its default.
inline int PropagationBoundMs(const FaultSoakOptions& options) {
  return options.dmc_propagation_ms >= 0 ? options.dmc_propagation_ms
                                         : 1000 + options.timeout_ms + 100;
}

// Runs the soak. Never throws: a failure of the harness itself (no
// redis-server) is in `harness_error` and fails the report.
FaultSoakReport RunFaultSoak(const FaultSoakOptions& options);

// The summary table, the events and the targets.
void PrintFaultSoakReport(const FaultSoakReport& report, std::FILE* out);

}  // namespace soak
}  // namespace testing
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_TESTING_SOAK_FAULT_SOAK_H_
