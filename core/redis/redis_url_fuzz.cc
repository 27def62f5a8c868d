// Fuzz target: Redis URLs (ParseRedisUrl), which come from configuration and
// the environment. A URL either parses or throws std::invalid_argument (any
// other exception is reported as a crash), and the error message never
// contains a secret of the URL: each secret span (config/redact.h) at least
// 6 bytes long and holding a character the messages' fixed text never uses
// must not appear in it.
//   tools/fuzz.sh redis_url 10

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "config/redact.h"
#include "core/redis/hiredis_client.h"

namespace {

// Characters absent from every fixed part of ParseRedisUrl's messages.
constexpr char kMarkers[] = "!$^~|\\`{}<>;\"";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string url(reinterpret_cast<const char*>(data), size);
  try {
    cache_alchemy::redis::RedisEndpoint ep =
        cache_alchemy::redis::ParseRedisUrl(url);
    (void)ep.Describe();
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    for (const auto& [first, end] : cache_alchemy::config::SecretSpans(url)) {
      const std::string secret = url.substr(first, end - first);
      // Echoing another part of the URL that happens to hold the same text
      // (a db equal to the password, say) is not a leak of the password.
      const bool unique = url.find(secret) == first &&
                          url.find(secret, first + 1) == std::string::npos;
      if (unique && secret.size() >= 6 &&
          secret.find_first_of(kMarkers) != std::string::npos &&
          message.find(secret) != std::string::npos) {
        std::abort();  // a password reached the message
      }
    }
  }
  return 0;
}
