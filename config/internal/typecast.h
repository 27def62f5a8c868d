// INTERNAL: casts of config inputs (text, typed values, JSON values) to a
// key's type, the "did you mean" hint for unknown keys, and how values are
// shown in messages (passwords hidden, long values cut short).

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
// Names longer than 256 bytes get the list of known keys (no edit distance).
std::string UnknownKeyHint(std::string_view name,
                           const std::vector<std::string>& known);

// The most bytes of a value a message shows.
inline constexpr size_t kMaxShownBytes = 256;

// `text` cut to kMaxShownBytes (at a UTF-8 boundary) plus "... (N bytes)".
// Redact before shortening: a cut could split a URL from its '@'.
std::string Shorten(std::string text);

// `input` for ConfigError::value(): text as given, else as JSON; passwords
// hidden, cut short.
std::string ShownInput(const ConfigValue& input);

// `value` as JSON for messages: passwords hidden, cut short. `value` must
// nest no deeper than the file parser allows (kMaxConfigFileDepth).
std::string ShownJson(const nlohmann::json& value);

}  // namespace internal
}  // namespace config
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CONFIG_INTERNAL_TYPECAST_H_
