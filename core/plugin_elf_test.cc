// PluginElf reads a plugin's classes and ABI fields from its file without
// loading it, and treats every other file (truncated, corrupted, not ELF) as
// an error, never a crash.

#include "core/plugin_elf.h"

#include <dlfcn.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/backend.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/runfiles.h"

namespace cache_alchemy {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string Testdata(const std::string& file) {
  return testing::Runfile("core/testdata/" + file);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string WriteTemp(const std::string& name, const std::string& bytes) {
  const std::string path = testing::TestEnv("TEST_TMPDIR") + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

TEST(PluginElfTest, ReadsTheDescriptorsOfPlugins) {
  absl::StatusOr<PluginElf> counting =
      PluginElf::Open(Testdata("cache_alchemy_test.counting.so"));
  ASSERT_TRUE(counting.ok()) << counting.status();
  EXPECT_THAT(counting->ExportsWithPrefix("cache_alchemy_backend_"),
              ElementsAre("cache_alchemy_backend_Counting"));
  absl::StatusOr<PluginAbi> abi =
      counting->ReadAbi("cache_alchemy_backend_Counting");
  ASSERT_TRUE(abi.ok()) << abi.status();
  EXPECT_EQ(abi->abi_version, kPluginAbiVersion);
  EXPECT_EQ(abi->stdlib_abi_tag, kStdlibAbiTag);

  // Hand-written descriptors (BOOST_DLL_ALIAS) read the same way.
  absl::StatusOr<PluginElf> bad = PluginElf::Open(
      Testdata("cache_alchemy_test.bad_abi.so"), "shown-name.so");
  ASSERT_TRUE(bad.ok()) << bad.status();
  EXPECT_EQ(bad->ReadAbi("cache_alchemy_backend_Broken")->abi_version, 999);
  EXPECT_EQ(bad->ReadAbi("cache_alchemy_backend_OtherStdlib")->stdlib_abi_tag,
            7);
  absl::StatusOr<PluginAbi> none = bad->ReadAbi("cache_alchemy_backend_None");
  EXPECT_TRUE(absl::IsNotFound(none.status()));
  EXPECT_THAT(none.status().message(), HasSubstr("shown-name.so"));
}

TEST(PluginElfTest, ReadingDoesNotLoad) {
  const std::string path = Testdata("cache_alchemy_test.constructor_abi.so");
  ASSERT_TRUE(PluginElf::Open(path).ok());
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
  EXPECT_EQ(handle, nullptr);
  if (handle != nullptr) dlclose(handle);
}

TEST(PluginElfTest, LibraryWithoutDescriptors) {
  absl::StatusOr<PluginElf> elf =
      PluginElf::Open(Testdata("cache_alchemy_test.not_a_plugin.so"));
  ASSERT_TRUE(elf.ok()) << elf.status();
  EXPECT_THAT(elf->ExportsWithPrefix("cache_alchemy_backend_"), IsEmpty());
  EXPECT_THAT(elf->ExportsWithPrefix("unrelated_"),
              ElementsAre("unrelated_function"));
}

TEST(PluginElfTest, OtherFilesAreErrors) {
  EXPECT_THAT(
      PluginElf::Open(WriteTemp("text.so", "hello\n")).status().message(),
      HasSubstr("not an ELF file"));
  EXPECT_TRUE(absl::IsNotFound(PluginElf::Open("/no/such/file.so").status()));
  EXPECT_THAT(
      PluginElf::Open(testing::TestEnv("TEST_TMPDIR")).status().message(),
      HasSubstr("not a regular file"));
  // An executable is ELF but no shared library... nor is a 32-bit file.
  std::string elf = ReadFile(Testdata("cache_alchemy_test.counting.so"));
  ASSERT_GT(elf.size(), 64u);
  std::string other_class = elf;
  other_class[4] = 1;  // ELFCLASS32
  EXPECT_THAT(
      PluginElf::Open(WriteTemp("class32.so", other_class)).status().message(),
      HasSubstr("not a 64-bit ELF file"));
  std::string other_machine = elf;
  other_machine[18] = static_cast<char>(other_machine[18] ^ 0x55);
  EXPECT_THAT(PluginElf::Open(WriteTemp("machine.so", other_machine))
                  .status()
                  .message(),
              HasSubstr("built for another machine"));
}

TEST(PluginElfTest, TruncatedOrCorruptedFilesNeverCrash) {
  const std::string elf = ReadFile(Testdata("cache_alchemy_test.counting.so"));
  const std::string symbol = "cache_alchemy_backend_Counting";
  // Section headers sit at the end of the file: any prefix is refused.
  for (size_t cut = 0; cut < elf.size(); cut += cut < 4096 ? 61 : 16381) {
    EXPECT_FALSE(PluginElf::Open(WriteTemp("cut.so", elf.substr(0, cut))).ok())
        << cut;
  }
  // Corrupt each byte of the ELF header, the program headers and the
  // section headers in turn: each file is refused or answers (an error or a
  // value), never crashes (under ASan too).
  uint64_t shoff = 0;
  std::memcpy(&shoff, elf.data() + 0x28, sizeof(shoff));  // e_shoff
  ASSERT_LT(shoff, elf.size());
  // (Every byte of the ELF header, every 7th of the others: about 300
  // files, quick under ASan too; core/plugin_elf_fuzz does the rest.)
  std::vector<size_t> positions;
  for (size_t i = 0; i < 64; ++i) positions.push_back(i);
  for (size_t i = 64; i < 64 + 56 * 8; i += 7) positions.push_back(i);
  for (size_t i = shoff; i < elf.size(); i += 7) positions.push_back(i);
  int answered = 0;
  for (size_t i : positions) {
    std::string bad = elf;
    bad[i] = static_cast<char>(bad[i] ^ 0xa5);
    absl::StatusOr<PluginElf> opened =
        PluginElf::Open(WriteTemp("flip.so", bad));
    if (opened.ok() && opened->ReadAbi(symbol).ok()) ++answered;
  }
  EXPECT_GT(answered, 0) << "bytes that do not matter leave it readable";
}

}  // namespace
}  // namespace cache_alchemy
