// Fuzz target: Memcached replies, as the MemcachedCache plugin reads them.
// The reply parser is libmemcached's (the client only maps results), and what
// the plugin then decodes is its own: versions, index and entry items
// (memcached_cache.cc). Both are driven the only honest way, through a fake
// Memcached server on a loopback port that answers each request with the
// fuzzer's bytes. A hostile server (or anyone who can write to the real one)
// must cause errors and misses, never a crash, a hang or a huge allocation.
//   tools/fuzz.sh memcached_replies 10
//
// Input: one byte picking the operation (a client command, or a namespace or
// backend method of MemcachedCache), then the replies to successive requests
// separated by "\xff\xfe", with the escapes of scripted_memcached_server.h
// ("$K0" for a requested key, "$#...$." for a byte count), which make
// well-formed replies reachable although libmemcached is not instrumented.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/backend.h"
#include "core/clock.h"
#include "core/strict_key.h"
#include "plugins/memcached/memcached_cache.h"
#include "plugins/memcached/memcached_client.h"
#include "plugins/memcached/scripted_memcached_server.h"

namespace ca = cache_alchemy;
namespace mc = cache_alchemy::memcached;

namespace {

constexpr std::string_view kSeparator = "\xff\xfe";

mc::ScriptedMemcachedServer& Server() {
  static auto* const server = [] {
    auto* s = new mc::ScriptedMemcachedServer();
    // A known libmemcached abort, pinned by memcached_client_test; stepped
    // around so the fuzzer keeps exploring.
    s->WithholdRepliesThatAbortLibmemcached(true);
    return s;
  }();
  return *server;
}

// Calls `f`, swallowing what a namespace method may throw (fail-open).
template <typename F>
void Quietly(F&& f) {
  try {
    f();
  } catch (const std::runtime_error&) {
  }
}

void Visit(void* context, const ca::ValueView& value) {
  *static_cast<size_t*>(context) += value.bytes.size();
}

void RunOperation(uint8_t op, const std::string& servers) {
  if (op < 8) {
    mc::MemcachedClient client(servers);
    switch (op) {
      case 0:
        (void)client.Get("k");
        break;
      case 1: {
        auto values = client.GetMulti({"a", "b", "a"});
        if (values.ok() && values->size() != 3) std::abort();
        break;
      }
      case 2:
        (void)client.Gets("k");
        break;
      case 3:
        (void)client.Set("k", "value", 60);
        break;
      case 4:
        (void)client.Add("k", "value", 0);
        break;
      case 5:
        (void)client.Cas("k", "value", 60, 42);
        break;
      case 6:
        (void)client.Delete("k");
        break;
      case 7:
        (void)client.Increment("k", 1);
        break;
    }
    return;
  }
  mc::MemcachedCache backend(servers);
  ca::CoarseMonotonicClock clock;
  ca::HostContext host;
  host.clock = &clock;
  std::string key;
  ca::AppendStrictSegment("x", &key);
  ca::AppendStrictSegment("y", &key);
  std::unique_ptr<ca::CacheNamespace> ns(backend.Open(
      ca::NamespaceSpec{"prefix:", "fuzz.f", /*limit=*/3, /*expire=*/60,
                        /*strict=*/true},
      host));
  switch (op % 8) {
    case 0: {
      size_t bytes = 0;
      ca::Fence fence;
      Quietly([&] { ns->Lookup(key, &Visit, &bytes, &fence); });
      break;
    }
    case 1: {
      ca::StoredValue value;
      value.bytes = "stored";
      ca::Fence fence;
      size_t bytes = 0;
      Quietly([&] {
        ns->Lookup(key, &Visit, &bytes, &fence);
        ns->Store(key, value, &fence);
      });
      break;
    }
    case 2:
      Quietly([&] { ns->Clear(); });
      break;
    case 3: {
      ca::KeyPattern pattern;
      pattern.segments = {std::string("x"), std::nullopt};
      Quietly([&] { ns->ClearMatching(pattern); });
      break;
    }
    case 4:
      Quietly([&] { ns->Size(); });
      break;
    case 5:
      Quietly([&] { backend.Flush(host, "prefix:"); });
      break;
    case 6:
      Quietly([&] { ns->Invalidate(key); });
      break;
    default:
      Quietly([&] { backend.Namespaces(host, "prefix:"); });
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t op = data[0] % 16;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::vector<std::string> replies;
  for (;;) {
    const size_t cut = rest.find(kSeparator);
    replies.emplace_back(rest.substr(0, cut));
    if (cut == std::string_view::npos) break;
    rest.remove_prefix(cut + kSeparator.size());
  }
  mc::ScriptedMemcachedServer& server = Server();
  server.Script(std::move(replies));
  RunOperation(op, server.address());
  server.WaitIdle();
  return 0;
}
