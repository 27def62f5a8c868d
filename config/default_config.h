// File: config/default_config.h
// -----------------------------------------------------------------------------
//
// `ca::config::DefaultConfig`, the config of cache_alchemy itself: the keys
// every cache family reads at wrap time (backend names, limit, expire, key
// prefix, plugin path) and the Redis client slot. Constructing one makes it
// the current config; the families read the current config when a function
// is wrapped.
//
//   namespace ca = cache_alchemy;
//   ca::config::DefaultConfig config(
//       {{"CACHE_ALCHEMY_MEMORY_BACKEND",
//         "cache_alchemy.backends.memory.MemoryCache"},
//        {"CACHE_ALCHEMY_DEFAULT_LIMIT", "2"}});
//   config.cache_redis_client = ca::RedisClient::FromUrl(
//       config.get<std::string>("CACHE_ALCHEMY_REDIS_URL"));
//   std::puts(config.dump().c_str());
//   auto f = ca::memory_cache(fn);   // MemoryCache, limit 2
//
// Sources and priorities are those of BaseConfig (config/base_config.h); the
// JSON file's path comes from `ConfigOptions::config_file` or the environment
// variable CACHE_ALCHEMY_CONFIG_FILE. See docs/configuration.md.

#ifndef CACHE_ALCHEMY_CONFIG_DEFAULT_CONFIG_H_
#define CACHE_ALCHEMY_CONFIG_DEFAULT_CONFIG_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/base_config.h"
#include "config/config_value.h"

namespace cache_alchemy {

class RedisClient;  // core/redis_client.h

namespace config {

// The key names of DefaultConfig.
inline constexpr char kCacheKeyPrefixKey[] = "CACHE_ALCHEMY_CACHE_KEY_PREFIX";
inline constexpr char kDefaultExpireKey[] = "CACHE_ALCHEMY_DEFAULT_EXPIRE";
inline constexpr char kDefaultLimitKey[] = "CACHE_ALCHEMY_DEFAULT_LIMIT";
inline constexpr char kJsonBackendKey[] = "CACHE_ALCHEMY_JSON_BACKEND";
inline constexpr char kMemoryBackendKey[] = "CACHE_ALCHEMY_MEMORY_BACKEND";
inline constexpr char kPickleBackendKey[] = "CACHE_ALCHEMY_PICKLE_BACKEND";
inline constexpr char kRedisUrlKey[] = "CACHE_ALCHEMY_REDIS_URL";
inline constexpr char kPluginPathKey[] = "CACHE_ALCHEMY_PLUGIN_PATH";
inline constexpr char kDefaultEvictionKey[] = "CACHE_ALCHEMY_DEFAULT_EVICTION";
inline constexpr char kRefreshThreadsKey[] = "CACHE_ALCHEMY_REFRESH_THREADS";
inline constexpr char kMaxValueBytesKey[] = "CACHE_ALCHEMY_MAX_VALUE_BYTES";
// The environment variable naming DefaultConfig's JSON file.
inline constexpr char kConfigFileEnv[] = "CACHE_ALCHEMY_CONFIG_FILE";

// A snapshot of DefaultConfig's effective values, as the core reads them.
struct DefaultSettings {
  std::string cache_key_prefix;
  int64_t default_expire = 86400;
  int64_t default_limit = 1000;
  std::string json_backend;
  std::string memory_backend;
  std::string pickle_backend;
  std::string redis_url;
  std::vector<std::string> plugin_path;
  std::string default_eviction = "s3-fifo";
  std::shared_ptr<RedisClient> cache_redis_client;
  int64_t refresh_threads = 2;
  int64_t max_value_bytes = int64_t{8} << 20;
};

// The config of cache_alchemy. Not copyable or movable.
//
// Thread safety: as BaseConfig; reading values from many threads while one
// thread calls `set` is safe. `cache_redis_client` is a plain member: assign
// it before functions are wrapped from other threads.
class DefaultConfig : public BaseConfig {
 public:
  // Builds the config (see BaseConfig's constructor; `defaults` is the brace
  // list acting as class defaults) and makes it the current config.
  // Throws ConfigError as BaseConfig does; nothing becomes current then.
  //
  //   DefaultConfig config;
  //   DefaultConfig config({{"CACHE_ALCHEMY_DEFAULT_LIMIT", "2"}});
  //   DefaultConfig config({}, {.config_file = "/etc/app/cache.json"});
  explicit DefaultConfig(Overrides defaults = {}, ConfigOptions options = {});

  // If this config is current, the most recently constructed config still
  // alive becomes current again (configs may be destroyed in any order).
  ~DefaultConfig() override;

  // The most recently constructed DefaultConfig that is still alive.
  // Throws std::runtime_error when none is alive. The reference is valid
  // while that config lives.
  static DefaultConfig& get_current_config();

  // The effective values of the current config, read atomically with respect
  // to configs being constructed and destroyed. With no config alive: the
  // defaults overridden by environment variables named as the keys (cast
  // like a DefaultConfig does; the file is not read), without making any
  // config current; `cache_redis_client` is then empty.
  // Throws ConfigError for an environment value that does not cast.
  static DefaultSettings current_settings();

  // The keys and defaults of DefaultConfig (CONTRACT.md section 3).
  static const Schema& default_schema();

  // This config's effective values.
  DefaultSettings settings() const;

  // The Redis client used by Redis backends (json, pickle, distributed
  // memory). Empty until assigned; wrapping a function with a Redis backend
  // while it is empty throws std::runtime_error.
  std::shared_ptr<RedisClient> cache_redis_client;
};

}  // namespace config
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CONFIG_DEFAULT_CONFIG_H_
