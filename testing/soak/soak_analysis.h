// File: testing/soak/soak_analysis.h
// -----------------------------------------------------------------------------
//
// INTERNAL to the fault soak (testing/soak/fault_soak.h): turns what the
// workers recorded in shared memory into the report, its per-fault figures
// (worst call, hit-rate recovery in 100 ms windows) and its targets.

#ifndef CACHE_ALCHEMY_TESTING_SOAK_SOAK_ANALYSIS_H_
#define CACHE_ALCHEMY_TESTING_SOAK_SOAK_ANALYSIS_H_

#include <vector>

#include "testing/soak/fault_soak.h"
#include "testing/soak/soak_state.h"

namespace cache_alchemy {
namespace testing {
namespace soak {

// Fills `report` (whose options, ran_ms, crashes and harness_error are set)
// from `state` (null when the run never started) and `events`, then its
// targets and `passed`.
void Analyze(SoakState* state, std::vector<FaultEvent> events,
             FaultSoakReport* report);

}  // namespace soak
}  // namespace testing
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_TESTING_SOAK_SOAK_ANALYSIS_H_
