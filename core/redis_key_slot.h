// File: core/redis_key_slot.h
// -----------------------------------------------------------------------------
//
// The Redis Cluster hash slot of a key, computed exactly as Redis does
// (https://redis.io/docs/reference/cluster-spec/, "Key distribution model"
// and "Hash tags"): CRC-16/XMODEM of the key, or of its hash tag (the bytes
// between the first '{' and the next '}', when that is not empty), modulo
// 16384.
//
//   uint16_t slot = cache_alchemy::RedisKeySlot("user:{42}:name");
//   // == RedisKeySlot("42"): keys sharing a tag share a slot
//
// Header-only, part of the plugin SDK: the host's cluster client routes
// commands with it and the Redis backends place their buckets with it, so
// both agree by construction. Thread-safe (pure functions).

#ifndef CACHE_ALCHEMY_CORE_REDIS_KEY_SLOT_H_
#define CACHE_ALCHEMY_CORE_REDIS_KEY_SLOT_H_

#include <boost/crc.hpp>
#include <cstdint>
#include <string_view>

namespace cache_alchemy {

// The number of hash slots of a Redis Cluster.
inline constexpr uint16_t kRedisClusterSlots = 16384;

// CRC-16/XMODEM (polynomial 0x1021, initial value 0, not reflected), the
// checksum Redis Cluster hashes keys with.
inline uint16_t RedisCrc16(std::string_view bytes) {
  boost::crc_optimal<16, 0x1021, 0, 0, false, false> crc;
  crc.process_bytes(bytes.data(), bytes.size());
  return crc.checksum();
}

// The hash slot (< 16384) of `key`.
inline uint16_t RedisKeySlot(std::string_view key) {
  const size_t open = key.find('{');
  if (open != std::string_view::npos) {
    const size_t close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) {
      key = key.substr(open + 1, close - open - 1);
    }
  }
  return RedisCrc16(key) % kRedisClusterSlots;
}

}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_REDIS_KEY_SLOT_H_
