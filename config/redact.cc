#include "config/redact.h"

#include <algorithm>
#include <array>

namespace cache_alchemy {
namespace config {
namespace {

constexpr std::string_view kMask = "***";

// Option names whose values are secrets (lower case).
constexpr std::array<std::string_view, 7> kSecretOptions = {
    "password", "passwd", "pass", "pwd", "secret", "token", "auth"};

char Lower(char c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }

bool IsSecretOption(std::string_view name) {
  for (std::string_view option : kSecretOptions) {
    if (option.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; same && i < name.size(); ++i) {
      same = Lower(name[i]) == option[i];
    }
    if (same) return true;
  }
  return false;
}

bool EndsOptionValue(char c) {
  return c == '&' || c == ';' || c == '#' || c == ' ' || c == '\t' ||
         c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Rule 1: the password of the userinfo between the first "://" and the last
// '@' of the text.
void UserinfoSpan(std::string_view text,
                  std::vector<std::pair<size_t, size_t>>* spans) {
  const size_t scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) return;
  const size_t begin = scheme_end + 3;
  const size_t at = text.rfind('@');
  if (at == std::string_view::npos || at <= begin) return;
  const std::string_view userinfo = text.substr(begin, at - begin);
  const size_t colon = userinfo.find(':');
  const size_t first =
      colon == std::string_view::npos ? begin : begin + colon + 1;
  if (first < at) spans->emplace_back(first, at);
}

// Rule 2: the values of secret options.
void OptionSpans(std::string_view text,
                 std::vector<std::pair<size_t, size_t>>* spans) {
  constexpr size_t kLongestOption = 8;
  for (size_t eq = text.find('='); eq != std::string_view::npos;
       eq = text.find('=', eq + 1)) {
    size_t name_begin = eq;
    while (name_begin > 0 && eq - name_begin <= kLongestOption) {
      const char c = text[name_begin - 1];
      if (c == '?' || c == '&' || c == ';') break;
      --name_begin;
    }
    if (name_begin == 0 || eq - name_begin > kLongestOption) continue;
    if (!IsSecretOption(text.substr(name_begin, eq - name_begin))) continue;
    size_t end = eq + 1;
    while (end < text.size() && !EndsOptionValue(text[end])) ++end;
    if (end > eq + 1) spans->emplace_back(eq + 1, end);
    eq = end - 1;  // a '=' inside the value starts no option: stay linear
  }
}

}  // namespace

std::vector<std::pair<size_t, size_t>> SecretSpans(std::string_view text) {
  std::vector<std::pair<size_t, size_t>> spans;
  UserinfoSpan(text, &spans);
  OptionSpans(text, &spans);
  std::sort(spans.begin(), spans.end());
  std::vector<std::pair<size_t, size_t>> merged;
  for (const auto& span : spans) {
    if (!merged.empty() && span.first <= merged.back().second) {
      merged.back().second = std::max(merged.back().second, span.second);
    } else {
      merged.push_back(span);
    }
  }
  return merged;
}

namespace {

// One pass of the rules.
std::string RedactOnce(std::string_view text) {
  const std::vector<std::pair<size_t, size_t>> spans = SecretSpans(text);
  if (spans.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size());
  size_t next = 0;
  for (const auto& [first, end] : spans) {
    out.append(text.substr(next, first - next));
    out.append(kMask);
    next = end;
  }
  out.append(text.substr(next));
  return out;
}

}  // namespace

std::string RedactSecrets(std::string_view text) {
  // Masking can make what follows a mask read as more of a secret (an
  // option's value that a merged span cut short at an '@'), so the rules run
  // until nothing changes: that makes the function idempotent. A pass that
  // changes the text either shortens it or turns a 3-byte span into the
  // mask, so this ends; a few passes at most in practice.
  constexpr int kMaxPasses = 16;
  std::string current = RedactOnce(text);
  for (int pass = 1; pass < kMaxPasses; ++pass) {
    std::string next = RedactOnce(current);
    if (next == current) return current;
    current = std::move(next);
  }
  return std::string(kMask);  // unreachable in practice; hide everything
}

}  // namespace config
}  // namespace cache_alchemy
