// INTERNAL: casts of config inputs (text, typed values, JSON values) to a
// key's type, and the "did you mean" hint for unknown keys.

#ifndef CACHE_ALCHEMY_CONFIG_INTERNAL_TYPECAST_H_
#define CACHE_ALCHEMY_CONFIG_INTERNAL_TYPECAST_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "config/config_value.h"
#include "nlohmann/json.hpp"

namespace cache_alchemy {
namespace config {
namespace internal {

// Casts `input` to `type`: text is parsed (int: decimal, bool:
// true/false/1/0/yes/no/on/off, double: decimal, list: ':'-separated with
// empty parts dropped); an int is accepted for a double and an integral
// double for an int; anything else must already have `type`.
// Returns InvalidArgument with the reason otherwise.
absl::StatusOr<ConfigValue> CastValue(const ConfigValue& input, ValueType type);

// Converts a JSON value to a ConfigValue (strings, numbers, booleans, arrays
// of strings) and casts it to `type` as CastValue does.
absl::StatusOr<ConfigValue> CastJson(const nlohmann::json& input,
                                     ValueType type);

// `value` as JSON.
nlohmann::json ToJson(const ConfigValue& value);

// The names in `known` closest to `name` by edit distance (case-insensitive),
// best first, at most `max_results`; empty when none is reasonably close.
std::vector<std::string> CloseMatches(std::string_view name,
                                      const std::vector<std::string>& known,
                                      size_t max_results = 3);

// "; did you mean A or B?" for close matches, else "; known keys: ...".
std::string UnknownKeyHint(std::string_view name,
                           const std::vector<std::string>& known);

}  // namespace internal
}  // namespace config
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CONFIG_INTERNAL_TYPECAST_H_
