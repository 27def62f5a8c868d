// INTERNAL (tests only): sets or clears environment variables for the
// lifetime of an object and restores the previous state afterwards.
//
//   ScopedEnv limit("CACHE_ALCHEMY_DEFAULT_LIMIT", "7");
//   ScopedEnv no_file("CACHE_ALCHEMY_CONFIG_FILE", std::nullopt);

#ifndef CACHE_ALCHEMY_CONFIG_INTERNAL_SCOPED_ENV_H_
#define CACHE_ALCHEMY_CONFIG_INTERNAL_SCOPED_ENV_H_

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/default_config.h"

namespace cache_alchemy {
namespace config {
namespace internal {

// Not thread-safe (setenv is not): use only while no other thread reads the
// environment.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, std::optional<std::string> value)
      : name_(std::move(name)) {
    if (const char* old = std::getenv(name_.c_str())) old_ = old;
    Apply(value);
  }
  ~ScopedEnv() { Apply(old_); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  void Apply(const std::optional<std::string>& value) {
    if (value.has_value()) {
      ::setenv(name_.c_str(), value->c_str(), /*overwrite=*/1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }

  std::string name_;
  std::optional<std::string> old_;
};

// Unsets every DefaultConfig variable and CACHE_ALCHEMY_CONFIG_FILE for the
// lifetime of the object, so a test sees no value from the machine's
// environment. Not thread-safe, like ScopedEnv.
class ScopedDefaultEnvCleared {
 public:
  ScopedDefaultEnvCleared() {
    for (const KeySpec& spec : DefaultConfig::default_schema().keys) {
      cleared_.push_back(std::make_unique<ScopedEnv>(spec.name, std::nullopt));
    }
    cleared_.push_back(
        std::make_unique<ScopedEnv>(kConfigFileEnv, std::nullopt));
  }

 private:
  std::vector<std::unique_ptr<ScopedEnv>> cleared_;
};

}  // namespace internal
}  // namespace config
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CONFIG_INTERNAL_SCOPED_ENV_H_
