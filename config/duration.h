// File: config/duration.h
// -----------------------------------------------------------------------------
//
// Durations written with a unit, as config values and options take them:
// "90s", "10m", "2h", "1d", or a plain integer, which counts seconds ("-1"
// and "0" keep their meaning where a key gives them one: never, not cached).
//
//   namespace ca = cache_alchemy;
//   auto f = ca::memory_cache({.expire = ca::seconds("10m")}, fn);   // 600
//   auto g = ca::memory_cache(
//       {.expire = ca::seconds("1h"),
//        .refresh_after = ca::duration("50m")}, fn);
//   // CACHE_ALCHEMY_DEFAULT_EXPIRE=2h in the environment: 7200
//
// The grammar is one integer and at most one unit, surrounding spaces
// allowed: no fractions ("1.5h"), no compound values ("1h30m"), no unit on a
// negative number. Anything else is refused with a message that shows the
// text and the accepted forms.

#ifndef CACHE_ALCHEMY_CONFIG_DURATION_H_
#define CACHE_ALCHEMY_CONFIG_DURATION_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cache_alchemy {
namespace config {

// The number of seconds `text` names, or nullopt with `*error` (if not null)
// saying why it is refused. Thread-safe; never throws.
std::optional<int64_t> ParseDurationSeconds(std::string_view text,
                                            std::string* error);

}  // namespace config

// `ca::seconds("10m")` == 600: the seconds a duration text names, for the
// integer options (`CacheOptions::expire`). Throws std::invalid_argument
// naming the text when it is not a duration.
int64_t seconds(std::string_view text);

// `ca::duration("10m")` == std::chrono::seconds(600), for the options that
// take a std::chrono duration (`CacheOptions::refresh_after`). Throws
// std::invalid_argument like `seconds`.
std::chrono::seconds duration(std::string_view text);

}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CONFIG_DURATION_H_
