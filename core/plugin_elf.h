// File: core/plugin_elf.h
// -----------------------------------------------------------------------------
//
// Reads what the plugin registry must know about a plugin library from its
// ELF file, WITHOUT loading it: dlopen() runs a library's static constructors
// (and those of its dependencies) before anyone can look at its symbols, so a
// plugin built for another ABI, or a file that merely has a plugin's name,
// would run code before the host could refuse it. With this the registry
// checks the ABI fields of a class's `BackendDescriptor` first and calls
// dlopen() only on a plugin it is going to use.
//
//   absl::StatusOr<PluginElf> elf = PluginElf::Open("/opt/p/acme.x.so");
//   std::vector<std::string> classes =
//       elf->ExportsWithPrefix("cache_alchemy_backend_");
//   absl::StatusOr<PluginAbi> abi =
//       elf->ReadAbi("cache_alchemy_backend_RocksCache");
//
// How: the export alias (Boost.DLL's BOOST_DLL_ALIAS, as written by
// CACHE_ALCHEMY_EXPORT_BACKEND or by hand) is a pointer-sized variable in the
// dynamic symbol table whose value the dynamic linker sets to the
// descriptor's address with a relocation. PluginElf finds the symbol, finds
// its relocation (RELA; or the implicit addend stored in place for REL/RELR),
// maps the descriptor's address to a file offset through the PT_LOAD
// segments, and reads the descriptor's first two int32 fields, which keep
// their place in every ABI version (core/backend.h).
//
// Limits: 64-bit little-endian ELF for the host's machine (x86-64 or
// AArch64) with section headers (every normal toolchain output). Anything
// else, and any inconsistency in the file (every size and offset is checked
// against the file), is an error, never a crash. On other hosts
// `kPluginElfSupported` is false and the registry checks the descriptor after
// loading, as before.

#ifndef CACHE_ALCHEMY_CORE_PLUGIN_ELF_H_
#define CACHE_ALCHEMY_CORE_PLUGIN_ELF_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace cache_alchemy {

#if (defined(__x86_64__) || defined(__aarch64__)) && defined(__linux__)
inline constexpr bool kPluginElfSupported = true;
#else
inline constexpr bool kPluginElfSupported = false;
#endif

// Larger files are refused.
inline constexpr uint64_t kMaxPluginFileBytes = uint64_t{1} << 30;

// The fields of a BackendDescriptor read before loading.
struct PluginAbi {
  int32_t abi_version = 0;
  int32_t stdlib_abi_tag = 0;
};

// One plugin file, read (not loaded). Immutable after Open; thread-compatible.
class PluginElf {
 public:
  // Reads `file` (at most kMaxPluginFileBytes) and parses its headers, dynamic
  // symbol table and relocations. Returns
  // FailedPrecondition saying why a file is not a loadable shared object for
  // this machine ("not an ELF file", "built for another machine", ...), or
  // NotFound/PermissionDenied with the system's reason if it cannot be read.
  // Messages name the file `name` (the path as searched; default `file`).
  static absl::StatusOr<PluginElf> Open(const std::string& file,
                                        const std::string& name = "");

  // Names of the defined, exported dynamic symbols that start with `prefix`,
  // in symbol-table order.
  std::vector<std::string> ExportsWithPrefix(std::string_view prefix) const;

  // The first two fields of the BackendDescriptor that the exported alias
  // `symbol` points at. NotFound if `symbol` is not exported;
  // FailedPrecondition if the alias does not lead to 8 readable bytes of the
  // file.
  absl::StatusOr<PluginAbi> ReadAbi(const std::string& symbol) const;

 private:
  struct Segment {
    uint64_t vaddr = 0, offset = 0, filesz = 0;
  };
  struct Symbol {
    std::string name;
    uint64_t value = 0;
    bool defined = false;
  };
  struct Relocation {
    uint64_t offset = 0, info = 0;
    int64_t addend = 0;
  };

  // The file offset of the `size` bytes at virtual address `vaddr`, if they
  // lie within one PT_LOAD segment's file image.
  bool FileOffset(uint64_t vaddr, uint64_t size, uint64_t* offset) const;

  std::string path_;
  std::string image_;  // the whole file (plugins are a few megabytes)
  std::vector<Segment> segments_;
  std::vector<Symbol> symbols_;          // .dynsym; index = symbol index
  std::vector<Relocation> relocations_;  // every SHT_RELA entry
};

}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_PLUGIN_ELF_H_
