// The fault soak's controller: the server, the workers, the faults.

#include "testing/soak/fault_soak.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "testing/redis_admin.h"
#include "testing/redis_server.h"
#include "testing/soak/soak_analysis.h"
#include "testing/soak/soak_worker.h"
#include "testing/versioned_keys.h"

namespace cache_alchemy {
namespace testing {
namespace soak {
namespace {

int64_t NowNs() { return VersionedKeys::NowNs(); }

void SleepMs(int64_t ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

// An anonymous MAP_SHARED mapping: inherited by fork() children, at the
// same address.
class SharedMapping {
 public:
  explicit SharedMapping(size_t bytes) : bytes_(bytes) {
    data_ = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (data_ == MAP_FAILED) throw std::runtime_error("mmap failed");
  }
  ~SharedMapping() { munmap(data_, bytes_); }
  SharedMapping(const SharedMapping&) = delete;
  SharedMapping& operator=(const SharedMapping&) = delete;
  void* data() const { return data_; }

 private:
  size_t bytes_;
  void* data_;
};

struct Workers {
  std::vector<pid_t> pids;
  std::vector<bool> reaped;

  // Describes each worker that exited abnormally (a crash) or did not exit
  // within `wait_ms` (hung: killed).
  std::vector<std::string> Reap(int wait_ms) {
    std::vector<std::string> problems;
    const int64_t deadline = NowNs() + wait_ms * 1'000'000LL;
    for (size_t p = 0; p < pids.size(); ++p) {
      int status = 0;
      pid_t done = 0;
      while (!reaped[p] && (done = waitpid(pids[p], &status, WNOHANG)) == 0 &&
             NowNs() < deadline) {
        SleepMs(10);
      }
      if (reaped[p]) continue;
      reaped[p] = true;
      const std::string who = "worker " + std::to_string(p);
      if (done == 0) {
        kill(pids[p], SIGKILL);
        waitpid(pids[p], &status, 0);
        problems.push_back(who + " hung: still running " +
                           std::to_string(wait_ms) +
                           " ms after the stop (killed)");
      } else if (WIFSIGNALED(status)) {
        problems.push_back(who + " died of signal " +
                           std::to_string(WTERMSIG(status)) + " (" +
                           strsignal(WTERMSIG(status)) + ")");
      } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
        problems.push_back(who + " exited with status " +
                           std::to_string(WEXITSTATUS(status)));
      }
    }
    return problems;
  }

  // True if a worker already exited (before the stop).
  bool AnyExited() {
    for (size_t p = 0; p < pids.size(); ++p) {
      int status = 0;
      if (!reaped[p] && waitpid(pids[p], &status, WNOHANG) == pids[p]) {
        reaped[p] = true;
        return true;
      }
    }
    return false;
  }
};

// Injects one fault; returns a detail for the report.
std::string Inject(FaultKind kind, const FaultSoakOptions& options,
                   RedisServer& server) {
  switch (kind) {
    case kKill:
      server.Stop();
      SleepMs(options.down_ms);
      server.Start();  // throws if it cannot
      return "SIGKILL, down " + std::to_string(options.down_ms) + " ms";
    case kPause:
      server.Pause();
      SleepMs(options.pause_ms);
      server.Resume();
      return "SIGSTOP for " + std::to_string(options.pause_ms) + " ms";
    case kClientKill:
    case kPubsubKill: {
      const char* type = kind == kClientKill ? "normal" : "pubsub";
      const RedisReply killed =
          AdminCommand(server.port(), {"CLIENT", "KILL", "TYPE", type});
      return std::string("CLIENT KILL TYPE ") + type + ": " +
             (killed.is_error() ? killed.str
                                : std::to_string(killed.integer) + " killed");
    }
    case kNoFault:
      break;
  }
  return "";
}

}  // namespace

std::vector<FaultKind> ParseFaults(const std::string& list) {
  std::vector<FaultKind> faults;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    const std::string name = list.substr(start, comma - start);
    start = comma + 1;
    if (name.empty()) continue;
    bool known = false;
    for (int f = kKill; f <= kPubsubKill; ++f) {
      if (name == FaultName(f)) {
        faults.push_back(static_cast<FaultKind>(f));
        known = true;
      }
    }
    if (!known) {
      throw std::invalid_argument("unknown fault '" + name +
                                  "' (known: kill, pause, client_kill, "
                                  "pubsub_kill)");
    }
  }
  return faults;
}

const char* FaultName(int fault) {
  switch (fault) {
    case kKill:
      return "kill";
    case kPause:
      return "pause";
    case kClientKill:
      return "client_kill";
    case kPubsubKill:
      return "pubsub_kill";
    default:
      return "none";
  }
}

FaultSoakReport RunFaultSoak(const FaultSoakOptions& options) {
  FaultSoakReport report;
  report.options = options;
  if (options.processes < 1 || options.processes > kMaxProcesses ||
      options.threads < 1 || options.keys < 1) {
    report.harness_error = "processes must be 1 to " +
                           std::to_string(kMaxProcesses) +
                           ", threads and keys at least 1";
    Analyze(nullptr, {}, &report);
    return report;
  }
  std::unique_ptr<RedisServer> server;
  try {
    server = std::make_unique<RedisServer>();
  } catch (const std::exception& e) {
    report.harness_error = std::string("no redis-server: ") + e.what();
    Analyze(nullptr, {}, &report);
    return report;
  }
  const std::string url =
      server->url() + "?timeout_ms=" + std::to_string(options.timeout_ms) +
      "&connect_timeout_ms=" + std::to_string(options.timeout_ms);

  // The run's windows, with room for a slow stop.
  const int windows = static_cast<int>((options.duration_ms + 60'000) *
                                       1'000'000LL / kWindowNs);
  const size_t words = VersionedKeys::Words(options.keys, kBackends);
  SharedMapping mapping(SoakState::Bytes(windows, words));
  auto* state = new (mapping.data()) SoakState;
  state->windows = windows;
  for (size_t c = 0;
       c < static_cast<size_t>(windows) * kMaxProcesses * kBackends; ++c) {
    new (state->cells() + c) WindowCell;
  }
  VersionedKeys data(state->versioned_memory(), options.keys, kBackends);
  state->t0_ns = NowNs();

  Workers workers;
  std::fflush(nullptr);  // nothing buffered twice
  for (int p = 0; p < options.processes; ++p) {
    const pid_t pid = fork();
    if (pid == 0) {
      const int code = RunWorker(options, p, url, state, data);
      std::fflush(nullptr);
      _exit(code);
    }
    if (pid < 0) {
      report.harness_error = "fork failed";
      break;
    }
    workers.pids.push_back(pid);
    workers.reaped.push_back(false);
  }

  std::vector<FaultEvent> events;
  const int64_t end_ns = state->t0_ns + options.duration_ms * 1'000'000LL;
  const int64_t ready_deadline = NowNs() + 60'000'000'000LL;
  while (report.harness_error.empty() &&
         state->ready.load() < options.processes) {
    if (NowNs() > ready_deadline || workers.AnyExited()) {
      report.harness_error = "the workers did not start (see stderr)";
    }
    SleepMs(10);
  }
  state->next_fault_ns.store(options.faults.empty()
                                 ? end_ns
                                 : NowNs() + options.warmup_ms * 1'000'000LL);
  if (report.harness_error.empty()) SleepMs(options.warmup_ms);
  // Faults in turn, each followed by its quiet period, while one fits.
  for (size_t next = 0; report.harness_error.empty() && !options.faults.empty();
       ++next) {
    const FaultKind kind = options.faults[next % options.faults.size()];
    const int64_t length = kind == kKill
                               ? options.down_ms
                               : (kind == kPause ? options.pause_ms : 0);
    if (NowNs() + (length + options.quiet_ms + 500) * 1'000'000LL > end_ns) {
      state->next_fault_ns.store(end_ns);
      break;
    }
    FaultEvent event;
    event.kind = kind;
    event.start_ms = (NowNs() - state->t0_ns) / 1'000'000;
    state->fault.store(kind);
    try {
      event.detail = Inject(kind, options, *server);
    } catch (const std::exception& e) {
      report.harness_error =
          std::string("injecting ") + FaultName(kind) + " failed: " + e.what();
    }
    const int64_t recovered = NowNs();
    state->recovered_ns.store(recovered);
    state->next_fault_ns.store(recovered + options.quiet_ms * 1'000'000LL);
    state->fault.store(kNoFault);
    event.recovered_ms = (recovered - state->t0_ns) / 1'000'000;
    events.push_back(event);
    SleepMs(options.quiet_ms);
  }
  while (report.harness_error.empty() && NowNs() < end_ns) SleepMs(50);
  report.ran_ms = (NowNs() - state->t0_ns) / 1'000'000;
  state->stop.store(1);
  report.crashes = workers.Reap(/*wait_ms=*/30'000);
  Analyze(state, std::move(events), &report);
  return report;
}

}  // namespace soak
}  // namespace testing
}  // namespace cache_alchemy
