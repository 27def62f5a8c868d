#include "config/config_value.h"

#include "config/internal/typecast.h"

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
  return internal::ToJson(value).dump(-1, ' ', false,
                                      nlohmann::json::error_handler_t::replace);
}

}  // namespace config
}  // namespace cache_alchemy
