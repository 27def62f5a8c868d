#include "config/config_value.h"

#include "config/internal/typecast.h"
#include "config/redact.h"

namespace cache_alchemy {
namespace config {

ValueType TypeOf(const ConfigValue& value) {
  return static_cast<ValueType>(value.index());
}

std::string_view TypeName(ValueType type) {
  switch (type) {
    case ValueType::kString:
      return "string";
    case ValueType::kInt:
      return "int";
    case ValueType::kBool:
      return "bool";
    case ValueType::kDouble:
      return "double";
    case ValueType::kStringList:
      return "list";
  }
  return "unknown";
}

std::string FormatValue(const ConfigValue& value) {
  ConfigValue shown = value;
  if (auto* text = std::get_if<std::string>(&shown)) {
    *text = RedactSecrets(*text);
  } else if (auto* list = std::get_if<std::vector<std::string>>(&shown)) {
    for (std::string& item : *list) item = RedactSecrets(item);
  }
  return internal::ToJson(shown).dump(-1, ' ', false,
                                      nlohmann::json::error_handler_t::replace);
}

}  // namespace config
}  // namespace cache_alchemy
