// How the cluster client routes commands and reads redirections. Section
// names are those of https://redis.io/docs/reference/cluster-spec/.

#include "core/redis/cluster_routing.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "core/redis_key_slot.h"

namespace cache_alchemy {
namespace redis {
namespace {

struct RoutingRule {
  absl::string_view name;
  Routing routing;
};

// Commands that are not routed by argv[1] ("Keys distribution model": only
// keys have slots).
constexpr RoutingRule kRules[] = {
    {"PING", Routing::kAnyMaster},       {"ECHO", Routing::kAnyMaster},
    {"PUBLISH", Routing::kAnyMaster},    {"INFO", Routing::kAnyMaster},
    {"CLUSTER", Routing::kAnyMaster},    {"ROLE", Routing::kAnyMaster},
    {"WAIT", Routing::kAnyMaster},       {"TIME", Routing::kAnyMaster},
    {"CONFIG", Routing::kAnyMaster},     {"COMMAND", Routing::kAnyMaster},
    {"MULTI", Routing::kAnyMaster},      {"EXEC", Routing::kAnyMaster},
    {"DISCARD", Routing::kAnyMaster},    {"SCAN", Routing::kAnyMaster},
    {"RANDOMKEY", Routing::kAnyMaster},  {"LASTSAVE", Routing::kAnyMaster},
    {"HELLO", Routing::kAnyMaster},      {"AUTH", Routing::kAnyMaster},
    {"SLOWLOG", Routing::kAnyMaster},    {"LATENCY", Routing::kAnyMaster},
    {"FUNCTION", Routing::kAnyMaster},   {"PUBSUB", Routing::kAnyMaster},
    {"FLUSHALL", Routing::kEveryMaster}, {"FLUSHDB", Routing::kEveryMaster},
    {"KEYS", Routing::kEveryMaster},     {"DBSIZE", Routing::kEveryMaster},
    {"SCRIPT", Routing::kEveryMaster},
};

bool IsScriptCall(absl::string_view name) {
  for (absl::string_view s :
       {"EVALSHA", "EVAL", "EVALSHA_RO", "EVAL_RO", "FCALL", "FCALL_RO"}) {
    if (absl::EqualsIgnoreCase(name, s)) return true;
  }
  return false;
}

}  // namespace

CommandRouting RoutingOf(const std::vector<std::string>& argv) {
  CommandRouting out;
  if (argv.empty()) return out;
  const std::string& name = argv[0];
  if (IsScriptCall(name)) {
    // EVAL script numkeys key... : routed by its first key ("Scripts"
    // declare their keys so that clusters can route them).
    int numkeys = 0;
    if (argv.size() > 3 && absl::SimpleAtoi(argv[2], &numkeys) && numkeys > 0) {
      out.routing = Routing::kKey;
      out.key = 3;
    }
    return out;
  }
  for (const RoutingRule& rule : kRules) {
    if (absl::EqualsIgnoreCase(name, rule.name)) {
      out.routing = rule.routing;
      return out;
    }
  }
  if (argv.size() < 2) return out;  // keyless: any master
  if (absl::EqualsIgnoreCase(name, "CLIENT")) {
    // CLIENT KILL reaches every master; other subcommands any one.
    if (absl::EqualsIgnoreCase(argv[1], "KILL")) {
      out.routing = Routing::kEveryMaster;
    }
    return out;
  }
  if (absl::EqualsIgnoreCase(name, "OBJECT") ||
      absl::EqualsIgnoreCase(name, "MEMORY")) {
    if (argv.size() > 2) {
      out.routing = Routing::kKey;
      out.key = 2;
    }
    return out;
  }
  out.routing = Routing::kKey;
  out.key = 1;
  return out;
}

Redirection ParseRedirection(const RedisReply& reply) {
  Redirection out;
  if (!reply.is_error()) return out;
  absl::string_view text(reply.str);
  const bool moved = absl::ConsumePrefix(&text, "MOVED ");
  if (moved || absl::ConsumePrefix(&text, "ASK ")) {
    const size_t space = text.find(' ');
    const size_t colon = text.rfind(':');
    int slot = 0, port = 0;
    if (space == absl::string_view::npos || colon == absl::string_view::npos ||
        colon < space || !absl::SimpleAtoi(text.substr(0, space), &slot) ||
        !absl::SimpleAtoi(text.substr(colon + 1), &port) || slot < 0 ||
        slot >= kRedisClusterSlots) {
      return out;
    }
    absl::string_view host = text.substr(space + 1, colon - space - 1);
    absl::ConsumePrefix(&host, "[");
    absl::ConsumeSuffix(&host, "]");
    if (host == "?") host = "";
    out.kind = moved ? Redirect::kMoved : Redirect::kAsk;
    out.slot = slot;
    out.host = std::string(host);
    out.port = port;
    return out;
  }
  if (absl::StartsWith(reply.str, "TRYAGAIN") ||
      absl::StrContains(reply.str, "non local key")) {
    out.kind = Redirect::kRetry;
  }
  return out;
}

}  // namespace redis
}  // namespace cache_alchemy
