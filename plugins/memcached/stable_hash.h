// File: plugins/memcached/stable_hash.h
// -----------------------------------------------------------------------------
//
// A hash that is the same in every process, build and machine, for naming
// Memcached keys (which are limited to 250 printable bytes, so the cache's
// binary keys cannot be used as they are). absl::Hash is deliberately
// randomized per process and would give every process its own keys.
//
// FNV-1a, 64 bits (http://www.isthe.com/chongo/tech/comp/fnv/): tiny, fixed
// forever, fast on short inputs. It is not collision-resistant against an
// adversary, so MemcachedCache never trusts a hash alone: each stored value
// carries its full key and is checked on read (a collision reads as a miss).
//
//   std::string k = "ca:e:" + HexHash64(Fnv1a64(key));

#ifndef CACHE_ALCHEMY_PLUGINS_MEMCACHED_STABLE_HASH_H_
#define CACHE_ALCHEMY_PLUGINS_MEMCACHED_STABLE_HASH_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace cache_alchemy {
namespace memcached {

inline constexpr uint64_t kFnv64Offset = 14695981039346656037ull;
inline constexpr uint64_t kFnv64Prime = 1099511628211ull;

// FNV-1a of `data`, continuing from `state` (chain calls to hash several
// pieces; prefix each piece with its length to keep the pieces apart).
inline uint64_t Fnv1a64(std::string_view data, uint64_t state = kFnv64Offset) {
  for (unsigned char c : data) {
    state ^= c;
    state *= kFnv64Prime;
  }
  return state;
}

// `h` as 16 lowercase hex digits.
inline std::string HexHash64(uint64_t h) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4) out[i] = kDigits[h & 0xf];
  return out;
}

}  // namespace memcached
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_PLUGINS_MEMCACHED_STABLE_HASH_H_
