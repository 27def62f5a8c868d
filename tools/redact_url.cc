// Password redaction for the operator CLI's output.

#include "tools/redact_url.h"

#include <algorithm>
#include <cctype>
#include <string_view>
#include <utility>
#include <vector>

namespace cache_alchemy {
namespace tools {
namespace {

constexpr char kMask[] = "***";

bool EndsToken(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0 || c == '"';
}

bool EndsOption(char c) {
  return EndsToken(c) || c == '&' || c == ';' || c == '#';
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// Appends the [begin, end) spans of URL passwords in `text` to `spans`.
void UrlPasswordSpans(std::string_view text,
                      std::vector<std::pair<size_t, size_t>>* spans) {
  size_t from = 0;
  while ((from = text.find("://", from)) != std::string_view::npos) {
    const size_t start = from + 3;
    size_t end = start;
    while (end < text.size() && !EndsToken(text[end])) ++end;
    const size_t at = text.substr(start, end - start).rfind('@');
    if (at != std::string_view::npos) {
      const std::string_view userinfo = text.substr(start, at);
      const size_t colon = userinfo.find(':');
      const size_t secret = colon == std::string_view::npos ? 0 : colon + 1;
      if (secret < userinfo.size()) {
        spans->emplace_back(start + secret, start + at);
      }
    }
    from = end;
  }
}

// Appends the spans of `password=...` style option values.
void OptionSpans(std::string_view text,
                 std::vector<std::pair<size_t, size_t>>* spans) {
  for (size_t eq = text.find('='); eq != std::string_view::npos;
       eq = text.find('=', eq + 1)) {
    size_t name_start = eq;
    while (name_start > 0 &&
           std::isalpha(static_cast<unsigned char>(text[name_start - 1]))) {
      --name_start;
    }
    const std::string_view name = text.substr(name_start, eq - name_start);
    if (!IEquals(name, "password") && !IEquals(name, "pass") &&
        !IEquals(name, "secret")) {
      continue;
    }
    size_t end = eq + 1;
    while (end < text.size() && !EndsOption(text[end])) ++end;
    if (end > eq + 1) spans->emplace_back(eq + 1, end);
  }
}

}  // namespace

std::string RedactUrlPasswords(std::string_view text) {
  std::vector<std::pair<size_t, size_t>> spans;
  UrlPasswordSpans(text, &spans);
  OptionSpans(text, &spans);
  std::sort(spans.begin(), spans.end());
  std::string out;
  size_t copied = 0;
  for (const auto& [begin, end] : spans) {
    if (end <= copied) continue;  // inside a span masked already
    const size_t from = std::max(begin, copied);
    out.append(text.substr(copied, from - copied));
    out.append(kMask);
    copied = end;
  }
  out.append(text.substr(copied));
  return out;
}

}  // namespace tools
}  // namespace cache_alchemy
