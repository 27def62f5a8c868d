// A plugin with a valid descriptor that needs libcache_alchemy_test_gone.so,
// which is not installed anywhere the dynamic loader looks: dlopen refuses it
// with "... cannot open shared object file", and the registry must pass that
// text on.

#include "core/plugin_export.h"

extern "C" int cache_alchemy_test_gone(int x);

CACHE_ALCHEMY_EXPORT_BACKEND(Needy, []() -> cache_alchemy::Backend* {
  return cache_alchemy_test_gone(0) == 1 ? nullptr : nullptr;
})
