// The Redis layout and Lua scripts shared by the distributed backends.

#include "backends/redis_common/redis_store.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <iterator>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/redis_key_slot.h"
#include "core/strict_key.h"

namespace cache_alchemy {
namespace redis_backend {
namespace {

constexpr uint16_t kSlots = kRedisClusterSlots;

// Lua: sets KEYS[n] (a bucket's generation) to a new value that no earlier
// generation of this key had, even across a server restart that lost it:
// the server's time in microseconds, or the old value + 1 if that is not
// larger. Fenced stores compare the generation they read with the current
// one as strings.
#define CA_LUA_BUMP                                              \
  "local function bump(key)\n"                                   \
  "  local t = redis.call('TIME')\n"                             \
  "  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"    \
  "  local old = tonumber(redis.call('GET', key) or '0') or 0\n" \
  "  if old >= now then now = old + 1 end\n"                     \
  "  redis.call('SET', key, string.format('%.0f', now))\n"       \
  "end\n"

// Every script declares every key it touches in KEYS, as Redis Cluster
// requires ("Lua scripts" in the cluster spec): during a slot migration a
// script runs only on a node that holds all its declared keys (elsewhere
// ASK or TRYAGAIN, which the cluster client follows), but a key it did not
// declare reads as missing on the importing node, and a DEL of it does
// nothing there while the value waits on the other node to move in, no
// longer listed by any index: a value no clear finds
// (cluster_failover_test, ClearsMeetingAHalfMigratedBucketRemoveEveryValue).
// The one exception is kStore's eviction, which runs only when the store
// adds a value (below).
//
// KEYS: value key, bucket index, bucket generation.
// ARGV: value, the entry's expire ms, limit, member (the entry key), mode
// ("value" or "token"), fence ("*": none), value key prefix, the function's
// expire ms (index members older than that are trimmed: an entry may live
// shorter than the function's expire, never longer, so no member of a live
// value is trimmed, and a clear still finds every live value), and '1'
// for a store sent without waiting (RedisClient::Send), else nothing.
// Returns nil when the fence refused the store; -1 when the bucket had no
// generation (a server that lost its data, or one that was never told of
// this function: the store is refused, the generation made, and the caller
// registers the function again); else 1 (value) or the token now stored
// (token). A store sent without waiting cannot tell its caller to register
// again: it leaves a bucket without generation as it is and answers with
// an error (counted in RedisClient::deferred_errors), and lookups keep
// reading generation 0, whose stores wait for their reply. Scores are the
// server's time in microseconds, made strictly increasing within the index, so
// eviction follows store order exactly (never the entry just stored) even
// within one microsecond. Eviction deletes value keys it cannot declare (the
// client does not know the victims), so it runs only when this store adds a
// value (its key was missing): Redis never runs a script with a missing
// declared key in a slot that is migrating (ASK on the source, TRYAGAIN on the
// target), so every value of the slot is on this node and the DELs reach them.
// An overwrite (two processes computed the same key) evicts nothing; the next
// store that adds a value restores the limit.
const LuaScript kStore = {CA_LUA_BUMP R"lua(
local generation = redis.call('GET', KEYS[3])
if not generation then
  if ARGV[9] == '1' then
    return redis.error_reply('CA_NOGEN the bucket has no generation ' ..
                             '(the server lost its data): store refused')
  end
  bump(KEYS[3])
  return -1
end
if ARGV[6] ~= '*' and generation ~= ARGV[6] then
  return false
end
local t = redis.call('TIME')
local now_us = tonumber(t[1]) * 1000000 + tonumber(t[2])
local expire_ms = tonumber(ARGV[2])
local index_expire_ms = tonumber(ARGV[8])
local limit = tonumber(ARGV[3])
local value = ARGV[1]
if ARGV[5] == 'token' then
  local current = redis.call('GET', KEYS[1])
  if current then return current end
  value = t[1] .. '.' .. string.format('%06d', tonumber(t[2]))
end
local adds = redis.call('EXISTS', KEYS[1]) == 0
local score = now_us
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
if last[2] and tonumber(last[2]) >= score then score = tonumber(last[2]) + 1 end
if expire_ms > 0 then
  redis.call('SET', KEYS[1], value, 'PX', expire_ms)
  if index_expire_ms > 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf',
               '(' .. string.format('%.0f', now_us - index_expire_ms * 1000))
  end
else
  redis.call('SET', KEYS[1], value)
end
redis.call('ZADD', KEYS[2], string.format('%.0f', score), ARGV[4])
if limit > 0 and adds then
  local over = redis.call('ZCARD', KEYS[2]) - limit
  if over > 0 then
    for _, m in ipairs(redis.call('ZRANGE', KEYS[2], 0, over - 1)) do
      redis.call('DEL', ARGV[7] .. m)
      redis.call('ZREM', KEYS[2], m)
    end
  end
end
if ARGV[5] == 'token' then return value end
return 1
)lua"};

// The clears publish `message` on `channel` (when the channel is not empty)
// in the same script as their last deletion, so the invalidation is on its
// way to every subscriber before the clear's reply (DistributedMemoryCache's
// push invalidation).

// A clear of a bucket is two scripts: kFenceAndList changes the generation
// (so a store whose lookup came before is refused from then on) and lists
// the keys; kClearMembers then deletes the listed values, each declared.

// KEYS: bucket index, bucket generation. Fences the bucket, then lists its
// keys.
const LuaScript kFenceAndList = {CA_LUA_BUMP R"lua(
bump(KEYS[2])
return redis.call('ZRANGE', KEYS[1], 0, -1)
)lua"};

// KEYS: bucket index, then the value key of each member. ARGV: channel,
// message, then the members (entry keys), in the order of their value
// keys. Returns how many values existed.
const LuaScript kClearMembers = {R"lua(
local removed = 0
for i = 3, #ARGV do
  removed = removed + redis.call('DEL', KEYS[i - 1])
  redis.call('ZREM', KEYS[1], ARGV[i])
end
if ARGV[1] ~= '' then redis.call('PUBLISH', ARGV[1], ARGV[2]) end
return removed
)lua"};

// KEYS: value key, bucket index, bucket generation. ARGV: member (the entry
// key), channel, message. Removes one entry and changes the generation (so
// a store whose lookup came before is refused) in one script; publishes as
// the clears do. Returns 1 if the value existed.
const LuaScript kInvalidate = {CA_LUA_BUMP R"lua(
bump(KEYS[3])
local removed = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[2] ~= '' then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
return removed
)lua"};

// KEYS: bucket generation. Gives the bucket a generation if it has none.
const LuaScript kInitGeneration = {CA_LUA_BUMP R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then bump(KEYS[1]) end
return 1
)lua"};

// KEYS: bucket index, then the value key of each member. ARGV: the members,
// in the order of their value keys. Counts the live values; removes the
// members whose value is gone.
const LuaScript kSize = {R"lua(
local live = 0
for i = 1, #ARGV do
  if redis.call('EXISTS', KEYS[i + 1]) == 1 then
    live = live + 1
  else
    redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
return live
)lua"};

// Members per kClearMembers or kSize script: a bucket of any size is
// cleared in commands of bounded length.
constexpr size_t kMembersPerScript = 256;

// Calls `run(keys, members, last)` for each run of at most
// kMembersPerScript of `members` (the entry keys of one bucket), in order:
// `keys` is `index`, then the value key (`values` + member) of each member,
// as kClearMembers and kSize take them. With no member, calls it once
// (empty) if `even_if_empty`.
template <typename Run>
void ForEachMemberChunk(const std::string& index, const std::string& values,
                        std::vector<std::string> members, bool even_if_empty,
                        Run run) {
  if (members.empty() && !even_if_empty) return;
  size_t next = 0;
  do {
    const size_t end = std::min(members.size(), next + kMembersPerScript);
    std::vector<std::string> keys = {index};
    std::vector<std::string> chunk;
    keys.reserve(1 + end - next);
    chunk.reserve(end - next);
    for (; next < end; ++next) {
      keys.push_back(values + members[next]);
      chunk.push_back(std::move(members[next]));
    }
    run(std::move(keys), std::move(chunk), next == members.size());
  } while (next < members.size());
}

// std::mutex (every store takes it): Debian's absl::Mutex runs deadlock
// detection on every lock.
std::mutex sha_mu;

absl::flat_hash_map<const LuaScript*, std::string>& Shas() {
  static auto* shas = new absl::flat_hash_map<const LuaScript*, std::string>();
  return *shas;
}

std::string FunctionsSet(const BackendNames& names, const std::string& prefix) {
  return absl::StrCat(prefix, names.class_name, ":functions");
}

std::string FunctionBase(const BackendNames& names, const std::string& prefix,
                         const std::string& id) {
  return absl::StrCat(prefix, names.class_name, ":", id);
}

[[noreturn]] void Fail(const char* what, const std::string& detail) {
  throw std::runtime_error(absl::StrCat("redis ", what, ": ", detail));
}

std::shared_ptr<RedisClient> RequireClient(std::shared_ptr<RedisClient> client,
                                           const BackendNames& names,
                                           const NamespaceSpec& spec) {
  if (client == nullptr) {
    throw std::invalid_argument(
        absl::StrCat("backend ", names.class_name, " opened for '", spec.name,
                     "' without a Redis client (HostContext::redis is null)"));
  }
  return client;
}

// The candidates of TagForSlot in order: [0-9a-z], then two characters, ...
constexpr char kTagAlphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
constexpr int kTagBase = 36;

std::string Candidate(uint64_t n) {
  // n = 0..35 one character, 36..36+36^2-1 two, ...
  int length = 1;
  uint64_t span = kTagBase;
  while (n >= span) {
    n -= span;
    ++length;
    span *= kTagBase;
  }
  std::string s(length, '0');
  for (int i = length - 1; i >= 0; --i) {
    s[i] = kTagAlphabet[n % kTagBase];
    n /= kTagBase;
  }
  return s;
}

}  // namespace

const std::string& TagForSlot(uint16_t slot) {
  // Candidates are tried in one fixed order, each filling its slot if empty,
  // so a slot's tag is the same in every process whatever was asked before.
  static std::mutex mu;
  static auto* tags = new std::array<std::string, kSlots>();
  static uint64_t next = 0;
  std::lock_guard<std::mutex> lock(mu);
  while ((*tags)[slot % kSlots].empty()) {
    std::string candidate = Candidate(next++);
    std::string& at = (*tags)[RedisCrc16(candidate) % kSlots];
    if (at.empty()) at = std::move(candidate);
  }
  return (*tags)[slot % kSlots];
}

// EVALSHA `sha` with `keys` and `args`.
std::vector<std::string> EvalShaArgv(const std::string& sha,
                                     const std::vector<std::string>& keys,
                                     const std::vector<std::string>& args) {
  std::vector<std::string> argv;
  argv.reserve(3 + keys.size() + args.size());
  argv.push_back("EVALSHA");
  argv.push_back(sha);
  argv.push_back(std::to_string(keys.size()));
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// The SHA `script` was loaded under (the same on every server: the SHA1
// of its body), or "" before it was first loaded.
std::string LoadedSha(const LuaScript& script) {
  std::lock_guard<std::mutex> lock(sha_mu);
  auto it = Shas().find(&script);
  return it != Shas().end() ? it->second : std::string();
}

// Loads `script` with SCRIPT LOAD (on a cluster, on every master) and
// returns its SHA. Throws std::runtime_error naming `what`.
std::string LoadScript(RedisClient& client, const LuaScript& script,
                       const char* what) {
  RedisReply loaded = client.Command({"SCRIPT", "LOAD", script.body});
  if (loaded.type != RedisReply::Type::kString) {
    Fail(what, absl::StrCat("SCRIPT LOAD failed: ", loaded.str));
  }
  std::lock_guard<std::mutex> lock(sha_mu);
  Shas()[&script] = loaded.str;
  return loaded.str;
}

RedisReply RunScript(RedisClient& client, const LuaScript& script,
                     const std::vector<std::string>& keys,
                     const std::vector<std::string>& args, const char* what,
                     Durability durability) {
  auto send = [&](const std::vector<std::string>& argv) {
    return durability == Durability::kSurvivesFailover
               ? client.DurableCommand(argv)
               : client.Command(argv);
  };
  std::string sha = LoadedSha(script);
  if (sha.empty()) sha = LoadScript(client, script, what);
  std::vector<std::string> argv = EvalShaArgv(sha, keys, args);
  RedisReply reply = send(argv);
  if (reply.is_error() && absl::StartsWith(reply.str, "NOSCRIPT")) {
    // The server restarted (or SCRIPT FLUSH, or a replica promoted since
    // the script was loaded): EVAL sends the body and makes the server
    // cache it again under the same SHA.
    argv[0] = "EVAL";
    argv[1] = script.body;
    reply = send(argv);
  }
  if (reply.is_error()) Fail(what, reply.str);
  return reply;
}

int BucketsFor(const RedisClient& client) {
  // 1 on a single Redis or Sentinel; the cluster client's `buckets` option
  // (checked against the cluster, so every process agrees).
  return std::max(1, client.buckets());
}

std::vector<RedisStore::Bucket> RedisStore::MakeBuckets(
    const std::string& function_base, int buckets) {
  // The function's buckets sit in evenly spaced slots from an offset of its
  // own, so a cluster's masters (which own contiguous slot ranges) each get
  // a share of every function in proportion to their range.
  const uint32_t offset = RedisCrc16(function_base) % kSlots;
  std::vector<Bucket> out;
  out.reserve(buckets);
  for (int b = 0; b < buckets; ++b) {
    const uint16_t slot =
        (offset + static_cast<uint32_t>(b) * kSlots / buckets) % kSlots;
    Bucket bucket;
    bucket.base = absl::StrCat(function_base, ":{", TagForSlot(slot), "}");
    bucket.values = bucket.base + ":";
    bucket.index = bucket.base + "#i";
    bucket.generation = bucket.base + "#g";
    out.push_back(std::move(bucket));
  }
  return out;
}

RedisStore::RedisStore(std::shared_ptr<RedisClient> client,
                       const BackendNames& names, const NamespaceSpec& spec)
    : client_(RequireClient(std::move(client), names, spec)),
      id_(spec.name),
      functions_(FunctionsSet(names, spec.prefix)),
      buckets_(MakeBuckets(FunctionBase(names, spec.prefix, spec.name),
                           BucketsFor(*client_))),
      expire_ms_(spec.expire_seconds > 0
                     ? std::to_string(spec.expire_seconds * 1000)
                     : "-1"),
      limit_(spec.limit > 0
                 ? std::to_string((spec.limit + buckets_.size() - 1) /
                                  buckets_.size())
                 : "-1") {
  deferred_errors_seen_->store(client_->deferred_errors(),
                               std::memory_order_relaxed);
}

const RedisStore::Bucket& RedisStore::BucketOf(const std::string& key) const {
  if (buckets_.size() == 1) return buckets_[0];
  return buckets_[RedisCrc16(key) % buckets_.size()];
}

std::string RedisStore::ValueKey(const std::string& key) const {
  return BucketOf(key).values + key;
}

void RedisStore::Register() {
  // Before the first lookup: a flush elsewhere fences every function it
  // finds in the set, so a function must be in it before it computes.
  // Again after a store found a bucket without a generation: the server lost
  // its data (a restart without persistence), the set with it.
  if (registered_->load(std::memory_order_acquire)) return;
  RedisReply reply = client_->Command({"SADD", functions_, id_});
  if (reply.is_error()) Fail("SADD (register function)", reply.str);
  // Every bucket gets a generation before its first lookup, so that the
  // first fenced store is not refused for want of one.
  for (const Bucket& bucket : buckets_) {
    RunScript(*client_, kInitGeneration, {bucket.generation}, {},
              "register function");
  }
  // The store's script is on the server (on every master of a cluster)
  // before a store is sent without waiting (SendStore): a NOSCRIPT then
  // would only be seen later, its value lost.
  LoadScript(*client_, kStore, "register function");
  registered_->store(true, std::memory_order_release);
}

namespace {

// A generation as the server wrote it ("%.0f" of microseconds); 0 for none.
// Text that is not a number (written behind our back) reads as a generation
// no store can match, so stores of the bucket are refused until a clear.
uint64_t ParseGeneration(const RedisReply& reply) {
  if (reply.type != RedisReply::Type::kString) return 0;
  // Digits only, as INCR writes them (std::from_chars: no whitespace or
  // sign, and a tenth of absl::SimpleAtoi's instructions on every hit).
  uint64_t generation = 0;
  const char* end = reply.str.data() + reply.str.size();
  const auto [at, error] = std::from_chars(reply.str.data(), end, generation);
  if (error != std::errc() || at != end || generation == 0) {
    return ~uint64_t{0};
  }
  return generation;
}

}  // namespace

std::optional<std::string> RedisStore::Get(const std::string& key,
                                           uint64_t* generation) {
  Register();
  const Bucket& bucket = BucketOf(key);
  // Built in place: from an initializer list each argument would be built
  // and then copied (every hit runs this).
  std::vector<std::string> mget(3);
  mget[0] = "MGET";
  mget[1].reserve(bucket.values.size() + key.size());
  mget[1].append(bucket.values).append(key);
  mget[2] = bucket.generation;
  RedisReply reply = client_->Command(mget);
  if (reply.type != RedisReply::Type::kArray || reply.elements.size() != 2) {
    Fail("MGET", reply.str);
  }
  if (generation != nullptr) *generation = ParseGeneration(reply.elements[1]);
  // A value of another type under our key reads as nil: not ours, a miss.
  if (reply.elements[0].type == RedisReply::Type::kString) {
    return std::move(reply.elements[0].str);
  }
  return std::nullopt;
}

uint64_t RedisStore::Generation(const std::string& key) {
  Register();
  RedisReply reply = client_->Command({"GET", BucketOf(key).generation});
  if (reply.is_error()) Fail("GET (generation)", reply.str);
  return ParseGeneration(reply);
}

std::string RedisStore::StoreWithMode(const std::string& key,
                                      std::string_view value, const char* mode,
                                      const uint64_t* generation,
                                      int64_t ttl_ms, bool* refused) {
  Register();
  const Bucket& bucket = BucketOf(key);
  RedisReply reply = RunScript(
      *client_, kStore, StoreKeys(bucket, key),
      StoreArgs(bucket, key, value, mode, generation, ttl_ms), "store");
  if (reply.type == RedisReply::Type::kInteger && reply.integer == -1) {
    // The bucket had no generation: the server lost its data since this
    // process registered the function (or someone deleted it). Refused; the
    // next call registers again (and loads the store's script again: a
    // restart empties the script cache too).
    registered_->store(false, std::memory_order_release);
    *refused = true;
    return std::string();
  }
  *refused = reply.is_nil();
  return std::move(reply.str);
}

std::vector<std::string> RedisStore::StoreKeys(const Bucket& bucket,
                                               const std::string& key) {
  return {bucket.values + key, bucket.index, bucket.generation};
}

std::vector<std::string> RedisStore::StoreArgs(
    const Bucket& bucket, const std::string& key, std::string_view value,
    const char* mode, const uint64_t* generation, int64_t ttl_ms) const {
  return {std::string(value),
          EntryExpireMs(ttl_ms),
          limit_,
          key,
          mode,
          generation != nullptr ? std::to_string(*generation) : "*",
          bucket.values,
          expire_ms_};
}

std::string RedisStore::EntryExpireMs(int64_t ttl_ms) const {
  // Never longer than the function's expire (the index is trimmed by it).
  if (ttl_ms <= 0) return expire_ms_;
  if (expire_ms_ != "-1" && ttl_ms >= std::stoll(expire_ms_)) {
    return expire_ms_;
  }
  return std::to_string(ttl_ms);
}

bool RedisStore::SendStore(const std::string& key, std::string_view value,
                           uint64_t generation, int64_t ttl_ms) {
  // Only a store whose refusal needs no action here goes without waiting:
  // the bucket had a generation (0: it had none, the server may have lost
  // its data and this function its registration; ~0: not ours to match),
  // this store registered the function and loaded the script (Register),
  // and no earlier Send came back with an error (a NOSCRIPT after a
  // restart that kept the data, a redirection, a demoted master). After
  // one, the function registers again (loading the script everywhere) and
  // this store waits for its reply, which RunScript and the client act on.
  if (generation == 0 || generation == ~uint64_t{0} ||
      !registered_->load(std::memory_order_acquire)) {
    return false;
  }
  const int64_t errors = client_->deferred_errors();
  if (errors != deferred_errors_seen_->load(std::memory_order_relaxed)) {
    deferred_errors_seen_->store(errors, std::memory_order_relaxed);
    registered_->store(false, std::memory_order_release);
    return false;
  }
  const std::string sha = LoadedSha(kStore);
  if (sha.empty()) return false;
  const Bucket& bucket = BucketOf(key);
  std::vector<std::string> args =
      StoreArgs(bucket, key, value, "value", &generation, ttl_ms);
  args.push_back("1");  // sent without waiting (kStore's ARGV[9])
  return client_->Send(EvalShaArgv(sha, StoreKeys(bucket, key), args));
}

bool RedisStore::AwaitStores() noexcept {
  try {
    return client_->Settle();
  } catch (...) {
    return true;  // best effort: at worst the caller computes a value again
  }
}

bool RedisStore::Put(const std::string& key, std::string_view value,
                     const uint64_t* generation, int64_t ttl_ms, bool wait) {
  if (!wait && generation != nullptr &&
      SendStore(key, value, *generation, ttl_ms)) {
    return true;
  }
  bool refused = false;
  StoreWithMode(key, value, "value", generation, ttl_ms, &refused);
  return !refused;
}

std::optional<std::string> RedisStore::PutToken(const std::string& key,
                                                const uint64_t* generation,
                                                int64_t ttl_ms) {
  bool refused = false;
  std::string token =
      StoreWithMode(key, "", "token", generation, ttl_ms, &refused);
  if (refused) return std::nullopt;
  return token;
}

int64_t RedisStore::Invalidate(const std::string& key, const Publish& publish) {
  const Bucket& bucket = BucketOf(key);
  // A clear of one key: like the clears, it must survive a failover before
  // it returns (a promoted replica must not bring the value back).
  return RunScript(*client_, kInvalidate,
                   {bucket.values + key, bucket.index, bucket.generation},
                   {key, publish.channel, publish.message}, "invalidate",
                   Durability::kSurvivesFailover)
      .integer;
}

int64_t RedisStore::ClearBucket(RedisClient& client, const Bucket& bucket,
                                const KeyPattern* pattern,
                                const Publish& publish, const char* what) {
  // Fence first: a store whose lookup came before this point is refused,
  // so nothing computed before the clear lands between the listing and the
  // deletion below.
  RedisReply listed =
      RunScript(client, kFenceAndList, {bucket.index, bucket.generation}, {},
                what, Durability::kSurvivesFailover);
  std::vector<std::string> members;
  members.reserve(listed.elements.size());
  for (RedisReply& m : listed.elements) {
    if (pattern == nullptr ||
        StrictKeyMatches(m.str, *pattern, KeyFormat::kText)) {
      members.push_back(std::move(m.str));
    }
  }
  // Without matches there is nothing to delete, but maybe a message to
  // publish: other processes may hold copies Redis no longer lists.
  int64_t removed = 0;
  ForEachMemberChunk(
      bucket.index, bucket.values, std::move(members),
      /*even_if_empty=*/!publish.channel.empty(),
      [&](std::vector<std::string> keys, std::vector<std::string> chunk,
          bool last) {
        std::vector<std::string> args = {last ? publish.channel : "",
                                         last ? publish.message : ""};
        args.insert(args.end(), std::make_move_iterator(chunk.begin()),
                    std::make_move_iterator(chunk.end()));
        removed += RunScript(client, kClearMembers, keys, args, what,
                             Durability::kSurvivesFailover)
                       .integer;
      });
  return removed;
}

int64_t RedisStore::Clear(const Publish& publish) {
  int64_t removed = 0;
  for (size_t b = 0; b < buckets_.size(); ++b) {
    const bool last = b + 1 == buckets_.size();
    removed += ClearBucket(*client_, buckets_[b], nullptr,
                           last ? publish : Publish{}, "clear");
  }
  return removed;
}

int64_t RedisStore::ClearMatching(const KeyPattern& pattern,
                                  const Publish& publish) {
  int64_t removed = 0;
  for (size_t b = 0; b < buckets_.size(); ++b) {
    const bool last = b + 1 == buckets_.size();
    removed += ClearBucket(*client_, buckets_[b], &pattern,
                           last ? publish : Publish{}, "partial clear");
  }
  return removed;
}

int64_t RedisStore::Size() {
  int64_t live = 0;
  for (const Bucket& bucket : buckets_) {
    RedisReply listed = client_->Command({"ZRANGE", bucket.index, "0", "-1"});
    if (listed.type != RedisReply::Type::kArray) {
      Fail("ZRANGE (size)", listed.str);
    }
    std::vector<std::string> members;
    members.reserve(listed.elements.size());
    for (RedisReply& m : listed.elements) members.push_back(std::move(m.str));
    ForEachMemberChunk(
        bucket.index, bucket.values, std::move(members),
        /*even_if_empty=*/false,
        [&](std::vector<std::string> keys, std::vector<std::string> chunk,
            bool) {
          live += RunScript(*client_, kSize, keys, chunk, "size").integer;
        });
  }
  return live;
}

int64_t RedisStore::Flush(RedisClient& client, const BackendNames& names,
                          const std::string& prefix, const Publish& publish) {
  RedisReply ids = client.Command({"SMEMBERS", FunctionsSet(names, prefix)});
  if (ids.type != RedisReply::Type::kArray) Fail("SMEMBERS (flush)", ids.str);
  int64_t removed = 0;
  // Every function stays in the set: a later flush must fence it again.
  for (const RedisReply& id : ids.elements) {
    for (const Bucket& bucket :
         MakeBuckets(FunctionBase(names, prefix, id.str), BucketsFor(client))) {
      removed += ClearBucket(client, bucket, nullptr, Publish{}, "flush");
    }
  }
  if (!publish.channel.empty()) {
    RedisReply published =
        client.Command({"PUBLISH", publish.channel, publish.message});
    if (published.is_error()) Fail("PUBLISH (flush)", published.str);
  }
  return removed;
}

std::set<std::string> RedisStore::Namespaces(RedisClient& client,
                                             const BackendNames& names,
                                             const std::string& prefix) {
  RedisReply ids = client.Command({"SMEMBERS", FunctionsSet(names, prefix)});
  if (ids.type != RedisReply::Type::kArray) {
    Fail("SMEMBERS (namespaces)", ids.str);
  }
  std::vector<std::vector<std::string>> exists;
  std::vector<const std::string*> owner;
  for (const RedisReply& id : ids.elements) {
    for (const Bucket& bucket :
         MakeBuckets(FunctionBase(names, prefix, id.str), BucketsFor(client))) {
      exists.push_back({"EXISTS", bucket.index});
      owner.push_back(&id.str);
    }
  }
  std::set<std::string> out;
  if (exists.empty()) return out;
  std::vector<RedisReply> replies = client.Pipeline(exists);
  for (size_t i = 0; i < replies.size(); ++i) {
    if (replies[i].is_error()) Fail("EXISTS (namespaces)", replies[i].str);
    if (replies[i].integer > 0) out.insert(*owner[i]);
  }
  return out;
}

}  // namespace redis_backend
}  // namespace cache_alchemy
