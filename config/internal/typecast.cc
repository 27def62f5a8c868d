#include "config/internal/typecast.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "config/redact.h"

namespace cache_alchemy {
namespace config {
namespace internal {
namespace {

// Debian's Abseil keeps its own string_view type.
absl::string_view Av(std::string_view s) { return {s.data(), s.size()}; }

absl::Status Mismatch(ValueType from, ValueType to) {
  return absl::InvalidArgumentError(absl::StrCat("expected ", Av(TypeName(to)),
                                                 ", got ", Av(TypeName(from))));
}

absl::StatusOr<ConfigValue> ParseText(std::string_view text, ValueType type) {
  const absl::string_view trimmed = absl::StripAsciiWhitespace(Av(text));
  switch (type) {
    case ValueType::kString:
      return ConfigValue(std::string(text));
    case ValueType::kInt: {
      int64_t number = 0;
      if (!trimmed.empty() && absl::SimpleAtoi(trimmed, &number)) {
        return ConfigValue(number);
      }
      return absl::InvalidArgumentError(
          "expected int: a decimal integer in the int64 range");
    }
    case ValueType::kBool: {
      const std::string lower = absl::AsciiStrToLower(trimmed);
      if (lower == "true" || lower == "1" || lower == "yes" || lower == "on") {
        return ConfigValue(true);
      }
      if (lower == "false" || lower == "0" || lower == "no" || lower == "off") {
        return ConfigValue(false);
      }
      return absl::InvalidArgumentError(
          "expected bool: true/false, 1/0, yes/no or on/off");
    }
    case ValueType::kDouble: {
      double number = 0;
      if (!trimmed.empty() && absl::SimpleAtod(trimmed, &number) &&
          std::isfinite(number)) {
        return ConfigValue(number);
      }
      return absl::InvalidArgumentError(
          "expected double: a finite decimal number");
    }
    case ValueType::kStringList: {
      std::vector<std::string> parts =
          absl::StrSplit(Av(text), ':', absl::SkipEmpty());
      return ConfigValue(std::move(parts));
    }
  }
  return absl::InternalError("unknown value type");
}

}  // namespace

absl::StatusOr<ConfigValue> CastValue(const ConfigValue& input,
                                      ValueType type) {
  const ValueType from = TypeOf(input);
  if (from == ValueType::kString) {
    return ParseText(std::get<std::string>(input), type);
  }
  if (from == type) return input;
  if (from == ValueType::kInt && type == ValueType::kDouble) {
    return ConfigValue(static_cast<double>(std::get<int64_t>(input)));
  }
  if (from == ValueType::kDouble && type == ValueType::kInt) {
    const double number = std::get<double>(input);
    // 2^63 is exactly representable; the int64 range is [-2^63, 2^63).
    constexpr double kLimit = 9223372036854775808.0;
    if (std::trunc(number) == number && number >= -kLimit && number < kLimit) {
      return ConfigValue(static_cast<int64_t>(number));
    }
    return absl::InvalidArgumentError(
        "expected int: a whole number in the int64 range");
  }
  return Mismatch(from, type);
}

absl::StatusOr<ConfigValue> CastJson(const nlohmann::json& input,
                                     ValueType type) {
  using json = nlohmann::json;
  switch (input.type()) {
    case json::value_t::string:
      return CastValue(input.get<std::string>(), type);
    case json::value_t::boolean:
      return CastValue(input.get<bool>(), type);
    case json::value_t::number_integer:
      return CastValue(input.get<int64_t>(), type);
    case json::value_t::number_unsigned: {
      const uint64_t number = input.get<uint64_t>();
      if (number > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return absl::InvalidArgumentError("number out of the int64 range");
      }
      return CastValue(static_cast<int64_t>(number), type);
    }
    case json::value_t::number_float:
      return CastValue(input.get<double>(), type);
    case json::value_t::array: {
      if (type != ValueType::kStringList) {
        return absl::InvalidArgumentError(absl::StrCat(
            "expected ", Av(TypeName(type)), ", got a JSON array"));
      }
      std::vector<std::string> list;
      for (const json& item : input) {
        if (!item.is_string()) {
          return absl::InvalidArgumentError(
              "expected list: a JSON array of strings");
        }
        list.push_back(item.get<std::string>());
      }
      return ConfigValue(std::move(list));
    }
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "expected ", Av(TypeName(type)), ", got JSON ", input.type_name()));
  }
}

nlohmann::json ToJson(const ConfigValue& value) {
  return std::visit([](const auto& v) { return nlohmann::json(v); }, value);
}

namespace {

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      const bool same =
          absl::ascii_toupper(a[i - 1]) == absl::ascii_toupper(b[j - 1]);
      row[j] =
          std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

std::vector<std::string> CloseMatches(std::string_view name,
                                      const std::vector<std::string>& known,
                                      size_t max_results) {
  const size_t threshold = std::max<size_t>(3, name.size() / 3);
  std::vector<std::pair<size_t, std::string>> scored;
  for (const std::string& candidate : known) {
    const size_t distance = EditDistance(name, candidate);
    if (distance <= threshold) scored.emplace_back(distance, candidate);
  }
  std::stable_sort(
      scored.begin(), scored.end(),
      [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<std::string> out;
  for (auto& [distance, candidate] : scored) {
    // Only names about as close as the best one.
    if (out.size() == max_results || distance > scored.front().first + 2) {
      break;
    }
    out.push_back(std::move(candidate));
  }
  return out;
}

std::string UnknownKeyHint(std::string_view name,
                           const std::vector<std::string>& known) {
  std::vector<std::string> close;
  if (name.size() <= kMaxShownBytes) close = CloseMatches(name, known);
  if (!close.empty()) {
    return absl::StrCat("; did you mean ", absl::StrJoin(close, " or "), "?");
  }
  return absl::StrCat("; known keys: ", absl::StrJoin(known, ", "));
}

std::string Shorten(std::string text) {
  if (text.size() <= kMaxShownBytes) return text;
  size_t cut = kMaxShownBytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) {
    --cut;  // not inside a UTF-8 sequence
  }
  return absl::StrCat(absl::string_view(text.data(), cut), "... (", text.size(),
                      " bytes)");
}

std::string ShownInput(const ConfigValue& input) {
  if (const auto* text = std::get_if<std::string>(&input)) {
    return Shorten(RedactSecrets(*text));
  }
  return Shorten(FormatValue(input));
}

namespace {

nlohmann::json Redacted(const nlohmann::json& value) {
  using json = nlohmann::json;
  switch (value.type()) {
    case json::value_t::string:
      return RedactSecrets(value.get_ref<const std::string&>());
    case json::value_t::array: {
      json out = json::array();
      for (const json& item : value) out.push_back(Redacted(item));
      return out;
    }
    case json::value_t::object: {
      json out = json::object();
      for (const auto& [key, item] : value.items()) {
        out[RedactSecrets(key)] = Redacted(item);
      }
      return out;
    }
    default:
      return value;
  }
}

}  // namespace

std::string ShownJson(const nlohmann::json& value) {
  return Shorten(Redacted(value).dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace internal
}  // namespace config
}  // namespace cache_alchemy
