// Fuzz target: the push-invalidation message decoder
// (backends/memory/push_invalidation.h). Messages arrive from Redis pub/sub,
// where anyone with access to the server can publish: a malformed message
// must be ignored, never crash; a message that decodes must survive an
// encode/decode round trip unchanged.
//   tools/fuzz.sh push_invalidation 10
// Its corpus test is //backends/memory:push_invalidation_fuzz_test.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "backends/memory/push_invalidation.h"

namespace memory = cache_alchemy::memory;

namespace {

bool Same(const memory::Invalidation& a, const memory::Invalidation& b) {
  return a.origin == b.origin && a.kind == b.kind && a.name == b.name &&
         a.pattern.segments == b.pattern.segments && a.key == b.key;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  memory::Invalidation message;
  if (!memory::DecodeInvalidation(
          std::string_view(reinterpret_cast<const char*>(data), size),
          &message)) {
    return 0;
  }
  memory::Invalidation again;
  if (!memory::DecodeInvalidation(memory::EncodeInvalidation(message),
                                  &again) ||
      !Same(message, again)) {
    std::abort();
  }
  return 0;
}
