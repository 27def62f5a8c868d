#include "config/default_config.h"

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "config/duration.h"

namespace cache_alchemy {
namespace config {
namespace {

// The live DefaultConfigs, oldest first; the last one is current.
struct LiveConfigs {
  absl::Mutex mu;
  std::vector<DefaultConfig*> configs ABSL_GUARDED_BY(mu);
};

LiveConfigs& Live() {
  static LiveConfigs* const live = new LiveConfigs();
  return *live;
}

std::optional<std::string> EvictionPolicyName(const ConfigValue& value) {
  const std::string& name = std::get<std::string>(value);
  if (name != "s3-fifo" && name != "lru") {
    return "must be \"s3-fifo\" or \"lru\"";
  }
  return std::nullopt;
}

std::optional<std::string> AtLeastMinusOne(const ConfigValue& value) {
  if (std::get<int64_t>(value) < -1) {
    return "must be -1 (no bound), 0 (do not cache) or positive";
  }
  return std::nullopt;
}

std::optional<std::string> AtLeastOne(const ConfigValue& value) {
  if (std::get<int64_t>(value) < 1) return "must be at least 1";
  return std::nullopt;
}

std::optional<std::string> MinusOneOrPositive(const ConfigValue& value) {
  const int64_t v = std::get<int64_t>(value);
  if (v != -1 && v < 1) return "must be -1 (no limit) or positive";
  return std::nullopt;
}

// Seconds with an optional unit: "90s", "10m", "2h", "1d", "-1".
std::optional<ConfigValue> DurationText(std::string_view text,
                                        std::string* error) {
  std::optional<int64_t> seconds = ParseDurationSeconds(text, error);
  if (!seconds.has_value()) return std::nullopt;
  return ConfigValue(*seconds);
}

Schema MakeSchema() {
  Schema schema;
  schema.config_file_env = kConfigFileEnv;
  schema.keys = {
      {kCacheKeyPrefixKey,
       std::string(),
       "prefix of every key (tenant); a wrapper's cache_key_prefix wins",
       {}},
      {kDefaultExpireKey, int64_t{86400},
       "seconds an entry lives when CacheOptions::expire is unset; -1 never; "
       "text may give a unit: 90s, 10m, 2h, 1d",
       AtLeastMinusOne, DurationText},
      {kDefaultLimitKey, int64_t{1000},
       "entries per function when CacheOptions::limit is unset; -1 unlimited",
       AtLeastMinusOne},
      {kJsonBackendKey,
       std::string("cache_alchemy.backends.json.DistributedJsonCache"),
       "backend of json_cache and its method_/property_ variants",
       {}},
      {kMemoryBackendKey,
       std::string("cache_alchemy.backends.memory.DistributedMemoryCache"),
       "backend of memory_cache and its method_/property_ variants",
       {}},
      {kPickleBackendKey,
       std::string("cache_alchemy.backends.pickle.DistributedPickleCache"),
       "backend of pickle_cache and its method_/property_ variants",
       {}},
      {kRedisUrlKey,
       std::string("redis://127.0.0.1:6379/0"),
       "URL for ca::RedisClient::FromUrl when building cache_redis_client",
       {}},
      {kPluginPathKey,
       std::vector<std::string>(),
       "directories searched for backend plugins before the built-in places",
       {}},
      {kDefaultEvictionKey, std::string("s3-fifo"),
       "what in-process backends evict at the limit when "
       "CacheOptions::eviction is unset: s3-fifo or lru",
       EvictionPolicyName},
      {kRefreshThreadsKey, int64_t{2},
       "threads of the refresh-ahead pool (CacheOptions::refresh_after), "
       "read when such a function is wrapped; ca::set_refresh_threads wins",
       AtLeastOne},
      {kMaxValueBytesKey, int64_t{8} << 20,
       "largest serialized value stored (bytes) when "
       "CacheOptions::max_value_bytes is unset; bigger results are returned "
       "but not stored; -1 no limit",
       MinusOneOrPositive},
  };
  return schema;
}

// DefaultConfig's schema without the config file: used when no config is
// alive (defaults + environment only).
const Schema& EnvironmentOnlySchema() {
  static const Schema* const schema = [] {
    auto* s = new Schema(DefaultConfig::default_schema());
    s->config_file_env.clear();
    return s;
  }();
  return *schema;
}

DefaultSettings SettingsOf(const BaseConfig& config) {
  DefaultSettings s;
  s.cache_key_prefix = config.get<std::string>(kCacheKeyPrefixKey);
  s.default_expire = config.get<int64_t>(kDefaultExpireKey);
  s.default_limit = config.get<int64_t>(kDefaultLimitKey);
  s.json_backend = config.get<std::string>(kJsonBackendKey);
  s.memory_backend = config.get<std::string>(kMemoryBackendKey);
  s.pickle_backend = config.get<std::string>(kPickleBackendKey);
  s.redis_url = config.get<std::string>(kRedisUrlKey);
  s.plugin_path = config.get<std::vector<std::string>>(kPluginPathKey);
  s.default_eviction = config.get<std::string>(kDefaultEvictionKey);
  s.refresh_threads = config.get<int64_t>(kRefreshThreadsKey);
  s.max_value_bytes = config.get<int64_t>(kMaxValueBytesKey);
  return s;
}

}  // namespace

const Schema& DefaultConfig::default_schema() {
  static const Schema* const schema = new Schema(MakeSchema());
  return *schema;
}

DefaultConfig::DefaultConfig(Overrides defaults, ConfigOptions options)
    : BaseConfig(default_schema(), std::move(defaults), std::move(options)) {
  LiveConfigs& live = Live();
  absl::MutexLock lock(&live.mu);
  live.configs.push_back(this);
}

DefaultConfig::~DefaultConfig() {
  LiveConfigs& live = Live();
  absl::MutexLock lock(&live.mu);
  auto it = std::find(live.configs.begin(), live.configs.end(), this);
  if (it != live.configs.end()) live.configs.erase(it);
}

DefaultConfig& DefaultConfig::get_current_config() {
  LiveConfigs& live = Live();
  absl::MutexLock lock(&live.mu);
  if (live.configs.empty()) {
    throw std::runtime_error(
        "no ca::config::DefaultConfig is alive: construct one first, e.g. "
        "ca::config::DefaultConfig config;");
  }
  return *live.configs.back();
}

DefaultSettings DefaultConfig::settings() const {
  DefaultSettings s = SettingsOf(*this);
  s.cache_redis_client = cache_redis_client;
  return s;
}

DefaultSettings DefaultConfig::current_settings() {
  {
    LiveConfigs& live = Live();
    absl::MutexLock lock(&live.mu);
    if (!live.configs.empty()) return live.configs.back()->settings();
  }
  const BaseConfig from_environment(EnvironmentOnlySchema());
  return SettingsOf(from_environment);
}

}  // namespace config
}  // namespace cache_alchemy
