// File: testing/soak/soak_worker.h
// -----------------------------------------------------------------------------
//
// INTERNAL to the fault soak (testing/soak/fault_soak.h): the body of one
// worker process. It wraps the three cached functions, runs the readers and
// the writer until the controller sets `state->stop`, records everything in
// `state` (shared memory) and returns the process's exit code (0 unless the
// worker could not start).

#ifndef CACHE_ALCHEMY_TESTING_SOAK_SOAK_WORKER_H_
#define CACHE_ALCHEMY_TESTING_SOAK_SOAK_WORKER_H_

#include <string>

#include "testing/soak/fault_soak.h"
#include "testing/soak/soak_state.h"
#include "testing/versioned_keys.h"

namespace cache_alchemy {
namespace testing {
namespace soak {

// `process` is the worker's index (0 to options.processes - 1); `url` the
// server's URL with the soak's timeouts; `data` the versioned data (one
// function per backend, in kBackendNames order) in the shared mapping.
int RunWorker(const FaultSoakOptions& options, int process,
              const std::string& url, SoakState* state, VersionedKeys data);

// Records `text` as one of the first exceptions of the run (thread-safe,
// any process).
void RecordMessage(SoakState* state, const std::string& text);

}  // namespace soak
}  // namespace testing
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_TESTING_SOAK_SOAK_WORKER_H_
