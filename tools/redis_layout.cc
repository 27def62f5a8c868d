// The Redis backends' key layout, read from outside (docs/redis.md).

#include "tools/redis_layout.h"

#include <cctype>
#include <functional>
#include <stdexcept>

#include "core/redis/cluster_client.h"

namespace cache_alchemy {
namespace tools {

std::string GlobEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  return out;
}

std::string ValueKeyPattern(std::string_view prefix,
                            std::string_view backend_class,
                            std::string_view name) {
  std::string pattern = GlobEscape(prefix);
  pattern += GlobEscape(backend_class);
  pattern += ':';
  if (!name.empty()) {
    pattern += GlobEscape(name);
    pattern += '@';
  }
  pattern += "*}:*";
  return pattern;
}

std::optional<ValueKey> ParseValueKey(std::string_view redis_key,
                                      std::string_view prefix,
                                      std::string_view backend_class,
                                      std::string_view name) {
  // P C ':' name '@' 8 hex ':{' T '}:' K
  std::string head(prefix);
  head += backend_class;
  head += ':';
  if (redis_key.substr(0, head.size()) != head) return std::nullopt;
  std::string_view rest = redis_key.substr(head.size());
  // The id ends at the first ":{" after its 8 hex digits. A name may hold
  // '@' or ":{" itself, so look for "@xxxxxxxx:{" from the left.
  size_t at = name.empty() ? rest.find('@') : name.size();
  while (at != std::string_view::npos) {
    const bool is_tag =
        at < rest.size() && rest[at] == '@' && at + 11 <= rest.size() &&
        rest.substr(at + 9, 2) == ":{" && [&] {
          for (size_t i = at + 1; i < at + 9; ++i) {
            if (!std::isxdigit(static_cast<unsigned char>(rest[i]))) {
              return false;
            }
          }
          return true;
        }();
    if (is_tag) break;
    if (!name.empty()) return std::nullopt;  // `name` must end right there
    at = rest.find('@', at + 1);
  }
  if (at == std::string_view::npos) return std::nullopt;
  if (!name.empty() && rest.substr(0, name.size()) != name) {
    return std::nullopt;
  }
  ValueKey key;
  key.id = std::string(rest.substr(0, at + 9));
  rest = rest.substr(at + 11);
  const size_t close = rest.find("}:");
  if (close == std::string_view::npos) return std::nullopt;
  key.bucket = std::string(rest.substr(0, close));
  for (char c : key.bucket) {
    if (!std::islower(static_cast<unsigned char>(c)) &&
        !std::isdigit(static_cast<unsigned char>(c))) {
      return std::nullopt;
    }
  }
  key.key = std::string(rest.substr(close + 2));
  return key;
}

namespace {

// SCANs one keyspace to its end: `scan` sends one SCAN command.
void ScanOne(
    const std::function<RedisReply(const std::vector<std::string>&)>& scan,
    const std::string& pattern, std::vector<std::string>* keys) {
  std::string cursor = "0";
  do {
    RedisReply reply =
        scan({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
    if (reply.type != RedisReply::Type::kArray || reply.elements.size() != 2 ||
        reply.elements[1].type != RedisReply::Type::kArray) {
      throw std::runtime_error(
          "redis SCAN MATCH " + pattern +
          " failed: " + (reply.is_error() ? reply.str : "unexpected reply"));
    }
    cursor = reply.elements[0].str;
    for (RedisReply& k : reply.elements[1].elements) {
      keys->push_back(std::move(k.str));
    }
  } while (cursor != "0");
}

}  // namespace

std::vector<std::string> ScanKeys(RedisClient& redis,
                                  const std::string& pattern) {
  std::vector<std::string> keys;
  // A cluster's keyspace is each master's own: SCAN walks one node, so
  // every master is walked (a cursor of one node means nothing to another).
  if (auto* cluster =
          dynamic_cast<::cache_alchemy::redis::ClusterClient*>(&redis)) {
    for (const std::string& master : cluster->Masters()) {
      ScanOne(
          [&](const std::vector<std::string>& argv) {
            return cluster->CommandOn(master, argv);
          },
          pattern, &keys);
    }
    return keys;
  }
  ScanOne(
      [&](const std::vector<std::string>& argv) { return redis.Command(argv); },
      pattern, &keys);
  return keys;
}

}  // namespace tools
}  // namespace cache_alchemy
