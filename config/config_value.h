// File: config/config_value.h
// -----------------------------------------------------------------------------
//
// The value types of the config layer: `ConfigValue` (a typed value held by a
// config key), `ConfigInput` (what a caller hands to a config, cast to the
// key's type on assignment) and `ConfigError` (a value that could not be cast,
// an unknown key, an unreadable config file).
//
//   ca::config::ConfigInput limit = 5;        // an integer
//   ca::config::ConfigInput text = "5";       // text, parsed for an int key
//   try {
//     config.set("CACHE_ALCHEMY_DEFAULT_LIMIT", "five");
//   } catch (const ca::config::ConfigError& e) {
//     // e.key() == "CACHE_ALCHEMY_DEFAULT_LIMIT", e.source() == "set",
//     // e.value() == "five"
//   }

#ifndef CACHE_ALCHEMY_CONFIG_CONFIG_VALUE_H_
#define CACHE_ALCHEMY_CONFIG_CONFIG_VALUE_H_

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "config/redact.h"

namespace cache_alchemy {
namespace config {

// The type of a config key, fixed by the type of its default value.
enum class ValueType {
  kString = 0,      // std::string
  kInt = 1,         // int64_t
  kBool = 2,        // bool
  kDouble = 3,      // double
  kStringList = 4,  // std::vector<std::string>; ':'-separated in text
};

// A typed config value. The alternative's index equals `ValueType`.
using ConfigValue =
    std::variant<std::string, int64_t, bool, double, std::vector<std::string>>;

// The type of `value`.
ValueType TypeOf(const ConfigValue& value);

// A readable name of `type`: "string", "int", "bool", "double", "list".
std::string_view TypeName(ValueType type);

// `value` as text for logs and messages: strings quoted ("abc"), lists in
// brackets (["a", "b"]), numbers and booleans as written in JSON. Passwords
// in strings are shown as *** (config/redact.h): never print a value any
// other way.
std::string FormatValue(const ConfigValue& value);

// A value given to a config (constructor brace list, configuration function,
// `set`). Text is parsed when the key is not a string key ("2" for an int key,
// "true" for a bool key, "a:b" for a list key); typed values must match the
// key's type, except that an integer is accepted for a double key.
//
// Implicit from text (const char*, std::string, std::string_view), bool, any
// integer type, float/double and std::vector<std::string>.
class ConfigInput {
 public:
  ConfigInput(const char* text) : value_(std::string(text)) {}       // NOLINT
  ConfigInput(std::string text) : value_(std::move(text)) {}         // NOLINT
  ConfigInput(std::string_view text) : value_(std::string(text)) {}  // NOLINT
  ConfigInput(bool flag) : value_(flag) {}                           // NOLINT
  // Throws std::out_of_range for an unsigned value above INT64_MAX.
  template <typename I,
            std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>,
                             int> = 0>
  ConfigInput(I number) : value_(CheckedInt(number)) {}  // NOLINT
  ConfigInput(double number) : value_(number) {}         // NOLINT
  ConfigInput(std::vector<std::string> list)             // NOLINT
      : value_(std::move(list)) {}

  // The value as given (text stays text until cast to a key's type).
  const ConfigValue& value() const { return value_; }

 private:
  template <typename I>
  static int64_t CheckedInt(I number) {
    if constexpr (std::is_unsigned_v<I> && sizeof(I) >= sizeof(int64_t)) {
      if (number > static_cast<I>(std::numeric_limits<int64_t>::max())) {
        throw std::out_of_range("config value " + std::to_string(number) +
                                " does not fit in int64_t");
      }
    }
    return static_cast<int64_t>(number);
  }

  ConfigValue value_;
};

// Key/value pairs in order, e.g. the constructor's brace list
//   {{"CACHE_ALCHEMY_DEFAULT_LIMIT", "2"}, {"CACHE_ALCHEMY_DEFAULT_EXPIRE",
//   60}}
// A class (not a std::vector alias) so that a config constructor taking
// `Overrides` accepts a brace list without ambiguity with its copy
// constructor.
class Overrides {
 public:
  using Entry = std::pair<std::string, ConfigInput>;

  Overrides() = default;
  Overrides(std::initializer_list<Entry> entries)  // NOLINT
      : entries_(entries) {}
  Overrides(std::vector<Entry> entries)  // NOLINT
      : entries_(std::move(entries)) {}

  // Appends `key` = `value`; a later entry for the same key wins.
  void emplace_back(std::string key, ConfigInput value) {
    entries_.emplace_back(std::move(key), std::move(value));
  }

  const std::vector<Entry>& entries() const { return entries_; }
  std::vector<Entry>::const_iterator begin() const { return entries_.begin(); }
  std::vector<Entry>::const_iterator end() const { return entries_.end(); }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }

 private:
  std::vector<Entry> entries_;
};

// Thrown for a value that cannot be cast to its key's type or is out of the
// key's range (from any source), an unknown key, a read with the wrong type,
// and a config file that is missing, unreadable, not valid JSON (numbers out
// of range included) or nested too deep. `what()` names the key, the source
// and the offending value; the accessors give them one by one (empty when not
// applicable, e.g. no key for an unreadable file). A password in the value,
// the source or the message is shown as *** (config/redact.h), and a long
// value is cut short.
class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string key, std::string source, std::string value,
              const std::string& message)
      : std::runtime_error(RedactSecrets(message)),
        key_(std::move(key)),
        source_(RedactSecrets(source)),
        value_(RedactSecrets(value)) {}

  // The key concerned, e.g. "CACHE_ALCHEMY_DEFAULT_LIMIT".
  const std::string& key() const { return key_; }
  // Where the value came from: "default", "constructor", "function",
  // "file <path>", "env", "set" or "get".
  const std::string& source() const { return source_; }
  // The offending value as text (passwords hidden, at most a few hundred
  // bytes).
  const std::string& value() const { return value_; }

 private:
  std::string key_;
  std::string source_;
  std::string value_;
};

}  // namespace config
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CONFIG_CONFIG_VALUE_H_
