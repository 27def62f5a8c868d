// File: config/base_config.h
// -----------------------------------------------------------------------------
//
// A configalchemy-style config object any project can reuse: a fixed set of
// upper-case keys, each with a typed default, overridden from several sources
// by priority. Every source casts its values to the key's type and reports a
// value that does not cast with a `ConfigError`.
//
// Sources, lowest priority first (a lower source never overrides a higher
// one, whatever the order in which they are applied):
//
//   defaults and the constructor's brace list   kDefaultPriority   (0)
//   the configuration function                  kFunctionPriority  (10)
//   the JSON file                               kFilePriority      (20)
//   environment variables named as the keys     kEnvPriority       (30)
//   set(key, value)                             kSetPriority       (99)
//
// Defining a project's own config:
//
//   class MyConfig : public ca::config::BaseConfig {
//    public:
//     explicit MyConfig(ca::config::Overrides defaults = {},
//                       ca::config::ConfigOptions options = {})
//         : BaseConfig(MySchema(), std::move(defaults), std::move(options)) {}
//     static const ca::config::Schema& MySchema() {
//       static const auto* schema = new ca::config::Schema{
//           .keys = {{.name = "MY_TIMEOUT", .default_value = int64_t{30}},
//                    {.name = "MY_HOSTS",
//                     .default_value = std::vector<std::string>{}}},
//           .config_file_env = "MY_CONFIG_FILE"};
//       return *schema;
//     }
//   };
//
//   MyConfig config({{"MY_TIMEOUT", 10}});    // class default 10
//   config.get<int64_t>("MY_TIMEOUT");        // 10, or $MY_TIMEOUT if set
//   config.set("MY_TIMEOUT", "45");           // cast to 45
//   config.unset("MY_TIMEOUT");               // back to the next source
//   LOG(INFO) << config.dump();

#ifndef CACHE_ALCHEMY_CONFIG_BASE_CONFIG_H_
#define CACHE_ALCHEMY_CONFIG_BASE_CONFIG_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "config/config_value.h"

namespace cache_alchemy {
namespace config {

inline constexpr int kDefaultPriority = 0;
inline constexpr int kFunctionPriority = 10;
inline constexpr int kFilePriority = 20;
inline constexpr int kEnvPriority = 30;
inline constexpr int kSetPriority = 99;

// The deepest nesting of arrays/objects a JSON config file may have (the
// top-level object counts as one level). Deeper files are refused with a
// ConfigError before anything recurses over them. A key's value needs at
// most two.
inline constexpr int kMaxConfigFileDepth = 16;

// One key of a config.
struct KeySpec {
  // Upper-case name; also the name of the environment variable read for it.
  std::string name;
  // The default; its alternative fixes the key's type.
  ConfigValue default_value;
  // One line for `dump()` readers and docs. Optional.
  std::string description;
  // Optional range check run on every value after the typecast: returns an
  // explanation ("must be >= -1") for a value it refuses, nullopt otherwise.
  std::function<std::optional<std::string>(const ConfigValue&)> check;
  // Optional: reads text given for this key (brace list, `set("K", "...")`,
  // the environment, a JSON string) instead of the typecast of the key's
  // type, e.g. a duration with units ("10m"). Returns the value (of the
  // key's type), or nullopt with `*error` saying why the text is refused.
  std::function<std::optional<ConfigValue>(std::string_view text,
                                           std::string* error)>
      parse_text;
};

// The keys of a config class.
struct Schema {
  std::vector<KeySpec> keys;
  // Name of an environment variable holding the path of a JSON config file
  // (used when `ConfigOptions::config_file` is empty). Empty: none.
  std::string config_file_env;
};

class BaseConfig;

// How a config is built beyond its defaults.
struct ConfigOptions {
  // Path of a JSON file `{"KEY": value, ...}` read at priority 20. Empty: the
  // path in the schema's `config_file_env` variable, if set and non-empty;
  // else no file.
  std::string config_file;
  // Read environment variables named as the keys (priority 30).
  bool read_environment = true;
  // Called once during construction, after the defaults are in place; its
  // key/value pairs are applied at priority 10. May read `config`.
  std::function<Overrides(const BaseConfig& config)> configuration_function;
};

// A set of typed keys with prioritized sources. Not copyable or movable.
//
// Thread safety: every method may be called from any number of threads at
// once (many readers, concurrent `set`/`unset` are serialized).
class BaseConfig {
 public:
  // Builds the config: the schema's defaults, then `defaults` (the brace
  // list, replacing the class defaults at priority 0), the configuration
  // function, the JSON file and the environment.
  // Throws ConfigError for an unknown key, a value that does not cast (naming
  // the key, the source and the value), or a config file that is missing,
  // unreadable, not valid JSON (with the parser's byte position; a number
  // out of the double range names its key), nested deeper than
  // kMaxConfigFileDepth, not an object, or names an unknown key (with a hint
  // listing close known keys). Nothing else escapes from a source.
  // Throws std::invalid_argument for a schema with duplicate or empty names.
  BaseConfig(const Schema& schema, Overrides defaults = {},
             ConfigOptions options = {});
  virtual ~BaseConfig();

  BaseConfig(const BaseConfig&) = delete;
  BaseConfig& operator=(const BaseConfig&) = delete;

  // The effective value of `key`, which must be one of std::string, int64_t,
  // bool, double, std::vector<std::string> and match the key's type.
  // Throws ConfigError for an unknown key (with close known keys) or a `T`
  // that is not the key's type (naming both types).
  template <typename T>
  T get(std::string_view key) const {
    static_assert(
        std::is_same_v<T, std::string> || std::is_same_v<T, int64_t> ||
            std::is_same_v<T, bool> || std::is_same_v<T, double> ||
            std::is_same_v<T, std::vector<std::string>>,
        "config.get<T>: T must be std::string, int64_t, bool, double or "
        "std::vector<std::string>");
    ConfigValue v = value(key);
    if (T* typed = std::get_if<T>(&v)) return std::move(*typed);
    ThrowWrongType(key, ConfigValue(T{}), v);
  }

  // The effective value of `key`. Throws ConfigError for an unknown key.
  ConfigValue value(std::string_view key) const;

  // The source label of `key`'s effective value: "default", "constructor",
  // "function", "file <path>", "env" or "set" (passwords in a label shown as
  // ***). Throws ConfigError for an unknown key.
  std::string source(std::string_view key) const;

  // Assigns `value` to `key` at priority 99, cast to the key's type.
  // Throws ConfigError (unknown key, value that does not cast); the old value
  // stays in place then.
  void set(std::string_view key, const ConfigInput& value);

  // Assigns `value` to `key` at `priority` with source label `source`; a
  // priority below the key's current top leaves the effective value as is.
  // Throws like `set`.
  void set_at(std::string_view key, const ConfigInput& value, int priority,
              std::string source);

  // Removes the top value of `key` (the highest-priority one above the
  // default), so the next source's value takes effect. Returns false, and
  // changes nothing, when no value sits above the default (values set below
  // priority 0 with set_at stay, and so does the default). Throws
  // ConfigError for an unknown key.
  bool unset(std::string_view key);

  // Whether `key` is a key of this config.
  bool has_key(std::string_view key) const;

  // The key names in schema order.
  std::vector<std::string> keys() const;

  // The type of `key`. Throws ConfigError for an unknown key.
  ValueType type_of(std::string_view key) const;

  // One line per key, in schema order: `KEY = value  [source]`. Passwords
  // (URL credentials, password= options; config/redact.h) are shown as ***.
  std::string dump() const;

  // The schema this config was built from.
  const Schema& schema() const { return schema_; }

 private:
  struct Layer {
    ConfigValue value;
    std::string source;
  };
  // Priority -> value; always holds kDefaultPriority.
  using Layers = std::map<int, Layer>;

  [[noreturn]] static void ThrowWrongType(std::string_view key,
                                          const ConfigValue& wanted,
                                          const ConfigValue& actual);
  // Index of `key` in schema_.keys; throws ConfigError naming `source`.
  size_t IndexOf(std::string_view key, std::string_view source) const;
  // Casts and checks `input` for key `index`; throws ConfigError.
  ConfigValue Cast(size_t index, const ConfigValue& input,
                   std::string_view source) const;
  void LoadFile(const std::string& path);
  void LoadEnvironment();

  const Schema schema_;
  mutable absl::Mutex mu_;
  std::vector<Layers> layers_ ABSL_GUARDED_BY(mu_);  // one per schema key
};

}  // namespace config
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CONFIG_BASE_CONFIG_H_
