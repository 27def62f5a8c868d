// File: core/defaults.h
// -----------------------------------------------------------------------------
//
// INTERNAL: the defaults every wrapper reads at wrap time (backend names,
// limit, expire, key prefix, plugin path, Redis client). This is the one
// function through which the core reads configuration.

#ifndef CACHE_ALCHEMY_CORE_DEFAULTS_H_
#define CACHE_ALCHEMY_CORE_DEFAULTS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/default_config.h"
#include "core/backend.h"

namespace cache_alchemy {
namespace internal {

// The snapshot of the current config the core reads at wrap time.
using Defaults = config::DefaultSettings;

// The defaults in force now: those of the current ca::config::DefaultConfig
// (the most recently constructed live one), or with none alive the
// DefaultConfig defaults overridden by environment variables named as the
// keys. Throws ca::config::ConfigError for an environment value that does not
// cast to its key's type.
// Thread safety: may be called from any thread.
Defaults CurrentDefaults();

// The clock handed to backends opened from now on: the override set by
// `SetClockOverride` (tests), else a coarse monotonic clock.
const Clock* CurrentClock();

// The clock of envelope write times that other processes (and hosts) read
// (refresh-ahead, cached exceptions of serialized values): the override set
// by `SetClockOverride` (tests), else the system's real-time clock in Unix
// milliseconds (comparable across hosts, unlike the monotonic clock).
const Clock* CurrentStampClock();

// Makes `clock` (which must outlive every function wrapped while it is set)
// the clock of functions wrapped from now on; null restores the default.
// Used by testing/fake_clock.h.
void SetClockOverride(const Clock* clock);

}  // namespace internal
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_DEFAULTS_H_
