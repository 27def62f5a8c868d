// Wrap-time work: defaults, option checks, backend resolution.

#include <cxxabi.h>

#include <algorithm>
#include <atomic>
#include <boost/crc.hpp>
#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "core/cached_function.h"
#include "core/defaults.h"
#include "core/internal/dependency_graph.h"
#include "core/internal/refresh_size.h"
#include "core/log.h"
#include "core/namespaces.h"
#include "core/registry.h"

namespace cache_alchemy {
namespace internal {
namespace {

// Debian builds Abseil without NDEBUG, so every absl::Mutex operation runs
// deadlock detection under one process-wide spin lock. A fork() while some
// thread (a Redis subscriber, a user's thread) holds it leaves that lock
// held in the child, whose first absl::Mutex operation then hangs forever;
// the detection also costs about 360 instructions per lock. A cache must
// survive fork(), so the library turns the detection off when it is loaded
// (as an NDEBUG build of Abseil has it).
// CACHE_ALCHEMY_ABSL_DEADLOCK_DETECTION=1 keeps it, for a process that wants it
// while debugging.
[[maybe_unused]] const bool kAbslDeadlockDetectionConfigured = [] {
  const char* keep = std::getenv("CACHE_ALCHEMY_ABSL_DEADLOCK_DETECTION");
  if (keep == nullptr || std::string(keep) != "1") {
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  }
  return true;
}();

std::string BackendFor(Family family, const Defaults& defaults) {
  switch (family) {
    case Family::kMemory:
      return defaults.memory_backend;
    case Family::kJson:
      return defaults.json_backend;
    case Family::kPickle:
      return defaults.pickle_backend;
  }
  return defaults.memory_backend;
}

int64_t CheckedSetting(const char* field, const std::optional<int64_t>& value,
                       int64_t fallback) {
  int64_t v = value.value_or(fallback);
  if (v < -1) {
    throw std::invalid_argument(absl::StrCat(
        "CacheOptions::", field, " is ", v, (value ? "" : " (config default)"),
        "; use a positive number, -1 for unlimited or 0 for not cached"));
  }
  return v;
}

const char* FormatName(ValueFormat format) {
  switch (format) {
    case ValueFormat::kObject:
      return "object";
    case ValueFormat::kJson:
      return "JSON";
    case ValueFormat::kBinary:
      return "binary";
  }
  return "unknown";
}

// Host services for `backend`; throws if it needs what is not configured.
HostContext MakeHost(const Backend& backend, const std::string& backend_name,
                     const Defaults& defaults) {
  HostContext host;
  host.clock = CurrentClock();
  if ((backend.requirements() & Backend::kRequiresRedis) != 0) {
    if (defaults.cache_redis_client == nullptr) {
      throw std::runtime_error(absl::StrCat(
          "backend '", backend_name,
          "' needs Redis, but the config's cache_redis_client is empty: "
          "assign it first, e.g. config.cache_redis_client = "
          "ca::RedisClient::FromUrl(config.get<std::string>("
          "\"CACHE_ALCHEMY_REDIS_URL\"))"));
    }
    host.redis = defaults.cache_redis_client;
  }
  return host;
}

std::string ResolvePrefix(std::string_view given, const Defaults& defaults) {
  return given.empty() ? defaults.cache_key_prefix : std::string(given);
}

// 8 hex digits naming everything that must match for two wrappers to share
// entries besides the name: argument and result types, strict and
// is_method (a fast key and a strict key can be the same bytes). CRC-32 of
// the mangled signature: the same in every build of one ABI, so processes
// of different builds still share.
std::string SignatureTag(const SignatureInfo& sig, bool strict, bool is_method,
                         const std::string& envelope) {
  // `envelope` (empty for functions without one, so their tags are those
  // of earlier versions) names the stored format of enveloped entries and
  // the exception types they may hold.
  const std::string text = absl::StrCat(sig.signature, "|strict=", strict,
                                        "|method=", is_method, envelope);
  boost::crc_32_type crc;
  crc.process_bytes(text.data(), text.size());
  return absl::StrCat(absl::Hex(crc.checksum(), absl::kZeroPad8));
}

// "file:line:column#n": unique per wrapper, so wrappers without a name
// never share entries (one pool per wrapper, as the original).
std::string DefaultName(const std::source_location& loc) {
  static std::atomic<uint64_t> next{1};
  return absl::StrCat(loc.file_name(), ":", loc.line(), ":", loc.column(), "#",
                      next.fetch_add(1, std::memory_order_relaxed));
}

EvictionPolicy ResolveEviction(const std::string& given,
                               const Defaults& defaults) {
  const std::string& name = given.empty() ? defaults.default_eviction : given;
  if (name == "s3-fifo") return EvictionPolicy::kS3Fifo;
  if (name == "lru") return EvictionPolicy::kLru;
  throw std::invalid_argument(absl::StrCat(
      "CacheOptions::eviction is \"", name, "\"",
      given.empty() ? " (config CACHE_ALCHEMY_DEFAULT_EVICTION)" : "",
      "; use \"s3-fifo\" or \"lru\""));
}

// The name part of a namespace id ("name@1f0c2a9e" -> "name").
std::string NameOfId(const std::string& id) {
  const size_t at = id.rfind('@');
  if (at == std::string::npos || id.size() - at != 9) return id;
  for (size_t i = at + 1; i < id.size(); ++i) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(id[i]))) return id;
  }
  return id.substr(0, at);
}

// Checks and resolves the issue-16 options: TTL jitter, refresh-ahead,
// cached exceptions, `unless`. Throws std::invalid_argument.
void ResolvePolicies(const CacheOptions& options, const SignatureInfo& sig,
                     ResolvedOptions* resolved);

// The part of the signature tag that enveloped functions add.
std::string EnvelopeTag(const ResolvedOptions& resolved) {
  if (!resolved.envelope) return "";
  std::string tag = "|envelope=1|exceptions=";
  for (const auto& type : resolved.exceptions.types()) {
    absl::StrAppend(&tag, type.type->name(), ",");
  }
  return tag;
}

}  // namespace

std::string TypeName(const std::type_info& type) {
  int status = 0;
  char* demangled = abi::__cxa_demangle(type.name(), nullptr, nullptr, &status);
  std::string name = status == 0 && demangled ? demangled : type.name();
  std::free(demangled);
  return name;
}

std::shared_ptr<FunctionCache> MakeFunctionCache(
    const CacheOptions& options, Family family, bool force_method,
    const std::source_location& loc, const SignatureInfo& sig) {
  const Defaults defaults = CurrentDefaults();
  ResolvedOptions resolved;
  resolved.limit =
      CheckedSetting("limit", options.limit, defaults.default_limit);
  resolved.expire =
      CheckedSetting("expire", options.expire, defaults.default_expire);
  resolved.is_method = options.is_method || force_method;
  resolved.strict = options.strict;
  resolved.prefix = ResolvePrefix(options.cache_key_prefix, defaults);
  resolved.backend =
      options.backend.empty() ? BackendFor(family, defaults) : options.backend;
  resolved.name = options.name.empty() ? DefaultName(loc) : options.name;
  resolved.max_value_bytes =
      options.max_value_bytes.value_or(defaults.max_value_bytes);
  if (resolved.max_value_bytes != -1 && resolved.max_value_bytes < 1) {
    throw std::invalid_argument(absl::StrCat(
        "cached function '", resolved.name,
        "': CacheOptions::max_value_bytes is ", resolved.max_value_bytes,
        "; use a positive number of bytes or -1 for no limit"));
  }
  ResolvePolicies(options, sig, &resolved);
  resolved.id =
      absl::StrCat(resolved.name, "@",
                   SignatureTag(sig, resolved.strict, resolved.is_method,
                                EnvelopeTag(resolved)));
  resolved.dependencies = options.dependency;
  const EvictionPolicy eviction = ResolveEviction(options.eviction, defaults);

  const size_t arity = sig.param_types.size();
  const size_t first_keyed = resolved.is_method && arity > 0 ? 1 : 0;
  if (!sig.first_param_encodable && first_keyed == 0) {
    throw std::invalid_argument(absl::StrCat(
        "cached function '", resolved.name,
        "': its first parameter has no cache-key encoding; set is_method "
        "(use method_*/property_* or .is_method = true) if it is the object, "
        "or add EncodeCacheKey for its type (core/key_encoder.h)"));
  }
  // Names: all parameters, or all but the object of a method.
  const auto& params = options.params;
  size_t skip_names = 0;
  if (!params.empty()) {
    if (params.size() == arity) {
      skip_names = first_keyed;
    } else if (!(first_keyed == 1 && params.size() == arity - 1)) {
      throw std::invalid_argument(absl::StrCat(
          "cached function '", resolved.name, "': params names ", params.size(),
          " parameters (", absl::StrJoin(params, ", "),
          ") but the function has ", arity,
          first_keyed ? " (or the keyed ones after the object)" : ""));
    }
    resolved.explicit_param_names = true;
  }
  for (size_t i = first_keyed; i < arity; ++i) {
    std::string name = params.empty() ? std::to_string(i - first_keyed)
                                      : params[i - first_keyed + skip_names];
    for (const auto& seen : resolved.keyed_params) {
      if (seen.name == name) {
        throw std::invalid_argument(absl::StrCat(
            "cached function '", resolved.name, "': parameter name '", name,
            "' is used twice in params"));
      }
    }
    resolved.keyed_params.push_back({std::move(name), sig.param_types[i]});
  }

  std::shared_ptr<CacheNamespace> ns;
  const Clock* stamp_clock = nullptr;
  ValueFormat format = ValueFormat::kObject;
  KeyFormat key_format = KeyFormat::kBinary;
  if (resolved.limit != 0 && resolved.expire != 0) {
    std::shared_ptr<Backend> backend =
        BackendRegistry::Global().Get(resolved.backend, defaults.plugin_path);
    if ((backend->requirements() & Backend::kRequiresStableName) != 0 &&
        options.name.empty()) {
      throw std::invalid_argument(absl::StrCat(
          "cached function at ", loc.file_name(), ":", loc.line(),
          ": backend '", resolved.backend,
          "' shares entries with other processes, so the function needs an "
          "explicit name that stays the same from build to build, e.g. "
          "ca::cache({.backend = \"",
          resolved.backend,
          "\", .name = \"myapp.get_user\"}, fn) (a name derived from the "
          "call site would change whenever code above it moves)"));
    }
    format = backend->format();
    key_format = backend->key_format();
    const bool supported =
        format == ValueFormat::kObject ||
        (format == ValueFormat::kJson && sig.supports_json) ||
        (format == ValueFormat::kBinary && sig.supports_binary);
    if (!supported) {
      throw std::invalid_argument(absl::StrCat(
          "cached function '", resolved.name, "': backend '", resolved.backend,
          "' stores values as ", FormatName(format), ", and the result type ",
          sig.result_type,
          " cannot be serialized that way: give it a cereal serialize() "
          "member or function (and a default constructor), see "
          "core/value_codec.h"));
    }
    if (format != ValueFormat::kObject) {
      for (const auto& type : resolved.exceptions.types()) {
        if (type.serializable) continue;
        throw std::invalid_argument(absl::StrCat(
            "cached function '", resolved.name, "': backend '",
            resolved.backend, "' stores values as ", FormatName(format),
            ", so a cached exception is stored as its type and what() and "
            "thrown again as E(what); ",
            TypeName(*type.type),
            " cannot be: it must derive from std::exception and be "
            "constructible from std::string (or use an in-process backend, "
            "which keeps the exception object)"));
      }
    }
    if (resolved.refresh_after_ms > 0) {
      ApplyConfiguredRefreshThreads(defaults.refresh_threads);
    }
    HostContext host = MakeHost(*backend, resolved.backend, defaults);
    stamp_clock =
        format == ValueFormat::kObject ? host.clock : CurrentStampClock();
    NamespaceSpec spec{resolved.prefix, resolved.id,     resolved.limit,
                       resolved.expire, resolved.strict, eviction};
    // The deleter holds the backend, and through it the plugin library.
    ns = std::shared_ptr<CacheNamespace>(
        backend->Open(spec, host), [backend](CacheNamespace* n) { delete n; });
  } else {
    resolved.backend.clear();  // pass-through: no backend is used
  }

  auto cache = std::make_shared<FunctionCache>(
      std::move(resolved), std::move(ns), format, key_format, CurrentClock(),
      stamp_clock);
  cache->Register();
  return cache;
}

namespace {

void ResolvePolicies(const CacheOptions& options, const SignatureInfo& sig,
                     ResolvedOptions* resolved) {
  const std::string& name = resolved->name;
  const int64_t expire_ms = resolved->expire > 0 ? resolved->expire * 1000 : -1;
  if (options.expire_jitter.has_value()) {
    const double jitter = *options.expire_jitter;
    if (!std::isfinite(jitter) || jitter < 0 || jitter >= 1) {
      throw std::invalid_argument(absl::StrCat(
          "cached function '", name, "': CacheOptions::expire_jitter is ",
          jitter,
          "; use a fraction in [0, 1) (0.1: each entry lives 90% to 100% of "
          "expire)"));
    }
    resolved->expire_jitter = jitter;
  }
  if (options.refresh_after.has_value()) {
    const int64_t ms = options.refresh_after->count();
    if (ms <= 0) {
      throw std::invalid_argument(absl::StrCat(
          "cached function '", name, "': CacheOptions::refresh_after is ", ms,
          " ms; use a positive duration shorter than expire"));
    }
    if (expire_ms > 0 && ms >= expire_ms) {
      throw std::invalid_argument(absl::StrCat(
          "cached function '", name, "': CacheOptions::refresh_after (", ms,
          " ms) must be shorter than expire (", resolved->expire,
          " s): an entry is refreshed before it expires"));
    }
    if (!sig.args_copyable) {
      throw std::invalid_argument(absl::StrCat(
          "cached function '", name,
          "': CacheOptions::refresh_after copies the arguments for the "
          "background call, and ",
          sig.not_copyable_arg, " is not copyable"));
    }
    resolved->refresh_after_ms = ms;
  }
  if (options.cache_exceptions.enabled()) {
    const int64_t ms = options.cache_exceptions.ttl().count();
    if (ms <= 0) {
      throw std::invalid_argument(absl::StrCat(
          "cached function '", name,
          "': CacheOptions::cache_exceptions needs a positive lifetime, not ",
          ms, " ms"));
    }
    // Never longer than the function's own expire.
    resolved->exception_ttl_ms = expire_ms > 0 ? std::min(ms, expire_ms) : ms;
    resolved->exceptions = options.cache_exceptions;
  }
  if (options.unless) {
    if (options.unless.type() != *sig.value_type) {
      throw std::invalid_argument(absl::StrCat(
          "cached function '", name, "': CacheOptions::unless takes ",
          TypeName(options.unless.type()), " but the function caches ",
          TypeName(*sig.value_type),
          "; give the predicate that type (by value or const reference)"));
    }
    resolved->unless = options.unless;
  }
  resolved->envelope =
      resolved->refresh_after_ms > 0 || resolved->exception_ttl_ms > 0;
}

}  // namespace
}  // namespace internal

namespace {

template <typename Op>
auto WithBackend(std::string_view backend_name, Op op) {
  const internal::Defaults defaults = internal::CurrentDefaults();
  const std::string name(backend_name);
  std::shared_ptr<Backend> backend =
      BackendRegistry::Global().Get(name, defaults.plugin_path);
  HostContext host = internal::MakeHost(*backend, name, defaults);
  return op(*backend, host, defaults);
}

}  // namespace

int64_t flush_cache(std::string_view backend,
                    std::string_view cache_key_prefix) {
  return WithBackend(backend, [&](Backend& b, const HostContext& host,
                                  const internal::Defaults& defaults) {
    const std::string name(backend);
    const std::string prefix =
        internal::ResolvePrefix(cache_key_prefix, defaults);
    // Fence first: a computation of a function flushed here that began
    // before the flush is not stored after it (the backend fences other
    // processes' computations itself).
    std::vector<std::shared_ptr<internal::FunctionCache>> live =
        internal::FunctionCache::Live([&](const internal::FunctionCache& f) {
          return f.enabled() && f.options().backend == name &&
                 f.options().prefix == prefix;
        });
    for (const auto& fn : live) fn->FenceComputations();
    int64_t removed = 0;
    std::vector<ClearError::Failure> failures;
    try {
      removed = b.Flush(host, prefix);
    } catch (const std::exception& e) {
      internal::Log(
          LogLevel::kError,
          absl::StrCat("flush of prefix '", prefix, "' failed: ", e.what()), "",
          name);
      failures.push_back({"", name, e.what()});
    }
    // Dependents of the flushed functions are cleared as by a clear.
    internal::Cascade cascade;
    for (auto& fn : live) cascade.AddCleared(std::move(fn));
    try {
      removed += cascade.Run();
    } catch (const ClearError& e) {
      removed += e.removed();
      failures.insert(failures.end(), e.failures().begin(), e.failures().end());
    }
    if (!failures.empty()) throw ClearError(std::move(failures), removed);
    return removed;
  });
}

std::set<std::string> get_all_namespace(std::string_view backend,
                                        std::string_view cache_key_prefix) {
  return WithBackend(backend, [&](Backend& b, const HostContext& host,
                                  const internal::Defaults& defaults) {
    std::set<std::string> names;
    for (const std::string& id : b.Namespaces(
             host, internal::ResolvePrefix(cache_key_prefix, defaults))) {
      names.insert(internal::NameOfId(id));
    }
    return names;
  });
}

std::map<std::string, int64_t> backend_stats(std::string_view backend) {
  const internal::Defaults defaults = internal::CurrentDefaults();
  return BackendRegistry::Global()
      .Get(std::string(backend), defaults.plugin_path)
      ->Stats();
}

}  // namespace cache_alchemy
