// Fuzz target: strict keys and partial-clear matching (core/strict_key.h), as
// a backend sees them: a key read back from a store is split into segments
// and matched against a pattern. Neither may crash or read out of bounds; a
// key that splits must rebuild byte for byte from its segments and match a
// pattern made of its own segments (and of wildcards).
//   tools/fuzz.sh strict_key 10
//
// Input: a varint length L, L bytes of key, then the pattern: per slot one
// byte (even: a wildcard, odd: a value) and for a value a varint length and
// its bytes.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/strict_key.h"

namespace ca = cache_alchemy;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  uint64_t key_size = 0;
  if (!ca::ReadVarint(&in, &key_size)) key_size = in.size();
  if (key_size > in.size()) key_size = in.size();
  const std::string_view key = in.substr(0, key_size);
  in.remove_prefix(key_size);

  ca::KeyPattern pattern;
  while (!in.empty() && pattern.segments.size() < 64) {
    const bool wildcard = (static_cast<unsigned char>(in.front()) & 1) == 0;
    in.remove_prefix(1);
    if (wildcard) {
      pattern.segments.emplace_back(std::nullopt);
      continue;
    }
    uint64_t n = 0;
    if (!ca::ReadVarint(&in, &n) || n > in.size()) break;
    pattern.segments.emplace_back(std::string(in.substr(0, n)));
    in.remove_prefix(n);
  }
  (void)ca::StrictKeyMatches(key, pattern);

  std::vector<std::string_view> segments;
  if (!ca::SplitStrictKey(key, &segments)) {
    if (ca::StrictKeyMatches(key, ca::KeyPattern{})) std::abort();
    return 0;
  }
  // Rebuilt from its segments, a key that split is the same bytes only if
  // its varints were minimal; either way the rebuilt key splits the same.
  std::string rebuilt;
  ca::KeyPattern own, any;
  for (std::string_view segment : segments) {
    ca::AppendStrictSegment(segment, &rebuilt);
    own.segments.emplace_back(std::string(segment));
    any.segments.emplace_back(std::nullopt);
  }
  std::vector<std::string_view> again;
  if (!ca::SplitStrictKey(rebuilt, &again) || again != segments) std::abort();
  if (!ca::StrictKeyMatches(key, own) || !ca::StrictKeyMatches(key, any)) {
    std::abort();
  }
  return 0;
}
