// A plugin whose factories fail: `Throwing` throws std::runtime_error and
// `Null` returns null. The loader must turn both into BackendNotFoundError.

#include <stdexcept>

#include "core/plugin_export.h"

CACHE_ALCHEMY_EXPORT_BACKEND(Throwing, []() -> cache_alchemy::Backend* {
  throw std::runtime_error("cannot reach the rocks store at /dev/null");
})

CACHE_ALCHEMY_EXPORT_BACKEND(Null, []() -> cache_alchemy::Backend* {
  return nullptr;
})
