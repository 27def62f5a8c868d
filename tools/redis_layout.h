// File: tools/redis_layout.h
// -----------------------------------------------------------------------------
//
// The key layout of the built-in Redis backends (docs/redis.md, "Layout in
// Redis"), read from outside a cached process: which keys hold the values
// of a function, and what each key says. For the operator CLI's `keys` and
// `stats`.
//
//   // prefix "t1:", backend class DistributedJsonCache, function app.price
//   std::string pattern = ValueKeyPattern("t1:", "DistributedJsonCache",
//                                         "app.price");
//   // "t1:DistributedJsonCache:app.price@*}:*" (glob characters escaped)
//   std::optional<ValueKey> key = ParseValueKey(
//       "t1:DistributedJsonCache:app.price@232e543c:{5q}:\"ab-1\",2",
//       "t1:", "DistributedJsonCache", "app.price");
//   // key->id == "app.price@232e543c", key->bucket == "5q",
//   // key->key == "\"ab-1\",2"

#ifndef CACHE_ALCHEMY_TOOLS_REDIS_LAYOUT_H_
#define CACHE_ALCHEMY_TOOLS_REDIS_LAYOUT_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/redis_client.h"

namespace cache_alchemy {
namespace tools {

// `text` with the glob characters of Redis MATCH patterns (`*?[]\`) escaped.
std::string GlobEscape(std::string_view text);

// A SCAN MATCH pattern of the value keys of every function named `name`
// (any signature) of backend class `backend_class` under `prefix`; with an
// empty `name`, of every function.
std::string ValueKeyPattern(std::string_view prefix,
                            std::string_view backend_class,
                            std::string_view name);

// One value key, taken apart.
struct ValueKey {
  std::string id;      // the function's name, '@' and its signature tag
  std::string bucket;  // the hash tag of its bucket
  std::string key;     // the entry's key: the text of its arguments
};

// `redis_key` taken apart if it is a value key of function `name` (every
// function when empty) of `backend_class` under `prefix`, else nullopt
// (index and generation keys, other functions).
std::optional<ValueKey> ParseValueKey(std::string_view redis_key,
                                      std::string_view prefix,
                                      std::string_view backend_class,
                                      std::string_view name);

// Every key matching `pattern`, by SCAN (never KEYS: it does not block the
// server), in no particular order; on a Redis Cluster, every master's. Throws
// std::runtime_error naming the command when Redis fails or answers an error.
std::vector<std::string> ScanKeys(RedisClient& redis,
                                  const std::string& pattern);

}  // namespace tools
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_TOOLS_REDIS_LAYOUT_H_
