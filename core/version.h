// File: core/version.h
// -----------------------------------------------------------------------------
//
// The version of this cache_alchemy release, for code and for builds. The
// three macros are the one place the version is written: `kVersion` is made
// from them, CMakeLists.txt reads them for the package version
// (`find_package(cache_alchemy 0.5)`, `pkg-config --modversion`), and
// CHANGELOG.md has a section per release. Bump them together with the
// changelog when cutting a release.
//
//   #include "cache_alchemy/cache_alchemy.h"
//   std::printf("cache_alchemy %s\n", cache_alchemy::kVersion);  // "0.5.0"
//
//   #if CACHE_ALCHEMY_VERSION_MAJOR == 0 && CACHE_ALCHEMY_VERSION_MINOR < 5
//   #error "needs cache_alchemy 0.5 or later"
//   #endif
//
// Versions follow semantic versioning; while the major version is 0 a minor
// release may change the API. The plugin ABI has its own version,
// `kPluginAbiVersion` in core/backend.h.

#ifndef CACHE_ALCHEMY_CORE_VERSION_H_
#define CACHE_ALCHEMY_CORE_VERSION_H_

#define CACHE_ALCHEMY_VERSION_MAJOR 0
#define CACHE_ALCHEMY_VERSION_MINOR 5
#define CACHE_ALCHEMY_VERSION_PATCH 0

#define CACHE_ALCHEMY_INTERNAL_JOIN(a, b, c) #a "." #b "." #c
#define CACHE_ALCHEMY_INTERNAL_EXPAND_JOIN(a, b, c) \
  CACHE_ALCHEMY_INTERNAL_JOIN(a, b, c)

// "MAJOR.MINOR.PATCH", e.g. "0.5.0".
#define CACHE_ALCHEMY_VERSION_STRING                              \
  CACHE_ALCHEMY_INTERNAL_EXPAND_JOIN(CACHE_ALCHEMY_VERSION_MAJOR, \
                                     CACHE_ALCHEMY_VERSION_MINOR, \
                                     CACHE_ALCHEMY_VERSION_PATCH)

namespace cache_alchemy {

// The release of the headers this file was compiled with, "MAJOR.MINOR.PATCH".
inline constexpr char kVersion[] = CACHE_ALCHEMY_VERSION_STRING;
inline constexpr int kVersionMajor = CACHE_ALCHEMY_VERSION_MAJOR;
inline constexpr int kVersionMinor = CACHE_ALCHEMY_VERSION_MINOR;
inline constexpr int kVersionPatch = CACHE_ALCHEMY_VERSION_PATCH;

}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_VERSION_H_
