// The fault soak as a program (testing/soak/fault_soak.h):
//
//   bazel run -c opt //testing/soak:fault_soak -- --duration=10m
//
// prints the summary table and exits 0 when every target was met, 1 when
// one was missed, 2 on bad flags.

#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/time/time.h"
#include "testing/soak/fault_soak.h"

ABSL_FLAG(absl::Duration, duration, absl::Seconds(60),
          "the whole run, warm-up included");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(3), "before the first fault");
ABSL_FLAG(int, processes, 2, "worker processes (1 to 4)");
ABSL_FLAG(int, threads, 4, "reader threads per process");
ABSL_FLAG(int, keys, 2000, "keys of versioned data");
ABSL_FLAG(uint64_t, seed, 1, "seed of the readers' and writers' choices");
ABSL_FLAG(int, timeout_ms, 200,
          "the Redis client's timeout_ms and connect_timeout_ms");
ABSL_FLAG(int, write_interval_ms, 5, "per process, between two writes");
ABSL_FLAG(int, hot_keys, 16, "keys 0 to hot_keys - 1 are hot ...");
ABSL_FLAG(int, hot_percent, 25,
          "... and get this share (%) of reads and writes");
ABSL_FLAG(int, rewrite_percent, 50,
          "of the writes of a hot key, those followed 0 to 2 ms later by "
          "another write of it");
ABSL_FLAG(int, compute_us, 500,
          "how long a computation of a hot key takes after reading the data "
          "(a sleep: the window in which a clear may overtake it)");
ABSL_FLAG(int, full_clear_every, 100,
          "every n-th write clears a whole function (0: never)");
ABSL_FLAG(std::string, faults, "kill,pause,client_kill,pubsub_kill",
          "the faults, injected in turn: kill (SIGKILL, restart), pause "
          "(SIGSTOP, SIGCONT), client_kill (CLIENT KILL TYPE normal), "
          "pubsub_kill (CLIENT KILL TYPE pubsub); empty: none");
ABSL_FLAG(absl::Duration, down, absl::Milliseconds(500),
          "kill: how long the server stays dead");
ABSL_FLAG(absl::Duration, pause, absl::Seconds(3),
          "pause: how long the server hangs");
ABSL_FLAG(absl::Duration, quiet, absl::Seconds(4), "after each fault");
ABSL_FLAG(int, dmc_propagation_ms, -1,
          "how long after another process's clear returned a "
          "DistributedMemoryCache answer may still be older (counted as "
          "late, not wrong); -1: the documented bound for a silent "
          "connection, 1000 + timeout_ms, plus 100 for thread scheduling");
ABSL_FLAG(double, latency_factor, 2.0,
          "target: worst call during a hang <= latency_factor x timeout_ms");
ABSL_FLAG(double, hit_rate_target, 0.9,
          "target: a 100 ms window with this hit rate ...");
ABSL_FLAG(int, recovery_ms, 2000,
          "... ends within this many ms of the server answering again");

ABSL_FLAG(bool, series, false,
          "print each fault's 100 ms windows (calls, hit rates, worst call)");
ABSL_FLAG(bool, log, false,
          "print the library's log lines (backend failures, subscription "
          "changes) to stderr; they are counted either way");

namespace soak = cache_alchemy::testing::soak;

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Runs the Redis backends under load while redis-server dies, hangs and "
      "loses its connections; counts wrong answers (docs/reliability.md, "
      "section Faults and resource bounds).");
  absl::ParseCommandLine(argc, argv);
  soak::FaultSoakOptions o;
  o.duration_ms = absl::ToInt64Milliseconds(absl::GetFlag(FLAGS_duration));
  o.warmup_ms = absl::ToInt64Milliseconds(absl::GetFlag(FLAGS_warmup));
  o.processes = absl::GetFlag(FLAGS_processes);
  o.threads = absl::GetFlag(FLAGS_threads);
  o.keys = absl::GetFlag(FLAGS_keys);
  o.seed = absl::GetFlag(FLAGS_seed);
  o.timeout_ms = absl::GetFlag(FLAGS_timeout_ms);
  o.write_interval_ms = absl::GetFlag(FLAGS_write_interval_ms);
  o.full_clear_every = absl::GetFlag(FLAGS_full_clear_every);
  o.hot_keys = absl::GetFlag(FLAGS_hot_keys);
  o.hot_percent = absl::GetFlag(FLAGS_hot_percent);
  o.rewrite_percent = absl::GetFlag(FLAGS_rewrite_percent);
  o.compute_us = absl::GetFlag(FLAGS_compute_us);
  o.down_ms = absl::ToInt64Milliseconds(absl::GetFlag(FLAGS_down));
  o.pause_ms = absl::ToInt64Milliseconds(absl::GetFlag(FLAGS_pause));
  o.quiet_ms = absl::ToInt64Milliseconds(absl::GetFlag(FLAGS_quiet));
  o.dmc_propagation_ms = absl::GetFlag(FLAGS_dmc_propagation_ms);
  o.latency_factor = absl::GetFlag(FLAGS_latency_factor);
  o.hit_rate_target = absl::GetFlag(FLAGS_hit_rate_target);
  o.recovery_ms = absl::GetFlag(FLAGS_recovery_ms);
  o.print_series = absl::GetFlag(FLAGS_series);
  o.print_log = absl::GetFlag(FLAGS_log);
  try {
    o.faults = soak::ParseFaults(absl::GetFlag(FLAGS_faults));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fault_soak: --faults: %s\n", e.what());
    return 2;
  }
  const soak::FaultSoakReport report = soak::RunFaultSoak(o);
  soak::PrintFaultSoakReport(report, stdout);
  return report.passed ? 0 : 1;
}
