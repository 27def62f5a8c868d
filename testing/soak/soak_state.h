// File: testing/soak/soak_state.h
// -----------------------------------------------------------------------------
//
// INTERNAL to the fault soak (testing/soak/fault_soak.h): what its worker
// processes and its controller share, in one MAP_SHARED mapping made before
// fork(). Every field the processes write is a lock-free std::atomic.
//
// Layout of the mapping: a SoakState, then `windows * kMaxProcesses *
// kBackends` WindowCells (per 100 ms window of the run, per process, per
// backend), then the versioned data (testing/versioned_keys.h).

#ifndef CACHE_ALCHEMY_TESTING_SOAK_SOAK_STATE_H_
#define CACHE_ALCHEMY_TESTING_SOAK_SOAK_STATE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace cache_alchemy {
namespace testing {
namespace soak {

inline constexpr int kBackends = 3;
inline constexpr int kMaxProcesses = 4;
inline constexpr const char* kBackendNames[kBackends] = {
    "cache_alchemy.backends.json.DistributedJsonCache",
    "cache_alchemy.backends.pickle.DistributedPickleCache",
    "cache_alchemy.backends.memory.DistributedMemoryCache",
};
inline constexpr const char* kBackendShortNames[kBackends] = {"json", "pickle",
                                                              "dmc"};
// The backend whose values stay in each process (propagation delay).
inline constexpr int kDistributedMemory = 2;
inline constexpr int64_t kWindowNs = 100'000'000;  // 100 ms

// The faults the controller injects; 0 is none.
enum FaultKind : int {
  kNoFault = 0,
  kKill = 1,        // SIGKILL, down for a while, started again (data lost)
  kPause = 2,       // SIGSTOP for a while, then SIGCONT: a hung server
  kClientKill = 3,  // CLIENT KILL TYPE normal: every command connection
  kPubsubKill = 4,  // CLIENT KILL TYPE pubsub: every subscriber connection
};

// Counters of one process and one backend over the whole run.
struct Totals {
  std::atomic<int64_t> calls{0};
  std::atomic<int64_t> hits{0};  // answered without running the function
  std::atomic<int64_t> wrong{0};
  // DistributedMemoryCache answers older than another process's clear that
  // had returned less than the propagation bound before the call.
  std::atomic<int64_t> late{0};
  std::atomic<int64_t> max_late_ns{0};
  std::atomic<int64_t> read_exceptions{0};
  std::atomic<int64_t> clears{0};                  // returned (and committed)
  std::atomic<int64_t> full_clears{0};             // of which full
  std::atomic<int64_t> refused_clears{0};          // threw ClearError (retried)
  std::atomic<int64_t> clear_other_exceptions{0};  // anything else: a bug
  std::atomic<int64_t> max_latency_ns{0};
  std::atomic<int64_t> fail_open_errors{0};  // f.errors() at the end
};

// One 100 ms window of one process and one backend (calls by start time).
struct WindowCell {
  std::atomic<int64_t> calls{0};
  std::atomic<int64_t> hits{0};
  std::atomic<int64_t> max_latency_ns{0};
};

struct WrongAnswer {
  int process, backend, key, got_key, got_version, floor_version, floor_writer,
      fault;
  int64_t at_ns;            // call start
  int64_t since_commit_ns;  // call start - floor commit
  int64_t latency_ns;       // of the call
  bool hit;                 // the call did not run the function
};

struct Message {
  char text[256];
};

inline constexpr int kMaxRecorded = 8;
// DistributedMemoryCache counters kept per process (backend_stats).
inline constexpr int kStats = 5;
inline constexpr const char* kStatNames[kStats] = {
    "invalidations_received", "refused_stores", "disconnects",
    "resubscriptions", "verified_hits"};

struct SoakState {
  int64_t t0_ns = 0;
  int windows = 0;
  std::atomic<int> ready{0};  // workers that wrapped their functions
  std::atomic<int> stop{0};
  std::atomic<int> fault{kNoFault};      // in progress
  std::atomic<int64_t> recovered_ns{0};  // when the last fault ended
  // When the next fault is due (or the run ends): full clears stay out of
  // the hit-rate measurements, [recovered, recovered + recovery_ms] and
  // the second before a fault.
  std::atomic<int64_t> next_fault_ns{std::numeric_limits<int64_t>::max()};
  Totals totals[kMaxProcesses][kBackends];
  std::atomic<int64_t> stats[kMaxProcesses][kStats];
  std::atomic<int64_t> log_records[3];  // by ca::LogLevel
  std::atomic<int> wrong_recorded{0};
  WrongAnswer wrong[kMaxRecorded];
  std::atomic<int> messages_recorded{0};
  Message messages[kMaxRecorded];

  WindowCell* cells() { return reinterpret_cast<WindowCell*>(this + 1); }
  WindowCell& cell(int window, int process, int backend) {
    return cells()[(static_cast<size_t>(window) * kMaxProcesses + process) *
                       kBackends +
                   backend];
  }
  // Where the versioned data starts.
  uint64_t* versioned_memory() {
    return reinterpret_cast<uint64_t*>(cells() + static_cast<size_t>(windows) *
                                                     kMaxProcesses * kBackends);
  }
  static size_t Bytes(int windows, size_t versioned_words) {
    return sizeof(SoakState) +
           static_cast<size_t>(windows) * kMaxProcesses * kBackends *
               sizeof(WindowCell) +
           versioned_words * sizeof(uint64_t);
  }
};

// Raises `*max` to `value` if it is larger.
inline void RaiseTo(std::atomic<int64_t>* max, int64_t value) {
  int64_t seen = max->load(std::memory_order_relaxed);
  while (seen < value &&
         !max->compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
  }
}

}  // namespace soak
}  // namespace testing
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_TESTING_SOAK_SOAK_STATE_H_
