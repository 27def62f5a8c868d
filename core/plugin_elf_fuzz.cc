// Fuzz target: reading a plugin's descriptors from its ELF file
// (core/plugin_elf.h), which the registry does with every file found on the
// plugin search path before it decides to load it. Any file must give an
// error or an answer, never a crash or a read outside the file.
//   tools/fuzz.sh plugin_elf 10
//
// Input: the file's bytes.

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/plugin_elf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fd = memfd_create("plugin_elf_fuzz", MFD_CLOEXEC);
  if (fd < 0) std::abort();
  for (size_t done = 0; done < size;) {
    const ssize_t n = write(fd, data + done, size - done);
    if (n <= 0) std::abort();
    done += static_cast<size_t>(n);
  }
  absl::StatusOr<cache_alchemy::PluginElf> elf = cache_alchemy::PluginElf::Open(
      "/proc/self/fd/" + std::to_string(fd), "fuzzed.so");
  if (elf.ok()) {
    for (const std::string& symbol : elf->ExportsWithPrefix("")) {
      (void)elf->ReadAbi(symbol);
    }
  }
  close(fd);
  return 0;
}
