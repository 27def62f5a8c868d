// The resource soak: scenarios in forked processes, RSS checkpoints.

#include "testing/soak/resource_soak.h"

#include <malloc.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cache_alchemy/cache_alchemy.h"
#include "testing/redis_admin.h"
#include "testing/redis_server.h"

namespace cache_alchemy {
namespace testing {
namespace soak {
namespace {

constexpr char kMemory[] = "cache_alchemy.backends.memory.MemoryCache";
constexpr char kDmc[] = "cache_alchemy.backends.memory.DistributedMemoryCache";
constexpr char kJson[] = "cache_alchemy.backends.json.DistributedJsonCache";
constexpr char kPickle[] =
    "cache_alchemy.backends.pickle.DistributedPickleCache";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// What a scenario's process writes for the controller (MAP_SHARED).
struct Slot {
  int count;
  Checkpoint checkpoints[1];  // `capacity` of them
};

size_t SlotBytes(int capacity) {
  return sizeof(Slot) + sizeof(Checkpoint) * (capacity - 1);
}

// A value of about 100 bytes, so that a leak of entries shows.
std::string Value(int64_t key) {
  return std::string(100, 'v') + std::to_string(key);
}

// One batch of a scenario's work; returns the operations it did.
using Batch = std::function<int64_t()>;

// The stream scenarios: a bounded function, every call a new key.
Batch Stream(const char* backend, int limit) {
  auto f = std::make_shared<CachedFunction<std::string(int64_t)>>(cache(
      {.limit = limit, .backend = backend, .name = "rss:stream"}, &Value));
  auto next = std::make_shared<int64_t>(0);
  // Small batches: a checkpoint is taken between batches, and under ASan
  // on a loaded machine a DistributedMemoryCache miss takes about 1 ms (a
  // batch of 1000 left only 9 checkpoints after the warm-up in one CI run).
  return [f, next] {
    for (int i = 0; i < 100; ++i) (*f)((*next)++);
    return int64_t{100};
  };
}

int Plus(int x) { return x + 1; }

Batch WrapDestroy() {
  auto root = std::make_shared<CachedFunction<int(int)>>(
      cache({.backend = kMemory, .name = "rss:root"}, &Plus));
  auto cycle = std::make_shared<int64_t>(0);
  return [root, cycle] {
    FunctionCacheDependency on_root(*root);
    for (int i = 0; i < 20; ++i) {
      const int64_t c = (*cycle)++;
      const int arg = static_cast<int>(c % 10);
      switch (c % 4) {
        case 0: {  // no name: a name of its own each time
          auto f = cache({.backend = kMemory}, &Plus);
          f(arg);
          f(arg);
          break;
        }
        case 1: {
          auto f = cache({.backend = kMemory,
                          .dependency = {on_root},
                          .name = "rss:wrap:memory"},
                         &Plus);
          f(arg);
          f(arg);
          break;
        }
        case 2: {
          auto f = cache({.backend = kDmc, .name = "rss:wrap:dmc"}, &Plus);
          f(arg);
          f(arg);
          break;
        }
        case 3: {
          auto f = cache({.backend = kJson, .name = "rss:wrap:json"}, &Plus);
          f(arg);
          f(arg);
          break;
        }
      }
      if (c % 1000 == 999) root->cache_clear();  // cascades to the living
    }
    return int64_t{20};
  };
}

Batch PluginLoads(const std::string& url) {
  return [url] {
    config::DefaultConfig config;
    config.cache_redis_client = RedisClient::FromUrl(url);
    for (const char* backend : {kMemory, kDmc, kJson, kPickle}) {
      auto f = cache({.backend = backend, .name = "rss:plugin"}, &Plus);
      f(1);
    }
    for (const char* missing : {"cache_alchemy.backends.memory.NoSuchClass",
                                "cache_alchemy.backends.nosuchmodule.X"}) {
      try {
        cache({.backend = missing, .name = "rss:missing"}, &Plus);
        throw std::logic_error(std::string("loaded ") + missing);
      } catch (const BackendNotFoundError&) {
      }
    }
    return int64_t{1};
  };
}

// The body of a scenario's process.
int RunScenario(Scenario scenario, const ResourceSoakOptions& options,
                const std::string& url, Slot* slot, int capacity) {
  try {
    SetLogSink([](const LogRecord&) {});  // a failure shows in the figures
    config::DefaultConfig config;
    config.cache_redis_client = RedisClient::FromUrl(url);
    Batch batch;
    switch (scenario) {
      case Scenario::kMemoryStream:
        batch = Stream(kMemory, options.limit);
        break;
      case Scenario::kDmcStream:
        batch = Stream(kDmc, options.limit);
        break;
      case Scenario::kWrapDestroy:
        batch = WrapDestroy();
        break;
      case Scenario::kPluginLoads:
        batch = PluginLoads(url);
        break;
    }
    const int64_t start = NowMs();
    int64_t operations = 0;
    auto record = [&] {
      if (slot->count >= capacity) return;
      slot->checkpoints[slot->count++] = {NowMs() - start, ResidentBytes(),
                                          HeapInUseBytes(), operations};
    };
    record();
    int64_t next = start + options.interval_ms;
    while (NowMs() - start < options.duration_ms ||
           (scenario == Scenario::kWrapDestroy &&
            operations < options.wrap_cycles)) {
      operations += batch();
      if (NowMs() >= next) {
        record();
        next += options.interval_ms;
      }
    }
    record();
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "resource soak: %s failed: %s\n",
                 ScenarioName(scenario), e.what());
    return 3;
  }
}

void Judge(const ResourceSoakOptions& options, ScenarioResult* r) {
  const std::vector<Checkpoint>& s = r->series;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i].at_ms >= options.warmup_ms && i + 1 < s.size()) {
      r->baseline = static_cast<int>(i);
      break;
    }
  }
  if (r->baseline < 0) {
    if (r->problem.empty()) {
      r->problem = "no checkpoint after the warm-up (the run was too short)";
    }
    return;
  }
  const int64_t base = s[r->baseline].rss_bytes;
  for (size_t i = r->baseline + 1; i < s.size(); ++i) {
    r->worst_rss = std::max(r->worst_rss, s[i].rss_bytes);
  }
#if defined(__SANITIZE_ADDRESS__)
  // The live heap (see ResidentBytes) of a scenario is under 2 MB, and one
  // batch of deferred frees swings it by more than 10% of that: growth is
  // measured against at least 4 MB. A leak still shows (memory_stream makes
  // 250,000 calls in the short run: 16 bytes each would be 4 MB).
  r->growth = static_cast<double>(r->worst_rss - base) /
              std::max<int64_t>(base, int64_t{4} << 20);
#else
  r->growth = static_cast<double>(r->worst_rss) / base - 1;
#endif
  if (r->problem.empty() && r->growth > options.max_growth) {
    r->problem =
        "RSS grew " + std::to_string(r->growth * 100) + "% after the warm-up";
  }
  if (r->problem.empty() && r->scenario == Scenario::kWrapDestroy &&
      s.back().operations < options.wrap_cycles) {
    r->problem = "too few wrap/destroy cycles";
  }
  r->passed = r->problem.empty();
}

std::string Megabytes(int64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f MB", bytes / 1048576.0);
  return text;
}

}  // namespace

#if defined(__SANITIZE_ADDRESS__)
// From the sanitizer runtime (sanitizer/allocator_interface.h, which
// Debian ships with clang only).
extern "C" size_t __sanitizer_get_current_allocated_bytes();
#endif

int64_t ResidentBytes() {
#if defined(__SANITIZE_ADDRESS__)
  // Under AddressSanitizer the resident set measures ASan itself: freed
  // memory it holds back to catch uses after free (a 256 MB quarantine),
  // and shadow memory. The live heap as its allocator counts it (exact)
  // stands in; the RSS bound proper is checked by the default build.
  return static_cast<int64_t>(__sanitizer_get_current_allocated_bytes());
#endif
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

int64_t HeapInUseBytes() {
  const struct mallinfo2 info = mallinfo2();
  return static_cast<int64_t>(info.uordblks + info.hblkhd);
}

const char* ScenarioName(Scenario scenario) {
  switch (scenario) {
    case Scenario::kMemoryStream:
      return "memory_stream";
    case Scenario::kDmcStream:
      return "dmc_stream";
    case Scenario::kWrapDestroy:
      return "wrap_destroy";
    case Scenario::kPluginLoads:
      return "plugin_loads";
  }
  return "?";
}

std::vector<Scenario> ParseScenarios(const std::string& list) {
  const std::vector<Scenario> all = ResourceSoakOptions().scenarios;
  if (list == "all") return all;
  std::vector<Scenario> chosen;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    const std::string name = list.substr(start, comma - start);
    start = comma + 1;
    if (name.empty()) continue;
    auto it = std::find_if(all.begin(), all.end(),
                           [&](Scenario s) { return name == ScenarioName(s); });
    if (it == all.end()) {
      throw std::invalid_argument("unknown scenario '" + name +
                                  "' (known: all, memory_stream, dmc_stream, "
                                  "wrap_destroy, plugin_loads)");
    }
    chosen.push_back(*it);
  }
  return chosen;
}

ResourceSoakReport RunResourceSoak(const ResourceSoakOptions& options) {
  ResourceSoakReport report;
  report.options = options;
  std::unique_ptr<RedisServer> server;
  try {
    server = std::make_unique<RedisServer>();
  } catch (const std::exception& e) {
    report.harness_error = std::string("no redis-server: ") + e.what();
    return report;
  }
  const int capacity =
      options.duration_ms / std::max(1, options.interval_ms) + 1000;
  const size_t slot_bytes = SlotBytes(capacity);
  const size_t n = options.scenarios.size();
  void* memory = mmap(nullptr, slot_bytes * n, PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) {
    report.harness_error = "mmap failed";
    return report;
  }
  auto slot = [&](size_t i) {
    return reinterpret_cast<Slot*>(static_cast<char*>(memory) + i * slot_bytes);
  };
  std::vector<pid_t> pids(n, -1);
  std::fflush(nullptr);
  for (size_t i = 0; i < n; ++i) {
    slot(i)->count = 0;
    pids[i] = fork();
    if (pids[i] == 0) {
      const int code = RunScenario(options.scenarios[i], options, server->url(),
                                   slot(i), capacity);
      std::fflush(nullptr);
      _exit(code);
    }
  }
  // Redis's own memory, while they run.
  const int64_t start = NowMs();
  std::vector<int> status(n, -1);
  size_t running = n;
  int64_t next_sample = start;
  while (running > 0) {
    if (NowMs() >= next_sample) {
      try {
        report.redis_used_memory.push_back(std::stoll(
            InfoField(AdminCommand(server->port(), {"INFO", "memory"}).str,
                      "used_memory")));
      } catch (const std::exception&) {
        report.redis_used_memory.push_back(-1);
      }
      next_sample += options.interval_ms;
    }
    for (size_t i = 0; i < n; ++i) {
      if (status[i] == -1 && pids[i] > 0 &&
          waitpid(pids[i], &status[i], WNOHANG) == pids[i]) {
        --running;
      } else if (status[i] == -1 && pids[i] <= 0) {
        status[i] = 1 << 8;
        --running;
      }
    }
    if (NowMs() - start > options.duration_ms + 600'000) {  // hung
      for (size_t i = 0; i < n; ++i) {
        if (status[i] == -1) kill(pids[i], SIGKILL);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  report.passed = true;
  for (size_t i = 0; i < n; ++i) {
    ScenarioResult r;
    r.scenario = options.scenarios[i];
    r.series.assign(slot(i)->checkpoints,
                    slot(i)->checkpoints + slot(i)->count);
    if (!WIFEXITED(status[i]) || WEXITSTATUS(status[i]) != 0) {
      r.problem =
          WIFSIGNALED(status[i])
              ? "died of signal " + std::to_string(WTERMSIG(status[i]))
              : "exited with status " + std::to_string(WEXITSTATUS(status[i]));
    }
    Judge(options, &r);
    report.passed &= r.passed;
    report.results.push_back(std::move(r));
  }
  munmap(memory, slot_bytes * n);
  return report;
}

void PrintResourceSoakReport(const ResourceSoakReport& report, std::FILE* out) {
  const ResourceSoakOptions& o = report.options;
  std::fprintf(out,
               "resource soak: %.0f s per scenario, at the same time (warm-up "
               "%.0f s), checkpoints every %.1f s, limit %d, at least %lld "
               "wrap/destroy cycles\n\n",
               o.duration_ms / 1000.0, o.warmup_ms / 1000.0,
               o.interval_ms / 1000.0, o.limit,
               static_cast<long long>(o.wrap_cycles));
#if defined(__SANITIZE_ADDRESS__)
  std::fprintf(out,
               "(AddressSanitizer build: \"RSS\" below is the live heap, "
               "__sanitizer_get_current_allocated_bytes)\n\n");
#endif
  if (!report.harness_error.empty()) {
    std::fprintf(out, "harness error: %s\n", report.harness_error.c_str());
  }
  std::fprintf(out, "%-14s %12s %10s %10s %10s %8s %18s  %s\n", "scenario",
               "operations", "start RSS", "baseline", "worst", "growth",
               "heap base -> end", "result");
  for (const ScenarioResult& r : report.results) {
    const std::vector<Checkpoint>& s = r.series;
    const bool has = !s.empty() && r.baseline >= 0;
    char growth[16];
    std::snprintf(growth, sizeof(growth), "%+.1f%%", r.growth * 100);
    const std::string heap = has ? Megabytes(s[r.baseline].heap_bytes) +
                                       " -> " + Megabytes(s.back().heap_bytes)
                                 : "-";
    std::fprintf(out, "%-14s %12lld %10s %10s %10s %8s %18s  %s\n",
                 ScenarioName(r.scenario),
                 static_cast<long long>(s.empty() ? 0 : s.back().operations),
                 s.empty() ? "-" : Megabytes(s.front().rss_bytes).c_str(),
                 has ? Megabytes(s[r.baseline].rss_bytes).c_str() : "-",
                 has ? Megabytes(r.worst_rss).c_str() : "-", has ? growth : "-",
                 heap.c_str(),
                 r.passed ? "PASS" : ("FAIL: " + r.problem).c_str());
  }
  std::fprintf(out,
               "\nRSS (MB) at each checkpoint (s since the start; redis: the "
               "server's used_memory, sampled at the same pace)\n");
  std::fprintf(out, "%8s", "t");
  for (const ScenarioResult& r : report.results) {
    std::fprintf(out, " %14s", ScenarioName(r.scenario));
  }
  std::fprintf(out, " %14s\n", "redis used");
  size_t rows = report.redis_used_memory.size();
  for (const ScenarioResult& r : report.results) {
    rows = std::max(rows, r.series.size());
  }
  for (size_t i = 0; i < rows; ++i) {
    int64_t at_ms = i * o.interval_ms;  // the first scenario's, if it has one
    for (const ScenarioResult& r : report.results) {
      if (i < r.series.size()) {
        at_ms = r.series[i].at_ms;
        break;
      }
    }
    std::fprintf(out, "%8.1f", at_ms / 1000.0);
    for (const ScenarioResult& r : report.results) {
      if (i < r.series.size()) {
        std::fprintf(out, " %14.2f", r.series[i].rss_bytes / 1048576.0);
      } else {
        std::fprintf(out, " %14s", "");
      }
    }
    if (i < report.redis_used_memory.size()) {
      std::fprintf(out, " %14.2f", report.redis_used_memory[i] / 1048576.0);
    }
    std::fprintf(out, "\n");
  }
  std::fprintf(out, "result: %s\n", report.passed ? "PASS" : "FAIL");
  std::fflush(out);
}

}  // namespace soak
}  // namespace testing
}  // namespace cache_alchemy
