// Fuzz target: JSON values read back from a store (cereal JSONInputArchive
// behind the nesting pre-scan). See core/value_codec_fuzz.h.
//   tools/fuzz.sh value_codec_json 10

#include <cstddef>
#include <cstdint>

#include "core/value_codec_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return cache_alchemy::fuzz::DecodeAsEveryType(
      cache_alchemy::ValueFormat::kJson, data, size);
}
