// A plugin with a valid descriptor whose code needs a function no library
// defines: dlopen(RTLD_NOW) refuses it with "undefined symbol: ...", and the
// registry must pass that text on.

#include "core/plugin_export.h"

extern "C" cache_alchemy::Backend* cache_alchemy_test_defined_nowhere();

CACHE_ALCHEMY_EXPORT_BACKEND(Undefined, []() -> cache_alchemy::Backend* {
  return cache_alchemy_test_defined_nowhere();
})
