// File: core/plugin_export.h
// -----------------------------------------------------------------------------
//
// The export macro of the plugin SDK. A plugin library includes this header in
// the one source file that exports its backend classes; nothing else does (it
// pulls Boost.DLL, which the host's users never need to compile):
//
//   #include "core/plugin_export.h"
//   CACHE_ALCHEMY_EXPORT_BACKEND(MyCache, []() -> cache_alchemy::Backend* {
//     return new MyCache();
//   })
//
// See core/backend.h for the ABI and docs/plugins.md for a whole plugin.

#ifndef CACHE_ALCHEMY_CORE_PLUGIN_EXPORT_H_
#define CACHE_ALCHEMY_CORE_PLUGIN_EXPORT_H_

#include <boost/dll/alias.hpp>

#include "core/backend.h"

// Exports backend class `ClassName` from a plugin library, as the Boost.DLL
// alias `cache_alchemy_backend_<ClassName>` pointing at its
// `BackendDescriptor`. `factory` is an expression convertible to
// `cache_alchemy::Backend* (*)()` (a captureless lambda or a function). Use
// once per class, at global namespace scope, in one source file of the plugin.
#define CACHE_ALCHEMY_EXPORT_BACKEND(ClassName, factory)                    \
  namespace cache_alchemy_plugin_##ClassName {                              \
    const ::cache_alchemy::BackendDescriptor kDescriptor = {                \
        ::cache_alchemy::kPluginAbiVersion, ::cache_alchemy::kStdlibAbiTag, \
        #ClassName, +(factory)};                                            \
  }                                                                         \
  BOOST_DLL_ALIAS(cache_alchemy_plugin_##ClassName::kDescriptor,            \
                  cache_alchemy_backend_##ClassName)

#endif  // CACHE_ALCHEMY_CORE_PLUGIN_EXPORT_H_
