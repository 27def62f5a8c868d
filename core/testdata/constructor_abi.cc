// A plugin built "for a future ABI" whose static constructor has a side
// effect: it creates the file named by $CACHE_ALCHEMY_TEST_MARKER. The
// registry must refuse it from its ELF file alone, before dlopen() runs that
// constructor (core/plugin_elf.h). The descriptor is written by hand, like
// bad_abi.cc, so it can claim version 999.

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>

#include "core/plugin_export.h"

namespace {

struct MarksItsLoading {
  MarksItsLoading() {
    if (const char* marker = std::getenv("CACHE_ALCHEMY_TEST_MARKER")) {
      const int fd = open(marker, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
      if (fd >= 0) close(fd);
    }
  }
} marks_its_loading;

cache_alchemy::Backend* MustNotBeCalled() { std::abort(); }

}  // namespace

namespace constructor_abi {

const cache_alchemy::BackendDescriptor kFuture = {
    /*abi_version=*/999, cache_alchemy::kStdlibAbiTag, "Future",
    &MustNotBeCalled};

}  // namespace constructor_abi

BOOST_DLL_ALIAS(constructor_abi::kFuture, cache_alchemy_backend_Future)
