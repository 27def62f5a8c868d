// redis-cluster:// and redis-sentinel:// URLs. Errors never quote a password:
// every message quotes RedactRedisUrl(url).

#include "core/redis/cluster_url.h"

#include <stdexcept>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace cache_alchemy {
namespace redis {
namespace {

constexpr absl::string_view kClusterScheme = "redis-cluster://";
constexpr absl::string_view kSentinelScheme = "redis-sentinel://";
constexpr char kClusterForm[] =
    "redis-cluster://[[user]:password@]host:port[,host:port...][?options]";
constexpr char kSentinelForm[] =
    "redis-sentinel://[[user]:password@]host:port[,host:port...]/MASTER[/db]"
    "[?options]";

// Throws for a malformed URL of `form`, naming `what`. Parts of the URL are
// quoted only through Quote, which shows a part only if the redacted URL
// shows it too: a password with an unescaped '?', say, could otherwise be
// taken for a host and echoed.
class UrlError {
 public:
  UrlError(const std::string& url, const char* form)
      : redacted_(RedactRedisUrl(url)), form_(form) {}
  [[noreturn]] void operator()(absl::string_view what) const {
    throw std::invalid_argument(absl::StrCat("malformed Redis URL '", redacted_,
                                             "': ", what, " (expected ", form_,
                                             ")"));
  }
  std::string Quote(absl::string_view part) const {
    if (absl::StrContains(redacted_, part)) return absl::StrCat("'", part, "'");
    return "(a part not shown: it may hold the password)";
  }

 private:
  const std::string redacted_;
  const char* form_;
};

int ParseNumber(const UrlError& fail, absl::string_view what,
                absl::string_view text, int min, int max) {
  int value = 0;
  if (!absl::SimpleAtoi(text, &value) || value < min || value > max) {
    fail(absl::StrCat(what, " ", fail.Quote(text), " is not a number in [", min,
                      ", ", max, "]"));
  }
  return value;
}

// Decodes %XX escapes. The message never shows the (secret) text.
std::string PercentDecoded(const UrlError& fail, absl::string_view what,
                           absl::string_view in) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    const int hi = i + 1 < in.size() ? hex(in[i + 1]) : -1;
    const int lo = i + 2 < in.size() ? hex(in[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      fail(absl::StrCat("a '%' escape in the ", what,
                        " is not followed by two hex digits"));
    }
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

// "host[:port]" or "[v6]:port"; the port defaults to `default_port`.
HostPort ParseHost(const UrlError& fail, absl::string_view text,
                   int default_port) {
  HostPort out;
  out.port = default_port;
  absl::string_view host = text;
  absl::string_view port;
  if (absl::ConsumePrefix(&host, "[")) {
    const size_t close = host.find(']');
    if (close == absl::string_view::npos) {
      fail(absl::StrCat("host ", fail.Quote(text), " has '[' without ']'"));
    }
    absl::string_view after = host.substr(close + 1);
    host = host.substr(0, close);
    if (!after.empty()) {
      if (!absl::ConsumePrefix(&after, ":")) {
        fail(absl::StrCat("junk after ']' in host ", fail.Quote(text)));
      }
      port = after;
      if (port.empty()) fail(absl::StrCat("empty port in ", fail.Quote(text)));
    }
  } else if (const size_t colon = host.rfind(':');
             colon != absl::string_view::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
    if (port.empty()) fail(absl::StrCat("empty port in ", fail.Quote(text)));
  }
  if (host.empty())
    fail(absl::StrCat("a host is missing in ", fail.Quote(text)));
  out.host = std::string(host);
  if (!port.empty()) out.port = ParseNumber(fail, "port", port, 1, 65535);
  return out;
}

std::vector<HostPort> ParseHosts(const UrlError& fail, absl::string_view list,
                                 int default_port) {
  std::vector<HostPort> out;
  if (list.empty()) fail("the host list is empty");
  for (absl::string_view one : absl::StrSplit(list, ',')) {
    if (one.empty()) fail("the host list has an empty entry (',,')");
    out.push_back(ParseHost(fail, one, default_port));
  }
  return out;
}

// Splits "[userinfo@]hosts" and fills the credentials of `node`.
absl::string_view TakeCredentials(const UrlError& fail, absl::string_view base,
                                  RedisEndpoint* node) {
  const size_t at = base.rfind('@');
  if (at == absl::string_view::npos) return base;
  const absl::string_view userinfo = base.substr(0, at);
  const size_t colon = userinfo.find(':');
  if (colon == absl::string_view::npos) {
    fail(
        "credentials need a ':' before the password (:password@ or "
        "user:password@)");
  }
  node->user = PercentDecoded(fail, "user", userinfo.substr(0, colon));
  node->password = PercentDecoded(fail, "password", userinfo.substr(colon + 1));
  return base.substr(at + 1);
}

// The options both schemes take; false when `key` is not one of them.
bool CommonOption(const UrlError& fail, absl::string_view key,
                  absl::string_view value, RedisEndpoint* node) {
  if (key == "connect_timeout_ms") {
    node->connect_timeout_ms = ParseNumber(fail, key, value, 1, 3600 * 1000);
  } else if (key == "timeout_ms") {
    node->timeout_ms = ParseNumber(fail, key, value, 1, 3600 * 1000);
  } else if (key == "wait_timeout_ms") {
    node->wait_timeout_ms = ParseNumber(fail, key, value, 1, 3600 * 1000);
  } else if (key == "pool_size") {
    node->pool_size = ParseNumber(fail, key, value, 0, 1024);
  } else if (key == "deferred_stores") {
    node->deferred_stores = ParseNumber(fail, key, value, 0, 1) == 1;
  } else if (key == "user") {
    node->user = PercentDecoded(fail, "user", value);
  } else if (key == "password") {
    node->password = PercentDecoded(fail, "password", value);
  } else {
    return false;
  }
  return true;
}

// Calls `option(key, value)` for each "key=value" of `query`; an option it
// does not know (returns false) is an error listing `known`.
template <typename Option>
void ParseOptions(const UrlError& fail, absl::string_view query,
                  const char* known, Option option) {
  for (absl::string_view pair : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(pair, absl::MaxSplits('=', 1));
    if (!option(kv.first, kv.second)) {
      fail(absl::StrCat("unknown option ", fail.Quote(kv.first),
                        " (known: ", known, ")"));
    }
  }
}

std::string JoinHosts(const std::vector<HostPort>& hosts) {
  return absl::StrJoin(hosts, ",", [](std::string* out, const HostPort& h) {
    out->append(h.Text());
  });
}

}  // namespace

std::string HostPort::Text() const {
  const bool v6 = host.find(':') != std::string::npos;
  return absl::StrCat(v6 ? "[" : "", host, v6 ? "]" : "", ":", port);
}

bool IsClusterUrl(std::string_view url) {
  return absl::StartsWith(absl::string_view(url.data(), url.size()),
                          kClusterScheme);
}

bool IsSentinelUrl(std::string_view url) {
  return absl::StartsWith(absl::string_view(url.data(), url.size()),
                          kSentinelScheme);
}

std::string RedactRedisUrl(std::string_view url) {
  std::string out(url);
  const size_t scheme = out.find("://");
  const size_t start = scheme == std::string::npos ? 0 : scheme + 3;
  // The credentials end at the last '@' (a password may hold '/', '?', or
  // '@' itself); over-redacting an '@' in an option is harmless.
  if (const size_t at = out.rfind('@');
      at != std::string::npos && at >= start) {
    const size_t colon = out.find(':', start);
    const size_t keep =
        colon != std::string::npos && colon < at ? colon : start;
    out.replace(keep, at - keep, keep == start ? "***" : ":***");
  }
  // Option values: password=, sentinel_password= (and any *_password=).
  constexpr std::string_view kKey = "password=";
  for (size_t pos = out.find('?'); pos != std::string::npos;) {
    pos = out.find(kKey, pos);
    if (pos == std::string::npos) break;
    const char before = out[pos - 1];
    pos += kKey.size();
    if (before != '?' && before != '&' && before != '_') continue;
    const size_t end = out.find('&', pos);
    out.replace(pos, (end == std::string::npos ? out.size() : end) - pos,
                "***");
  }
  return out;
}

std::string ClusterUrl::Describe() const {
  return absl::StrCat(kClusterScheme, JoinHosts(seeds));
}

std::string SentinelUrl::Describe() const {
  return absl::StrCat(kSentinelScheme, JoinHosts(sentinels), "/", master_name,
                      "/", node.db);
}

ClusterUrl ParseClusterUrl(const std::string& url) {
  const UrlError fail(url, kClusterForm);
  absl::string_view rest(url);
  if (!absl::ConsumePrefix(&rest, kClusterScheme)) {
    fail("the scheme must be redis-cluster://");
  }
  ClusterUrl out;
  out.node.durable_writes = true;
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(rest, absl::MaxSplits('?', 1));
  absl::string_view base = TakeCredentials(fail, parts.first, &out.node);
  absl::ConsumeSuffix(&base, "/");
  if (base.find('/') != absl::string_view::npos) {
    fail("a cluster URL has no path: Redis Cluster has db 0 only");
  }
  out.seeds = ParseHosts(fail, base, 6379);
  ParseOptions(fail, parts.second,
               "connect_timeout_ms, timeout_ms, wait_timeout_ms, pool_size, "
               "deferred_stores, "
               "buckets, user, password",
               [&](absl::string_view key, absl::string_view value) {
                 if (key == "buckets") {
                   out.buckets = ParseNumber(fail, key, value, 1, 1024);
                   return true;
                 }
                 return CommonOption(fail, key, value, &out.node);
               });
  return out;
}

SentinelUrl ParseSentinelUrl(const std::string& url) {
  const UrlError fail(url, kSentinelForm);
  absl::string_view rest(url);
  if (!absl::ConsumePrefix(&rest, kSentinelScheme)) {
    fail("the scheme must be redis-sentinel://");
  }
  SentinelUrl out;
  out.node.durable_writes = true;
  out.node.master_only = true;
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(rest, absl::MaxSplits('?', 1));
  absl::string_view base = TakeCredentials(fail, parts.first, &out.node);
  const size_t slash = base.find('/');
  if (slash == absl::string_view::npos) {
    fail("the master name is missing (.../MASTER_NAME after the sentinels)");
  }
  out.sentinels = ParseHosts(fail, base.substr(0, slash), 26379);
  absl::string_view path = base.substr(slash + 1);
  absl::ConsumeSuffix(&path, "/");
  std::pair<absl::string_view, absl::string_view> name_db =
      absl::StrSplit(path, absl::MaxSplits('/', 1));
  if (name_db.first.empty()) fail("the master name is empty");
  out.master_name = PercentDecoded(fail, "master name", name_db.first);
  if (!name_db.second.empty()) {
    out.node.db = ParseNumber(fail, "db", name_db.second, 0, 1 << 20);
  }
  ParseOptions(fail, parts.second,
               "connect_timeout_ms, timeout_ms, wait_timeout_ms, pool_size, "
               "deferred_stores, "
               "user, password, sentinel_user, sentinel_password",
               [&](absl::string_view key, absl::string_view value) {
                 if (key == "sentinel_user") {
                   out.sentinel_user = PercentDecoded(fail, "user", value);
                   return true;
                 }
                 if (key == "sentinel_password") {
                   out.sentinel_password =
                       PercentDecoded(fail, "password", value);
                   return true;
                 }
                 return CommonOption(fail, key, value, &out.node);
               });
  return out;
}

}  // namespace redis
}  // namespace cache_alchemy
