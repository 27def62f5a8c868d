// Fuzz target: the JSON config file and the typecasts (config/), and the
// redaction every shown value goes through. Whatever the file holds, building
// a config either succeeds or throws ConfigError (any other exception escapes
// and is reported as a crash); its dump() never throws; RedactSecrets is
// idempotent; casting the input as text to each type never throws.
//   tools/fuzz.sh config_file 10
//
// Input: the file's bytes (also used as text for the casts).

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "config/base_config.h"
#include "config/config_value.h"
#include "config/internal/typecast.h"
#include "config/redact.h"

namespace config = cache_alchemy::config;

namespace {

const config::Schema& FuzzSchema() {
  static const auto* schema = new config::Schema{
      .keys = {{"A_STRING", std::string("x"), "", {}},
               {"AN_INT", int64_t{1}, "",
                [](const config::ConfigValue& v) -> std::optional<std::string> {
                  if (std::get<int64_t>(v) >= -1) return std::nullopt;
                  return "must be >= -1";
                }},
               {"A_BOOL", false, "", {}},
               {"A_DOUBLE", 0.5, "", {}},
               {"A_LIST", std::vector<std::string>{}, "", {}}},
      .config_file_env = ""};
  return *schema;
}

// A file in memory holding `bytes`; its path is /proc/self/fd/<fd>.
int MemoryFile(const uint8_t* data, size_t size) {
  const int fd = memfd_create("config_file_fuzz", MFD_CLOEXEC);
  if (fd < 0) std::abort();
  size_t done = 0;
  while (done < size) {
    const ssize_t n = write(fd, data + done, size - done);
    if (n <= 0) std::abort();
    done += static_cast<size_t>(n);
  }
  return fd;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fd = MemoryFile(data, size);
  config::ConfigOptions options;
  options.config_file = "/proc/self/fd/" + std::to_string(fd);
  options.read_environment = false;
  try {
    config::BaseConfig config(FuzzSchema(), {}, options);
    (void)config.dump();
    for (const std::string& key : config.keys()) (void)config.source(key);
  } catch (const config::ConfigError& e) {
    (void)e.what();
  }
  close(fd);

  const std::string text(reinterpret_cast<const char*>(data), size);
  for (config::ValueType type :
       {config::ValueType::kString, config::ValueType::kInt,
        config::ValueType::kBool, config::ValueType::kDouble,
        config::ValueType::kStringList}) {
    absl::StatusOr<config::ConfigValue> cast =
        config::internal::CastValue(text, type);
    if (cast.ok()) (void)config::FormatValue(*cast);
  }
  const std::string once = config::RedactSecrets(text);
  if (config::RedactSecrets(once) != once) std::abort();
  return 0;
}
