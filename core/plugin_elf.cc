// Reading a plugin's descriptors from its ELF file without loading it.

#include "core/plugin_elf.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace cache_alchemy {
namespace {

#if defined(__x86_64__)
constexpr uint16_t kHostMachine = EM_X86_64;
constexpr uint32_t kRelative = R_X86_64_RELATIVE;
constexpr uint32_t kAbsolute = R_X86_64_64;
constexpr uint32_t kGlobDat = R_X86_64_GLOB_DAT;
#elif defined(__aarch64__)
constexpr uint16_t kHostMachine = EM_AARCH64;
constexpr uint32_t kRelative = R_AARCH64_RELATIVE;
constexpr uint32_t kAbsolute = R_AARCH64_ABS64;
constexpr uint32_t kGlobDat = R_AARCH64_GLOB_DAT;
#else
constexpr uint16_t kHostMachine = 0;
constexpr uint32_t kRelative = 0, kAbsolute = 0, kGlobDat = 0;
#endif

absl::Status Bad(const std::string& path, absl::string_view why) {
  return absl::FailedPreconditionError(absl::StrCat(path, ": ", why));
}

// True if [offset, offset + count * size) lies within `total` bytes, without
// overflow.
bool Within(uint64_t offset, uint64_t count, uint64_t size, uint64_t total) {
  if (offset > total) return false;
  if (size != 0 && count > (total - offset) / size) return false;
  return true;
}

template <typename T>
T Load(const std::string& image, uint64_t offset) {
  T value;
  std::memcpy(&value, image.data() + offset, sizeof(T));
  return value;
}

absl::Status ReadWholeFile(const std::string& file, const std::string& path,
                           std::string* out) {
  const int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    return absl::NotFoundError(
        absl::StrCat(path, ": cannot be opened: ", std::strerror(error)));
  }
  struct stat st {};
  absl::Status status;
  if (fstat(fd, &st) != 0) {
    status = absl::NotFoundError(
        absl::StrCat(path, ": cannot be read: ", std::strerror(errno)));
  } else if (!S_ISREG(st.st_mode)) {
    status = Bad(path, "not a regular file");
  } else if (static_cast<uint64_t>(st.st_size) > kMaxPluginFileBytes) {
    status = Bad(path, absl::StrCat("larger than ", kMaxPluginFileBytes,
                                    " bytes; not a plugin"));
  } else {
    out->resize(static_cast<size_t>(st.st_size));
    size_t done = 0;
    while (done < out->size()) {
      const ssize_t n = read(fd, out->data() + done, out->size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        status = absl::NotFoundError(
            absl::StrCat(path, ": cannot be read: ",
                         n < 0 ? std::strerror(errno) : "the file shrank"));
        break;
      }
      done += static_cast<size_t>(n);
    }
  }
  close(fd);
  return status;
}

}  // namespace

absl::StatusOr<PluginElf> PluginElf::Open(const std::string& file,
                                          const std::string& name) {
  if (!kPluginElfSupported) {
    return absl::UnimplementedError("no ELF pre-check on this platform");
  }
  const std::string& path = name.empty() ? file : name;
  PluginElf elf;
  elf.path_ = path;
  if (absl::Status s = ReadWholeFile(file, path, &elf.image_); !s.ok()) {
    return s;
  }
  const std::string& image = elf.image_;
  const uint64_t size = image.size();

  if (size < sizeof(Elf64_Ehdr) || std::memcmp(image.data(), ELFMAG, SELFMAG)) {
    return Bad(path, "not an ELF file (no ELF magic number); not a plugin");
  }
  const auto eh = Load<Elf64_Ehdr>(image, 0);
  if (eh.e_ident[EI_CLASS] != ELFCLASS64) {
    return Bad(path, "not a 64-bit ELF file; built for another machine");
  }
  if (eh.e_ident[EI_DATA] != ELFDATA2LSB) {
    return Bad(path, "a big-endian ELF file; built for another machine");
  }
  if (eh.e_type != ET_DYN) {
    return Bad(path, "an ELF file but not a shared library");
  }
  if (eh.e_machine != kHostMachine) {
    return Bad(
        path, absl::StrCat("built for another machine (ELF e_machine ",
                           eh.e_machine, ", this program ", kHostMachine, ")"));
  }

  // Program headers: the PT_LOAD segments map addresses to file offsets.
  if (eh.e_phentsize != sizeof(Elf64_Phdr) ||
      !Within(eh.e_phoff, eh.e_phnum, sizeof(Elf64_Phdr), size)) {
    return Bad(path, "malformed ELF program headers");
  }
  for (uint64_t i = 0; i < eh.e_phnum; ++i) {
    const auto ph =
        Load<Elf64_Phdr>(image, eh.e_phoff + i * sizeof(Elf64_Phdr));
    if (ph.p_type != PT_LOAD) continue;
    if (!Within(ph.p_offset, 1, ph.p_filesz, size)) {
      return Bad(path, "an ELF segment lies outside the file");
    }
    elf.segments_.push_back({ph.p_vaddr, ph.p_offset, ph.p_filesz});
  }

  // Section headers: the dynamic symbol table and the RELA relocations.
  if (eh.e_shnum == 0) {
    return Bad(path,
               "an ELF file without section headers (stripped with "
               "sstrip?); cannot check its ABI before loading it");
  }
  if (eh.e_shentsize != sizeof(Elf64_Shdr) ||
      !Within(eh.e_shoff, eh.e_shnum, sizeof(Elf64_Shdr), size)) {
    return Bad(path, "malformed ELF section headers");
  }
  auto section = [&](uint64_t index) {
    return Load<Elf64_Shdr>(image, eh.e_shoff + index * sizeof(Elf64_Shdr));
  };
  bool have_dynsym = false;
  for (uint64_t i = 0; i < eh.e_shnum; ++i) {
    const Elf64_Shdr sh = section(i);
    if (sh.sh_type == SHT_DYNSYM) {
      if (have_dynsym) return Bad(path, "two dynamic symbol tables");
      have_dynsym = true;
      if (sh.sh_entsize != sizeof(Elf64_Sym) || sh.sh_link >= eh.e_shnum ||
          !Within(sh.sh_offset, 1, sh.sh_size, size)) {
        return Bad(path, "malformed ELF dynamic symbol table");
      }
      const Elf64_Shdr strtab = section(sh.sh_link);
      if (strtab.sh_type != SHT_STRTAB ||
          !Within(strtab.sh_offset, 1, strtab.sh_size, size)) {
        return Bad(path, "malformed ELF dynamic string table");
      }
      const std::string_view strings(image.data() + strtab.sh_offset,
                                     strtab.sh_size);
      const uint64_t count = sh.sh_size / sizeof(Elf64_Sym);
      elf.symbols_.reserve(count);
      for (uint64_t k = 0; k < count; ++k) {
        const auto sym =
            Load<Elf64_Sym>(image, sh.sh_offset + k * sizeof(Elf64_Sym));
        Symbol out;
        if (sym.st_name < strings.size()) {
          const std::string_view rest = strings.substr(sym.st_name);
          out.name = std::string(rest.substr(0, rest.find('\0')));
        }
        out.value = sym.st_value;
        const unsigned bind = ELF64_ST_BIND(sym.st_info);
        const unsigned visibility = ELF64_ST_VISIBILITY(sym.st_other);
        out.defined =
            sym.st_shndx != SHN_UNDEF &&
            (bind == STB_GLOBAL || bind == STB_WEAK ||
             bind == STB_GNU_UNIQUE) &&
            (visibility == STV_DEFAULT || visibility == STV_PROTECTED);
        elf.symbols_.push_back(std::move(out));
      }
    } else if (sh.sh_type == SHT_RELA) {
      if (sh.sh_entsize != sizeof(Elf64_Rela) ||
          !Within(sh.sh_offset, 1, sh.sh_size, size)) {
        return Bad(path, "malformed ELF relocation table");
      }
      const uint64_t count = sh.sh_size / sizeof(Elf64_Rela);
      for (uint64_t k = 0; k < count; ++k) {
        const auto rela =
            Load<Elf64_Rela>(image, sh.sh_offset + k * sizeof(Elf64_Rela));
        elf.relocations_.push_back({rela.r_offset, rela.r_info, rela.r_addend});
      }
    }
  }
  if (!have_dynsym) return Bad(path, "an ELF file with no dynamic symbols");
  return elf;
}

std::vector<std::string> PluginElf::ExportsWithPrefix(
    std::string_view prefix) const {
  std::vector<std::string> names;
  for (const Symbol& sym : symbols_) {
    if (sym.defined && sym.name.compare(0, prefix.size(), prefix) == 0) {
      names.push_back(sym.name);
    }
  }
  return names;
}

bool PluginElf::FileOffset(uint64_t vaddr, uint64_t size,
                           uint64_t* offset) const {
  for (const Segment& seg : segments_) {
    if (vaddr >= seg.vaddr && vaddr - seg.vaddr <= seg.filesz &&
        size <= seg.filesz - (vaddr - seg.vaddr)) {
      *offset = seg.offset + (vaddr - seg.vaddr);
      return true;
    }
  }
  return false;
}

absl::StatusOr<PluginAbi> PluginElf::ReadAbi(const std::string& symbol) const {
  const Symbol* alias = nullptr;
  for (const Symbol& sym : symbols_) {
    if (sym.defined && sym.name == symbol) {
      alias = &sym;
      break;
    }
  }
  if (alias == nullptr) {
    return absl::NotFoundError(
        absl::StrCat(path_, " does not export ", symbol));
  }
  // Where the alias points: the relocation that fills it in, else the value
  // stored in place (the implicit addend of REL and RELR relocations).
  bool found = false;
  uint64_t target = 0;
  for (const Relocation& rel : relocations_) {
    if (rel.offset != alias->value) continue;
    const uint32_t type = static_cast<uint32_t>(ELF64_R_TYPE(rel.info));
    const uint64_t index = ELF64_R_SYM(rel.info);
    if (type == kRelative) {
      target = static_cast<uint64_t>(rel.addend);
    } else if ((type == kAbsolute || type == kGlobDat) &&
               index < symbols_.size() && symbols_[index].defined) {
      target = symbols_[index].value + static_cast<uint64_t>(rel.addend);
    } else {
      return absl::FailedPreconditionError(
          absl::StrCat(path_, ": ", symbol,
                       " is filled in by a relocation of an unexpected kind (",
                       type, "); not a cache_alchemy descriptor"));
    }
    found = true;
    break;
  }
  uint64_t offset = 0;
  if (!found) {
    if (!FileOffset(alias->value, sizeof(uint64_t), &offset)) {
      return absl::FailedPreconditionError(
          absl::StrCat(path_, ": ", symbol, " lies outside the file's image"));
    }
    target = Load<uint64_t>(image_, offset);
  }
  if (target == 0 || !FileOffset(target, 2 * sizeof(int32_t), &offset)) {
    return absl::FailedPreconditionError(absl::StrCat(
        path_, ": ", symbol,
        " does not point at a descriptor in the file; not a cache_alchemy "
        "descriptor"));
  }
  PluginAbi abi;
  abi.abi_version = Load<int32_t>(image_, offset);
  abi.stdlib_abi_tag = Load<int32_t>(image_, offset + sizeof(int32_t));
  return abi;
}

}  // namespace cache_alchemy
