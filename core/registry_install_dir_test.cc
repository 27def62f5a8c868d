// The registry as a CMake build compiles it, with
// -DCACHE_ALCHEMY_PLUGIN_INSTALL_DIR (here "/nonexistent/cache_alchemy/
// plugins", see BUILD): the install directory is searched after the plugin
// path, the executable's directory and the runfiles, and is named in errors.

#include <string>
#include <vector>

#include "core/errors.h"
#include "core/plugin_location.h"
#include "core/registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cache_alchemy {
namespace {

using ::testing::HasSubstr;

constexpr char kInstallDir[] = "/nonexistent/cache_alchemy/plugins";

TEST(RegistryInstallDirTest, SearchedLast) {
  EXPECT_STREQ(PluginInstallDirectory(), kInstallDir);
  const std::vector<std::string> dirs = BackendRegistry::SearchDirectories(
      "cache_alchemy.backends.memory", {"/from/config"});
  ASSERT_GE(dirs.size(), 3u);
  EXPECT_EQ(dirs.front(), "/from/config");
  EXPECT_EQ(dirs.back(), kInstallDir);
  // The executable's directory comes before it.
  EXPECT_THAT(dirs[1], HasSubstr("/core"));
}

TEST(RegistryInstallDirTest, NamedInErrors) {
  BackendRegistry registry;
  try {
    registry.Get("acme.nowhere.Cache", {});
    ADD_FAILURE() << "no error";
  } catch (const BackendNotFoundError& e) {
    EXPECT_THAT(e.what(),
                HasSubstr(std::string(kInstallDir) + "/acme.nowhere.so."));
  }
}

}  // namespace
}  // namespace cache_alchemy
