// A plugin built "for another ABI": its descriptors are written by hand (not
// with CACHE_ALCHEMY_EXPORT_BACKEND) so they can claim other versions. The
// loader must refuse both before calling the factory, which would abort.

#include <cstdlib>

#include "core/plugin_export.h"

namespace {

cache_alchemy::Backend* MustNotBeCalled() { std::abort(); }

}  // namespace

namespace bad_abi {

const cache_alchemy::BackendDescriptor kBroken = {
    /*abi_version=*/999, cache_alchemy::kStdlibAbiTag, "Broken",
    &MustNotBeCalled};

const cache_alchemy::BackendDescriptor kOtherStdlib = {
    cache_alchemy::kPluginAbiVersion, /*stdlib_abi_tag=*/7, "OtherStdlib",
    &MustNotBeCalled};

}  // namespace bad_abi

BOOST_DLL_ALIAS(bad_abi::kBroken, cache_alchemy_backend_Broken)
BOOST_DLL_ALIAS(bad_abi::kOtherStdlib, cache_alchemy_backend_OtherStdlib)
