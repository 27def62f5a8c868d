// File: core/backend.h
// -----------------------------------------------------------------------------
//
// The plugin ABI of cache_alchemy: the one abstract interface between the core
// (which knows the user's types) and a backend (which sees only string keys
// and type-erased values). A backend lives in a shared library loaded at run
// time with Boost.DLL and is named by a dotted string: `a.b.c.ClassName` is the
// class `ClassName` exported from the library `a.b.c.so`.
//
// Everything that crosses the boundary is a standard type or a plain struct
// declared here. No Abseil types, no templates, no user types. The layout of
// everything in this file is frozen per `kPluginAbiVersion`: any change to a
// struct or a virtual function here bumps it, and the loader refuses a plugin
// built for another version before calling into it.
//
// A complete backend (the export macro is in core/plugin_export.h, which only
// a plugin's export file includes):
//
//   class MyCache : public cache_alchemy::Backend { ... };
//   CACHE_ALCHEMY_EXPORT_BACKEND(MyCache, [] { return new MyCache(); })
//
// Build it as `cc_binary(name = "acme.backends.my.so", linkshared = True,
// copts = ["-fvisibility=hidden"])` and select it as
// "acme.backends.my.MyCache". See docs/plugins.md.

#ifndef CACHE_ALCHEMY_CORE_BACKEND_H_
#define CACHE_ALCHEMY_CORE_BACKEND_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"

namespace cache_alchemy {

// The version of this file's layout. The loader compares it with the value a
// plugin was built with and refuses a mismatch, naming both.
// Version 2 added `Backend::Stats`, `CacheNamespace::InvalidationGeneration`
// and `RedisClient::Subscribe`. Version 3 added the fence of
// `CacheNamespace::Lookup`/`Store`, `Backend::key_format` and
// `Backend::kRequiresStableName`, and `NamespaceSpec::name` carries the
// function's signature. Version 4 made the fence a plain `Fence`, hands
// visitors a non-owning `ValueView`, passes keys as string views, lets small
// trivially copyable values travel as bytes (`StoredValue`) and added
// `NamespaceSpec::eviction`. Version 5 added `RedisClient::buckets` and
// `RedisClient::DurableCommand` (Redis Cluster and Sentinel). Version 6
// added `CacheNamespace::Invalidate` (one key, fenced) and
// `StoredValue::ttl_ms` (a lifetime per entry). Version 7 added
// `RedisClient::Send` and `RedisClient::deferred_errors` (a json or pickle
// miss costs one round trip).
inline constexpr int32_t kPluginAbiVersion = 7;

// Identifies the C++ standard library ABI a plugin was built with (libstdc++'s
// dual ABI changes the layout of std::string). Checked on load like the
// version.
#if defined(_GLIBCXX_USE_CXX11_ABI)
inline constexpr int32_t kStdlibAbiTag = 1000 + _GLIBCXX_USE_CXX11_ABI;
#else
inline constexpr int32_t kStdlibAbiTag = 0;
#endif

class RedisClient;  // core/redis_client.h; an abstract, ABI-stable interface.

// How a backend wants values handed to it.
enum class ValueFormat : int32_t {
  // The value itself, kept in this process: `StoredValue::object`, or, for a
  // small trivially copyable result type, its bytes in `StoredValue::bytes`
  // (object null). Backends keep either as given and never look inside.
  kObject = 0,
  // JSON text in `StoredValue::bytes` (cereal JSON archive).
  kJson = 1,
  // Binary in `StoredValue::bytes` (cereal portable binary archive).
  kBinary = 2,
};

// How the keys a backend receives are written (core/key_encoder.h).
enum class KeyFormat : int32_t {
  // Compact self-delimiting bytes (may hold NUL and any byte).
  kBinary = 0,
  // Printable, shell-safe text: `42`, `"bob"`, `[1,2]`; strict segments
  // separated by `|` (docs/redis.md, "Keys"). For stores humans inspect.
  kText = 1,
};

// A type-erased cached value, handed to `CacheNamespace::Store`. Which member
// is meaningful is chosen by the backend's `ValueFormat`.
struct StoredValue {
  // kObject: points at an immutable object of the function's result type
  // (null when the value travels as bytes). Backends never look inside; they
  // keep the pointer alive while stored.
  std::shared_ptr<const void> object;
  // kJson / kBinary: the serialized value. kObject with a null object: the
  // value's own bytes (at most 16).
  std::string bytes;
  // This entry's lifetime in milliseconds; 0: the namespace's
  // `expire_seconds`. When set it is never longer than that (the core
  // shortens entries for TTL jitter and for cached exceptions); a backend
  // whose clock counts whole seconds rounds it up.
  int64_t ttl_ms = 0;
  // The caller needs to know whether the value was stored (`put`): a
  // backend must not answer `Store` before it knows. False (a computed
  // value): a remote backend may send the store without waiting and answer
  // true ("sent") when its server enforces the fence (the json and pickle
  // backends: one round trip per miss).
  bool confirm = false;
};

// A stored value as `CacheNamespace::Lookup` shows it to the core: the same
// two members as `StoredValue`, not owned (a store can show what it holds
// without copying a shared_ptr or a string). Valid only during the visit.
struct ValueView {
  const void* object = nullptr;
  std::string_view bytes;
};

// Called by `CacheNamespace::Lookup` with the stored value.
using ValueVisitor = void (*)(void* context, const ValueView& value);

// A backend's token of a namespace's invalidation state as of a lookup
// (CacheNamespace::Lookup/Store): two numbers of the backend's choosing, for
// example a clear counter and a server-side generation. The core only hands
// it back.
struct Fence {
  uint64_t local = 0;
  uint64_t remote = 0;
};

// How an in-process store chooses what to evict at `limit`.
enum class EvictionPolicy : int32_t {
  kDefault = 0,  // the backend's default (S3-FIFO for the built-in ones)
  kS3Fifo = 1,   // scan-resistant FIFO queues; a hit only sets a counter
  kLru = 2,      // least recently used; a hit moves the entry (takes a lock)
};

// A partial-clear pattern over strict keys (see core/strict_key.h): one slot
// per key segment; an empty slot matches any segment, a filled one matches a
// segment byte for byte (never as a regular expression).
struct KeyPattern {
  std::vector<std::optional<std::string>> segments;
};

// What a backend is told about one cached function when it is opened.
struct NamespaceSpec {
  std::string prefix;  // cache_key_prefix (tenant); may be empty
  // The function's identity: its name, '@' and 8 hex digits naming its
  // signature (argument and result types, strict, is_method), e.g.
  // "app.get_user@1f0c2a9e". Never empty. Two opens with equal prefix and
  // name share entries; entries of different signatures never meet.
  std::string name;
  int64_t limit;           // max live entries: > 0, or -1 for unlimited
  int64_t expire_seconds;  // > 0, or -1 for never
  bool strict;             // keys are strict (segmented), see strict_key.h
  // What to evict at `limit` (stores that share entries across processes
  // keep their own order and may ignore it).
  EvictionPolicy eviction = EvictionPolicy::kDefault;
};

// Services of the host process a backend may use.
struct HostContext {
  // The time source for TTLs. Never null; outlives every namespace.
  const Clock* clock = nullptr;
  // The configured Redis client; null unless the backend requires Redis
  // (`Backend::kRequiresRedis`), in which case the host guarantees non-null.
  std::shared_ptr<RedisClient> redis;
};

// The store of one cached function inside a backend.
//
// Thread safety: every method may be called from any number of threads at
// once. Errors (an unreachable server, say) are reported by throwing a
// std::exception; for lookups and stores the core then fails open (it calls
// the function and counts the error), while a failed clear reaches the user
// as a ca::ClearError.
class CacheNamespace {
 public:
  virtual ~CacheNamespace() = default;

  // If `key` holds a live value, calls `visit(context, value)` exactly once
  // and returns true. Otherwise returns false without calling `visit`.
  // Either way, when `fence` is not null, sets `*fence` to the namespace's
  // invalidation state as of this lookup (the core only hands it back to
  // `Store`).
  virtual bool Lookup(std::string_view key, ValueVisitor visit, void* context,
                      Fence* fence) = 0;

  // Stores `value` under `key`, replacing any previous value, applying the
  // namespace's limit and expiry. With `fence` (the token of a Lookup of
  // `key` made before the value was computed), the store is FENCED: it
  // happens only if no clear that could cover `key` (full, partial, flush,
  // in this process or, for shared stores, in any other) began since that
  // Lookup; the check and the write are atomic with respect to clears.
  // Returns false when the fence refused the value. Without `fence`, stores
  // unconditionally and returns true.
  virtual bool Store(std::string_view key, StoredValue value,
                     const Fence* fence) = 0;

  // Removes every entry of this namespace; returns how many were removed.
  // Fences: a Store whose Lookup came before this clear is refused. Throws
  // when the entries could not be removed (the core reports it as a
  // ClearError); a backend drops whatever local copies it can first.
  virtual int64_t Clear() = 0;

  // Removes the entries whose strict key matches `pattern`; returns how many.
  // Only called on namespaces opened with `strict == true`. Fences and
  // throws as Clear (a backend may fence more keys than match).
  virtual int64_t ClearMatching(const KeyPattern& pattern) = 0;

  // Removes the entry of exactly `key` (any key format, strict or not);
  // returns 1 if a live entry was removed, else 0. Fences as Clear does for
  // that key: a Store of `key` whose Lookup came before this call is refused
  // (a backend may fence more keys, e.g. the whole namespace). Shared stores
  // make every process drop its copy. Throws when the entry could not be
  // removed (the core reports it as a ClearError). A backend that cannot
  // remove one key may clear the whole namespace instead (over-clearing is
  // safe) and return what Clear returns.
  virtual int64_t Invalidate(std::string_view key) = 0;

  // The number of live entries (for tests and introspection).
  virtual int64_t Size() = 0;

  // A number that changes whenever entries may have been invalidated by
  // something other than this process's calls (a clear pushed from another
  // process, a lost subscription). The core lets a caller join a
  // computation in flight only if it has not changed since that computation
  // began. The default (0, never changes) suits stores only this process
  // clears. Thread-safe, cheap, never throws.
  virtual uint64_t InvalidationGeneration() { return 0; }

  // Returns once every store this namespace answered before the call
  // without waiting for its server (StoredValue::confirm false) has run
  // there, so a Lookup after it sees them. The core calls it before it
  // looks again for a value another caller of the process just stored
  // (single flight). At most the backend's command timeout; best effort,
  // never throws. The default (stores are done when Store returns) does
  // nothing and returns false. Returns true when this namespace may answer
  // stores before they ran (then it waited for them). Thread-safe.
  virtual bool AwaitStores() { return false; }
};

// A backend class: one object per dotted name per process, shared by every
// function cached with it.
//
// Thread safety: every method may be called from any number of threads.
class Backend {
 public:
  // Bits of `requirements()`.
  static constexpr uint32_t kRequiresRedis = 1u << 0;
  // Entries are shared with other processes or outlive this one: every
  // function needs an explicit `CacheOptions::name`, since a default name
  // (derived from the call site) changes when unrelated code moves.
  static constexpr uint32_t kRequiresStableName = 1u << 1;

  virtual ~Backend() = default;

  // The form in which this backend stores values.
  virtual ValueFormat format() const = 0;

  // What the host must provide (`HostContext`, names), as `k...` bits.
  virtual uint32_t requirements() const = 0;

  // How this backend wants keys written. The default suits in-process
  // stores; stores that people inspect (Redis) ask for kText.
  virtual KeyFormat key_format() const { return KeyFormat::kBinary; }

  // Opens the store of one cached function. Two opens with the same prefix
  // and name share entries. OWNERSHIP: the caller owns the returned object
  // and deletes it (through the virtual destructor) while the plugin library
  // is still loaded. Throws std::exception on failure; never returns null.
  virtual CacheNamespace* Open(const NamespaceSpec& spec,
                               const HostContext& host) = 0;

  // Removes every entry this backend holds under `prefix` (in every
  // namespace); returns how many. Fences as CacheNamespace::Clear for every
  // namespace, including those of other processes. Throws when it could not.
  virtual int64_t Flush(const HostContext& host, const std::string& prefix) = 0;

  // The names of the namespaces this backend holds entries for under
  // `prefix`.
  virtual std::set<std::string> Namespaces(const HostContext& host,
                                           const std::string& prefix) = 0;

  // Counters of this backend object in this process, by name (for tests,
  // benchmarks and monitoring; reached through `ca::backend_stats`). The
  // default has none. Cheap; never throws.
  virtual std::map<std::string, int64_t> Stats() { return {}; }
};

// What a plugin exports for each backend class, under the symbol
// `cache_alchemy_backend_<ClassName>`. The first two fields are read before
// anything else and keep their place in every future version.
struct BackendDescriptor {
  int32_t abi_version;     // kPluginAbiVersion the plugin was built with
  int32_t stdlib_abi_tag;  // kStdlibAbiTag the plugin was built with
  const char* class_name;  // ClassName, for messages
  // Makes a new backend. OWNERSHIP: the caller owns the result. May throw.
  Backend* (*create)();
};

}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_BACKEND_H_
