#include "config/base_config.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "config/internal/typecast.h"
#include "config/redact.h"
#include "nlohmann/json.hpp"

namespace cache_alchemy {
namespace config {
namespace {

// Debian's Abseil keeps its own string_view type.
absl::string_view Av(std::string_view s) { return {s.data(), s.size()}; }

using internal::Shorten;
using internal::ShownInput;
using internal::ShownJson;
using json = nlohmann::json;

// The offending token of a number the parser could not hold ("1e999"), from
// nlohmann's message "... number overflow parsing '1e999'".
std::string OverflowToken(const std::string& message) {
  const size_t open = message.find('\'');
  const size_t close = message.rfind('\'');
  if (open == std::string::npos || close <= open) return "";
  return message.substr(open + 1, close - open - 1);
}

// Parses a config file's text. Throws ConfigError for invalid JSON (with the
// byte position), a number out of range (with its key) and nesting deeper
// than kMaxConfigFileDepth (with its key), before anything recurses over it.
json ParseFile(const std::string& text, const std::string& path,
               const std::string& source) {
  std::string key;  // the top-level key whose value is being parsed
  const json::parser_callback_t track = [&](int depth,
                                            json::parse_event_t event,
                                            json& parsed) {
    if (event == json::parse_event_t::key && depth == 1) {
      key = parsed.get<std::string>();
    } else if ((event == json::parse_event_t::object_start ||
                event == json::parse_event_t::array_start) &&
               depth >= kMaxConfigFileDepth) {
      throw ConfigError(
          key, source, "",
          absl::StrCat(key.empty() ? "config file " + path
                                   : absl::StrCat("config key ", Shorten(key),
                                                  " from ", source),
                       ": cannot use its value: nested deeper than ",
                       kMaxConfigFileDepth, " levels"));
    }
    return true;
  };
  try {
    return json::parse(text, track, /*allow_exceptions=*/true,
                       /*ignore_comments=*/true);
  } catch (const json::parse_error& e) {
    throw ConfigError(
        key, source, "",
        absl::StrCat("config file ", path, " is not valid JSON at byte ",
                     e.byte, ": ", Shorten(RedactSecrets(e.what()))));
  } catch (const json::out_of_range& e) {
    const std::string token = Shorten(OverflowToken(e.what()));
    throw ConfigError(
        key, source, token,
        absl::StrCat("config key ", Shorten(key), " from ", source,
                     ": cannot use ", token, ": the number is out of range"));
  } catch (const json::exception& e) {
    throw ConfigError(key, source, "",
                      absl::StrCat("config file ", path, " cannot be parsed: ",
                                   Shorten(RedactSecrets(e.what()))));
  }
}

std::string_view CppTypeName(ValueType type) {
  switch (type) {
    case ValueType::kString:
      return "std::string";
    case ValueType::kInt:
      return "int64_t";
    case ValueType::kBool:
      return "bool";
    case ValueType::kDouble:
      return "double";
    case ValueType::kStringList:
      return "std::vector<std::string>";
  }
  return "?";
}

}  // namespace

BaseConfig::BaseConfig(const Schema& schema, Overrides defaults,
                       ConfigOptions options)
    : schema_(schema) {
  absl::flat_hash_set<std::string> seen;
  for (const KeySpec& spec : schema_.keys) {
    if (spec.name.empty()) {
      throw std::invalid_argument("config schema has a key with no name");
    }
    if (!seen.insert(spec.name).second) {
      throw std::invalid_argument(
          absl::StrCat("config schema names key ", spec.name, " twice"));
    }
  }
  {
    absl::MutexLock lock(&mu_);
    layers_.resize(schema_.keys.size());
    for (size_t i = 0; i < schema_.keys.size(); ++i) {
      layers_[i][kDefaultPriority] =
          Layer{schema_.keys[i].default_value, "default"};
    }
  }
  for (const auto& [key, value] : defaults) {
    set_at(key, value, kDefaultPriority, "constructor");
  }
  if (options.configuration_function) {
    for (const auto& [key, value] : options.configuration_function(*this)) {
      set_at(key, value, kFunctionPriority, "function");
    }
  }
  std::string file = options.config_file;
  if (file.empty() && !schema_.config_file_env.empty()) {
    if (const char* from_env = std::getenv(schema_.config_file_env.c_str())) {
      file = from_env;
    }
  }
  if (!file.empty()) LoadFile(file);
  if (options.read_environment) LoadEnvironment();
}

BaseConfig::~BaseConfig() = default;

void BaseConfig::ThrowWrongType(std::string_view key, const ConfigValue& wanted,
                                const ConfigValue& actual) {
  const ValueType type = TypeOf(actual);
  const std::string shown = Shorten(FormatValue(actual));
  throw ConfigError(
      std::string(key), "get", shown,
      absl::StrCat("config key ", Av(key), " holds a ", Av(TypeName(type)),
                   " (", shown, "); read it with get<", Av(CppTypeName(type)),
                   ">, not get<", Av(CppTypeName(TypeOf(wanted))), ">"));
}

size_t BaseConfig::IndexOf(std::string_view key,
                           std::string_view source) const {
  for (size_t i = 0; i < schema_.keys.size(); ++i) {
    if (schema_.keys[i].name == key) return i;
  }
  throw ConfigError(
      std::string(key), std::string(source), "",
      absl::StrCat("unknown config key ", Shorten(std::string(key)), " (from ",
                   Av(source), ")", internal::UnknownKeyHint(key, keys())));
}

ConfigValue BaseConfig::Cast(size_t index, const ConfigValue& input,
                             std::string_view source) const {
  const KeySpec& spec = schema_.keys[index];
  absl::StatusOr<ConfigValue> cast = absl::InvalidArgumentError("");
  if (spec.parse_text && std::holds_alternative<std::string>(input)) {
    std::string error;
    std::optional<ConfigValue> parsed =
        spec.parse_text(std::get<std::string>(input), &error);
    cast = parsed.has_value()
               ? internal::CastValue(*parsed, TypeOf(spec.default_value))
               : absl::InvalidArgumentError(error);
  } else {
    cast = internal::CastValue(input, TypeOf(spec.default_value));
  }
  std::string reason;
  if (!cast.ok()) {
    reason = std::string(cast.status().message());
  } else if (spec.check) {
    if (std::optional<std::string> refused = spec.check(*cast)) {
      reason = *refused;
    }
  }
  if (reason.empty()) return *std::move(cast);
  throw ConfigError(spec.name, std::string(source), ShownInput(input),
                    absl::StrCat("config key ", spec.name, " from ", Av(source),
                                 ": cannot use ", Shorten(FormatValue(input)),
                                 ": ", Shorten(RedactSecrets(reason))));
}

void BaseConfig::LoadFile(const std::string& path) {
  const std::string source = absl::StrCat("file ", path);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int error = errno;
    throw ConfigError("", source, "",
                      absl::StrCat("config file ", path,
                                   " cannot be read: ", std::strerror(error)));
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) {
    throw ConfigError("", source, "",
                      absl::StrCat("config file ", path, " cannot be read"));
  }
  const json document = ParseFile(buffer.str(), path, source);
  if (!document.is_object()) {
    throw ConfigError("", source, "",
                      absl::StrCat("config file ", path,
                                   " must hold a JSON object {\"KEY\": "
                                   "value, ...}, not a JSON ",
                                   document.type_name()));
  }
  std::vector<std::pair<size_t, ConfigValue>> values;
  for (const auto& [key, item] : document.items()) {
    if (!has_key(key)) {
      throw ConfigError(
          key, source, ShownJson(item),
          absl::StrCat("config file ", path, ": unknown key ", Shorten(key),
                       internal::UnknownKeyHint(key, keys())));
    }
    const size_t index = IndexOf(key, source);
    const KeySpec& spec = schema_.keys[index];
    absl::StatusOr<ConfigValue> cast =
        spec.parse_text && item.is_string()
            ? ConfigValue(item.get<std::string>())  // read by Cast below
            : internal::CastJson(item, TypeOf(spec.default_value));
    if (!cast.ok()) {
      const std::string shown = ShownJson(item);
      throw ConfigError(
          key, source, shown,
          absl::StrCat("config key ", key, " from ", source, ": cannot use ",
                       shown, ": ", cast.status().message()));
    }
    values.emplace_back(index, Cast(index, *cast, source));
  }
  absl::MutexLock lock(&mu_);
  for (auto& [index, value] : values) {
    layers_[index][kFilePriority] = Layer{std::move(value), source};
  }
}

void BaseConfig::LoadEnvironment() {
  std::vector<std::pair<size_t, ConfigValue>> values;
  for (size_t i = 0; i < schema_.keys.size(); ++i) {
    if (const char* text = std::getenv(schema_.keys[i].name.c_str())) {
      values.emplace_back(i, Cast(i, std::string(text), "env"));
    }
  }
  absl::MutexLock lock(&mu_);
  for (auto& [index, value] : values) {
    layers_[index][kEnvPriority] = Layer{std::move(value), "env"};
  }
}

ConfigValue BaseConfig::value(std::string_view key) const {
  const size_t index = IndexOf(key, "get");
  absl::ReaderMutexLock lock(&mu_);
  return layers_[index].rbegin()->second.value;
}

std::string BaseConfig::source(std::string_view key) const {
  const size_t index = IndexOf(key, "get");
  absl::ReaderMutexLock lock(&mu_);
  return RedactSecrets(layers_[index].rbegin()->second.source);
}

void BaseConfig::set(std::string_view key, const ConfigInput& value) {
  set_at(key, value, kSetPriority, "set");
}

void BaseConfig::set_at(std::string_view key, const ConfigInput& value,
                        int priority, std::string source) {
  const size_t index = IndexOf(key, source);
  ConfigValue cast = Cast(index, value.value(), source);
  absl::MutexLock lock(&mu_);
  layers_[index][priority] = Layer{std::move(cast), std::move(source)};
}

bool BaseConfig::unset(std::string_view key) {
  const size_t index = IndexOf(key, "unset");
  absl::MutexLock lock(&mu_);
  Layers& layers = layers_[index];
  // Only a value above the default may go: never the default, nor a value
  // set below it (which the default hides anyway).
  auto top = std::prev(layers.end());
  if (top->first <= kDefaultPriority) return false;
  layers.erase(top);
  return true;
}

bool BaseConfig::has_key(std::string_view key) const {
  for (const KeySpec& spec : schema_.keys) {
    if (spec.name == key) return true;
  }
  return false;
}

std::vector<std::string> BaseConfig::keys() const {
  std::vector<std::string> names;
  names.reserve(schema_.keys.size());
  for (const KeySpec& spec : schema_.keys) names.push_back(spec.name);
  return names;
}

ValueType BaseConfig::type_of(std::string_view key) const {
  return TypeOf(schema_.keys[IndexOf(key, "get")].default_value);
}

std::string BaseConfig::dump() const {
  size_t width = 0;
  for (const KeySpec& spec : schema_.keys) {
    width = std::max(width, spec.name.size());
  }
  std::string out;
  absl::ReaderMutexLock lock(&mu_);
  for (size_t i = 0; i < schema_.keys.size(); ++i) {
    const std::string& name = schema_.keys[i].name;
    const Layer& top = layers_[i].rbegin()->second;
    absl::StrAppend(&out, name, std::string(width - name.size(), ' '), " = ",
                    FormatValue(top.value), "  [", RedactSecrets(top.source),
                    "]\n");
  }
  return out;
}

}  // namespace config
}  // namespace cache_alchemy
