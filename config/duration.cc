// Durations with units: "90s", "10m", "2h", "1d", plain seconds.

#include "config/duration.h"

#include <charconv>
#include <limits>
#include <stdexcept>

namespace cache_alchemy {
namespace config {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}

std::string Quoted(std::string_view text) {
  std::string out = "\"";
  for (const char c : text.substr(0, 64)) {
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  if (text.size() > 64) out += "...";
  return out + "\"";
}

std::optional<int64_t> Fail(std::string* error, std::string_view text,
                            std::string_view why) {
  if (error != nullptr) {
    *error =
        "expected a duration: an integer number of seconds, or one with "
        "a unit s, m, h or d (\"90s\", \"10m\", \"2h\", \"1d\"); " +
        Quoted(text) + " " + std::string(why);
  }
  return std::nullopt;
}

}  // namespace

std::optional<int64_t> ParseDurationSeconds(std::string_view text,
                                            std::string* error) {
  std::string_view t = text;
  while (!t.empty() && IsSpace(t.front())) t.remove_prefix(1);
  while (!t.empty() && IsSpace(t.back())) t.remove_suffix(1);
  if (t.empty()) return Fail(error, text, "is empty");
  int64_t unit = 1;
  bool has_unit = true;
  switch (t.back()) {
    case 's':
      unit = 1;
      break;
    case 'm':
      unit = 60;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'd':
      unit = 86400;
      break;
    default:
      has_unit = false;
  }
  if (has_unit) t.remove_suffix(1);
  if (t.empty() || (t.front() == '+')) {
    return Fail(error, text, "has no number before its unit");
  }
  int64_t number = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), number);
  if (ec == std::errc::result_out_of_range) {
    return Fail(error, text, "is out of range");
  }
  if (ec != std::errc() || end != t.data() + t.size()) {
    return Fail(error, text, "is not of that form");
  }
  if (has_unit && number < 0) {
    return Fail(error, text,
                "is negative (only -1, without a unit, means never)");
  }
  if (number > std::numeric_limits<int64_t>::max() / unit) {
    return Fail(error, text, "is out of range");
  }
  return number * unit;
}

}  // namespace config

int64_t seconds(std::string_view text) {
  std::string error;
  std::optional<int64_t> parsed = config::ParseDurationSeconds(text, &error);
  if (!parsed.has_value()) throw std::invalid_argument(error);
  return *parsed;
}

std::chrono::seconds duration(std::string_view text) {
  return std::chrono::seconds(seconds(text));
}

}  // namespace cache_alchemy
