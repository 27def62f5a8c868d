// File: testing/redis_admin.h
// -----------------------------------------------------------------------------
//
// One command to one server, without routing or failover handling: for
// fixtures and tests that inspect or steer a topology node by node (a
// cluster's CLUSTER INFO, a sentinel's SENTINEL masters, a replica's INFO).
//
//   ca::RedisReply info = ca::testing::AdminCommand(port, {"CLUSTER", "INFO"});
//   std::string state = ca::testing::InfoField(info.str, "cluster_state");

#ifndef CACHE_ALCHEMY_TESTING_REDIS_ADMIN_H_
#define CACHE_ALCHEMY_TESTING_REDIS_ADMIN_H_

#include <string>
#include <string_view>
#include <vector>

#include "core/redis/hiredis_client.h"

namespace cache_alchemy {
namespace testing {

// Runs `argv` on 127.0.0.1:`port` on a fresh connection (timeouts of
// `timeout_ms`). Throws std::runtime_error when the server cannot be
// reached; error replies come back as replies.
inline RedisReply AdminCommand(int port, const std::vector<std::string>& argv,
                               int timeout_ms = 2000) {
  redis::RedisEndpoint endpoint;
  endpoint.host = "127.0.0.1";
  endpoint.port = port;
  endpoint.connect_timeout_ms = timeout_ms;
  endpoint.timeout_ms = timeout_ms;
  endpoint.pool_size = 0;
  return redis::HiredisClient(endpoint).Command(argv);
}

// The value of `field` in INFO-style text ("field:value" lines), or "".
inline std::string InfoField(std::string_view info, std::string_view field) {
  size_t pos = 0;
  while (pos < info.size()) {
    size_t end = info.find('\n', pos);
    if (end == std::string_view::npos) end = info.size();
    std::string_view line = info.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > field.size() && line.substr(0, field.size()) == field &&
        line[field.size()] == ':') {
      return std::string(line.substr(field.size() + 1));
    }
    pos = end + 1;
  }
  return "";
}

}  // namespace testing
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_TESTING_REDIS_ADMIN_H_
