// The Redis layout and Lua scripts shared by the distributed backends.

#include "backends/redis_common/redis_store.h"

#include <stdexcept>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/strict_key.h"

namespace cache_alchemy {
namespace redis_backend {
namespace {

// KEYS: value key, function key set, backend set.
// ARGV: value, expire ms, limit, member (the key), function name, value key
// prefix, mode ("value" or "token").
// Times come from the server (TIME), so processes with skewed clocks agree.
const LuaScript kStore = {R"lua(
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expire_ms = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local value = ARGV[1]
if ARGV[7] == 'token' then
  local current = redis.call('GET', KEYS[1])
  if current then return current end
  value = t[1] .. '.' .. string.format('%06d', tonumber(t[2]))
end
if expire_ms > 0 then
  redis.call('SET', KEYS[1], value, 'PX', expire_ms)
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. (now_ms - expire_ms))
else
  redis.call('SET', KEYS[1], value)
end
redis.call('ZADD', KEYS[2], now_ms, ARGV[4])
redis.call('SADD', KEYS[3], ARGV[5])
if limit > 0 then
  local over = redis.call('ZCARD', KEYS[2]) - limit
  if over > 0 then
    for _, m in ipairs(redis.call('ZRANGE', KEYS[2], 0, over - 1)) do
      redis.call('DEL', ARGV[6] .. m)
      redis.call('ZREM', KEYS[2], m)
    end
  end
end
return value
)lua"};

// The clears publish `message` on `channel` (when the channel is not empty)
// in the same script, so the invalidation is on its way to every subscriber
// before the clear's reply (DistributedMemoryCache's push invalidation).

// KEYS: function key set, backend set. ARGV: value key prefix, name,
// channel, message.
const LuaScript kClear = {R"lua(
local removed = 0
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  removed = removed + redis.call('DEL', ARGV[1] .. m)
end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[2])
if ARGV[3] ~= '' then redis.call('PUBLISH', ARGV[3], ARGV[4]) end
return removed
)lua"};

// KEYS: function key set. ARGV: value key prefix, channel, message,
// members...
const LuaScript kClearMembers = {R"lua(
local removed = 0
for i = 4, #ARGV do
  removed = removed + redis.call('DEL', ARGV[1] .. ARGV[i])
  redis.call('ZREM', KEYS[1], ARGV[i])
end
if ARGV[2] ~= '' then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
return removed
)lua"};

// KEYS: function key set. ARGV: value key prefix.
const LuaScript kSize = {R"lua(
local live = 0
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if redis.call('EXISTS', ARGV[1] .. m) == 1 then
    live = live + 1
  else
    redis.call('ZREM', KEYS[1], m)
  end
end
return live
)lua"};

// KEYS: backend set. ARGV: prefix, module, backend class, channel, message.
const LuaScript kFlush = {R"lua(
local removed = 0
for _, name in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local set = ARGV[1] .. ARGV[2] .. ':' .. name .. '-keys'
  local values = ARGV[1] .. ARGV[3] .. ':' .. name .. ':'
  for _, m in ipairs(redis.call('ZRANGE', set, 0, -1)) do
    removed = removed + redis.call('DEL', values .. m)
  end
  redis.call('DEL', set)
end
redis.call('DEL', KEYS[1])
if ARGV[4] ~= '' then redis.call('PUBLISH', ARGV[4], ARGV[5]) end
return removed
)lua"};

// KEYS: backend set. ARGV: prefix, module. Drops names without keys.
const LuaScript kNamespaces = {R"lua(
local names = {}
for _, name in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', ARGV[1] .. ARGV[2] .. ':' .. name .. '-keys') == 1 then
    table.insert(names, name)
  else
    redis.call('SREM', KEYS[1], name)
  end
end
return names
)lua"};

absl::Mutex sha_mu(absl::kConstInit);

absl::flat_hash_map<const LuaScript*, std::string>& Shas()
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(sha_mu) {
  static auto* shas = new absl::flat_hash_map<const LuaScript*, std::string>();
  return *shas;
}

std::string AllKeysSet(const BackendNames& names, const std::string& prefix) {
  return absl::StrCat(prefix, names.module, ":", names.class_name, ":all-keys");
}

[[noreturn]] void Fail(const char* what, const std::string& detail) {
  throw std::runtime_error(absl::StrCat("redis ", what, ": ", detail));
}

}  // namespace

RedisReply RunScript(RedisClient& client, const LuaScript& script,
                     const std::vector<std::string>& keys,
                     const std::vector<std::string>& args, const char* what) {
  std::string sha;
  {
    absl::MutexLock lock(&sha_mu);
    auto it = Shas().find(&script);
    if (it != Shas().end()) sha = it->second;
  }
  if (sha.empty()) {
    RedisReply loaded = client.Command({"SCRIPT", "LOAD", script.body});
    if (loaded.type != RedisReply::Type::kString) {
      Fail(what, absl::StrCat("SCRIPT LOAD failed: ", loaded.str));
    }
    sha = loaded.str;
    absl::MutexLock lock(&sha_mu);
    Shas()[&script] = sha;
  }
  std::vector<std::string> argv;
  argv.reserve(3 + keys.size() + args.size());
  argv.push_back("EVALSHA");
  argv.push_back(sha);
  argv.push_back(std::to_string(keys.size()));
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  RedisReply reply = client.Command(argv);
  if (reply.is_error() && absl::StartsWith(reply.str, "NOSCRIPT")) {
    // The server restarted (or SCRIPT FLUSH): EVAL sends the body and makes
    // the server cache it again under the same SHA.
    argv[0] = "EVAL";
    argv[1] = script.body;
    reply = client.Command(argv);
  }
  if (reply.is_error()) Fail(what, reply.str);
  return reply;
}

RedisStore::RedisStore(std::shared_ptr<RedisClient> client,
                       const BackendNames& names, const NamespaceSpec& spec)
    : client_(std::move(client)),
      name_(spec.name),
      value_prefix_(
          absl::StrCat(spec.prefix, names.class_name, ":", spec.name, ":")),
      keys_set_(
          absl::StrCat(spec.prefix, names.module, ":", spec.name, "-keys")),
      all_keys_(AllKeysSet(names, spec.prefix)),
      expire_ms_(spec.expire_seconds > 0
                     ? std::to_string(spec.expire_seconds * 1000)
                     : "-1"),
      limit_(spec.limit > 0 ? std::to_string(spec.limit) : "-1") {
  if (client_ == nullptr) {
    throw std::invalid_argument(
        absl::StrCat("backend ", names.class_name, " opened for '", spec.name,
                     "' without a Redis client (HostContext::redis is null)"));
  }
}

std::optional<std::string> RedisStore::Get(const std::string& key) {
  RedisReply reply =
      client_->Command({"GET", absl::StrCat(value_prefix_, key)});
  if (reply.type == RedisReply::Type::kString) return std::move(reply.str);
  if (reply.is_nil()) return std::nullopt;
  // A value of another type (a list, say) under our key: not ours, a miss.
  if (reply.is_error() && absl::StartsWith(reply.str, "WRONGTYPE")) {
    return std::nullopt;
  }
  Fail("GET", reply.str);
}

std::string RedisStore::StoreWithMode(const std::string& key,
                                      const std::string& value,
                                      const char* mode) {
  RedisReply reply = RunScript(
      *client_, kStore,
      {absl::StrCat(value_prefix_, key), keys_set_, all_keys_},
      {value, expire_ms_, limit_, key, name_, value_prefix_, mode}, "store");
  return std::move(reply.str);
}

void RedisStore::Put(const std::string& key, const std::string& value) {
  StoreWithMode(key, value, "value");
}

std::string RedisStore::PutToken(const std::string& key) {
  return StoreWithMode(key, "", "token");
}

int64_t RedisStore::Clear(const Publish& publish) {
  return RunScript(*client_, kClear, {keys_set_, all_keys_},
                   {value_prefix_, name_, publish.channel, publish.message},
                   "clear")
      .integer;
}

int64_t RedisStore::ClearMatching(const KeyPattern& pattern,
                                  const Publish& publish) {
  RedisReply members = client_->Command({"ZRANGE", keys_set_, "0", "-1"});
  if (members.type != RedisReply::Type::kArray) {
    Fail("ZRANGE (partial clear)", members.str);
  }
  std::vector<std::string> args = {value_prefix_, publish.channel,
                                   publish.message};
  for (auto& m : members.elements) {
    if (StrictKeyMatches(m.str, pattern)) args.push_back(std::move(m.str));
  }
  // Without matches there is nothing to delete, but a message to publish:
  // other processes may hold copies whose keys Redis no longer lists.
  if (args.size() == 3 && publish.channel.empty()) return 0;
  return RunScript(*client_, kClearMembers, {keys_set_}, args, "partial clear")
      .integer;
}

int64_t RedisStore::Size() {
  return RunScript(*client_, kSize, {keys_set_}, {value_prefix_}, "size")
      .integer;
}

int64_t RedisStore::Flush(RedisClient& client, const BackendNames& names,
                          const std::string& prefix, const Publish& publish) {
  return RunScript(client, kFlush, {AllKeysSet(names, prefix)},
                   {prefix, names.module, names.class_name, publish.channel,
                    publish.message},
                   "flush")
      .integer;
}

std::set<std::string> RedisStore::Namespaces(RedisClient& client,
                                             const BackendNames& names,
                                             const std::string& prefix) {
  RedisReply reply = RunScript(client, kNamespaces, {AllKeysSet(names, prefix)},
                               {prefix, names.module}, "namespaces");
  std::set<std::string> out;
  for (auto& e : reply.elements) out.insert(std::move(e.str));
  return out;
}

}  // namespace redis_backend
}  // namespace cache_alchemy
