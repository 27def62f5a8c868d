// The plugin trust model (core/plugin_location.h, docs/plugins.md "Where
// plugins are loaded from, and what is trusted"): only absolute places the
// configuration, the program or the build names; nothing world-writable on
// the way; RUNFILES_DIR/TEST_SRCDIR only when they are this program's; and no
// code of a plugin built for another ABI ever runs.

#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/errors.h"
#include "core/log.h"
#include "core/registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/runfiles.h"

namespace cache_alchemy {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

std::string TestdataDir() { return testing::Runfile("core/testdata"); }
std::string TmpDir() { return testing::TestEnv("TEST_TMPDIR"); }

// The message of the BackendNotFoundError that `Get(name, path)` throws on
// a registry of its own.
std::string LoadError(const std::string& name,
                      const std::vector<std::string>& path) {
  BackendRegistry registry;
  try {
    registry.Get(name, path);
  } catch (const BackendNotFoundError& e) {
    return e.what();
  }
  ADD_FAILURE() << "loading " << name << " did not throw";
  return "";
}

// Collects the warnings logged while it lives.
class CapturedLog {
 public:
  CapturedLog() {
    SetLogSink([this](const LogRecord& r) {
      if (r.level == LogLevel::kWarning) all_ += std::string(r.message) + "\n";
    });
  }
  ~CapturedLog() { SetLogSink(nullptr); }
  const std::string& warnings() const { return all_; }

 private:
  std::string all_;
};

// Sets (or unsets) an environment variable for a scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      unsetenv(name_.c_str());
    }
  }

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// A fresh directory `name` in TEST_TMPDIR with exactly `mode`.
std::string MakeDir(const std::string& name, mode_t mode = 0755) {
  const std::string dir = TmpDir() + "/" + name;
  mkdir(dir.c_str(), 0700);
  chmod(dir.c_str(), mode);
  return dir;
}

// Copies the Counting plugin to `to` with exactly `mode`.
void CopyCounting(const std::string& to, mode_t mode = 0755) {
  std::ifstream in(TestdataDir() + "/cache_alchemy_test.counting.so",
                   std::ios::binary);
  std::ofstream(to, std::ios::binary) << in.rdbuf();
  chmod(to.c_str(), mode);
}

bool IsLoaded(const std::string& path) {
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
  if (handle == nullptr) return false;
  dlclose(handle);
  return true;
}

TEST(PluginTrustTest, RelativeAndEmptyEntriesAreIgnored) {
  // The testdata directory holds cache_alchemy_test.counting.so: from there,
  // "" and "." used to mean "load it from the current directory".
  char cwd[4096];
  ASSERT_NE(getcwd(cwd, sizeof(cwd)), nullptr);
  ASSERT_EQ(chdir(TestdataDir().c_str()), 0);
  CapturedLog log;
  const std::string empty =
      LoadError("cache_alchemy_test.counting.Counting", {""});
  const std::string dot =
      LoadError("cache_alchemy_test.counting.Counting", {"."});
  const std::string up =
      LoadError("cache_alchemy_test.counting.Counting", {"../testdata", "x/y"});
  ASSERT_EQ(chdir(cwd), 0);
  EXPECT_THAT(empty, HasSubstr("Ignored: an empty entry of "
                               "CACHE_ALCHEMY_PLUGIN_PATH"));
  EXPECT_THAT(dot, HasSubstr("the relative entry '.'"));
  EXPECT_THAT(up, AllOf(HasSubstr("the relative entry '../testdata'"),
                        HasSubstr("the relative entry 'x/y'")));
  EXPECT_THAT(log.warnings(), HasSubstr("the relative entry '../testdata'"));
  const std::vector<std::string> dirs =
      BackendRegistry::SearchDirectories("a.b", {"", ".", "rel", "/abs"});
  for (const std::string& dir : dirs) {
    EXPECT_EQ(dir[0], '/') << dir;
  }
  EXPECT_EQ(dirs.front(), "/abs");
}

TEST(PluginTrustTest, WorldWritableDirectoryIsRefused) {
  const std::string dir = MakeDir("ww_dir", 0777);
  CopyCounting(dir + "/cache_alchemy_test.ww_dir.so");
  CapturedLog log;
  const std::string message =
      LoadError("cache_alchemy_test.ww_dir.Counting", {dir});
  EXPECT_THAT(message,
              AllOf(HasSubstr("the directory " + dir + " is world-writable"),
                    HasSubstr("refused")));
  EXPECT_THAT(log.warnings(),
              HasSubstr("the directory " + dir + " is world-writable"));
  EXPECT_FALSE(IsLoaded(dir + "/cache_alchemy_test.ww_dir.so"));
}

TEST(PluginTrustTest, WorldWritableFileIsRefused) {
  const std::string dir = MakeDir("ww_file");
  const std::string file = dir + "/cache_alchemy_test.ww_file.so";
  CopyCounting(file, 0777);
  const std::string message =
      LoadError("cache_alchemy_test.ww_file.Counting", {dir});
  EXPECT_THAT(message, HasSubstr("the file " + file + " is world-writable"));
  EXPECT_FALSE(IsLoaded(file));
}

TEST(PluginTrustTest, WorldWritableAncestorIsRefused) {
  const std::string outer = MakeDir("ww_outer", 0777);
  const std::string inner = MakeDir("ww_outer/inner");
  CopyCounting(inner + "/cache_alchemy_test.ww_outer.so");
  EXPECT_THAT(LoadError("cache_alchemy_test.ww_outer.Counting", {inner}),
              HasSubstr("the directory " + outer + " is world-writable"));
}

TEST(PluginTrustTest, SymbolicLinksAreCheckedBothWays) {
  // A link in a world-writable directory to a safe file: the link itself
  // could be swapped.
  const std::string safe = MakeDir("links_safe");
  const std::string ww = MakeDir("links_ww", 0777);
  CopyCounting(safe + "/real.so");
  ASSERT_EQ(symlink((safe + "/real.so").c_str(),
                    (ww + "/cache_alchemy_test.link_in_ww.so").c_str()),
            0);
  EXPECT_THAT(LoadError("cache_alchemy_test.link_in_ww.Counting", {ww}),
              HasSubstr("the directory " + ww + " is world-writable"));
  // A link in a safe directory to a file in a world-writable one.
  CopyCounting(ww + "/planted.so");
  ASSERT_EQ(symlink((ww + "/planted.so").c_str(),
                    (safe + "/cache_alchemy_test.link_to_ww.so").c_str()),
            0);
  EXPECT_THAT(LoadError("cache_alchemy_test.link_to_ww.Counting", {safe}),
              HasSubstr("the directory " + ww + " is world-writable"));
  // A link between safe places is followed.
  ASSERT_EQ(symlink((safe + "/real.so").c_str(),
                    (safe + "/cache_alchemy_test.safe_link.so").c_str()),
            0);
  BackendRegistry registry;
  EXPECT_NE(registry.Get("cache_alchemy_test.safe_link.Counting", {safe}),
            nullptr);
}

TEST(PluginTrustTest, StickyDirectoryOwnedByUsIsAccepted) {
  // Like /tmp: world-writable but sticky, and both the directory and the
  // file belong to this process's user (or root).
  const std::string dir = MakeDir("sticky", 01777);
  CopyCounting(dir + "/cache_alchemy_test.sticky.so");
  BackendRegistry registry;
  EXPECT_NE(registry.Get("cache_alchemy_test.sticky.Counting", {dir}), nullptr);
}

TEST(PluginTrustTest, RunfilesVariablesOfAnotherProgramAreIgnored) {
  // Another program's runfiles tree, inherited through the environment.
  MakeDir("other.runfiles");
  MakeDir("other.runfiles/ws");
  MakeDir("other.runfiles/ws/plugins");
  const std::string leaf = MakeDir("other.runfiles/ws/plugins/foreign");
  CopyCounting(leaf + "/cache_alchemy_test.foreign.so");
  const std::string root = TmpDir() + "/other.runfiles";
  for (const char* var : {"RUNFILES_DIR", "TEST_SRCDIR"}) {
    SCOPED_TRACE(var);
    ScopedEnv env(var, root.c_str());
    EXPECT_THAT(
        BackendRegistry::SearchDirectories("cache_alchemy_test.foreign", {}),
        Not(Contains(leaf)));
    const std::string message =
        LoadError("cache_alchemy_test.foreign.Counting", {});
    EXPECT_THAT(message,
                AllOf(HasSubstr(std::string("Ignored: $") + var + "=" + root),
                      HasSubstr("not this program's runfiles")));
  }
  // This test's own runfiles are still searched.
  EXPECT_THAT(
      BackendRegistry::SearchDirectories("cache_alchemy.backends.memory", {}),
      Contains(HasSubstr(".runfiles/cache_alchemy/backends/memory")));
}

TEST(PluginTrustTest, ConstructorOfAPluginBuiltForAnotherAbiNeverRuns) {
  const std::string marker = TmpDir() + "/constructor_ran";
  unlink(marker.c_str());
  ScopedEnv env("CACHE_ALCHEMY_TEST_MARKER", marker.c_str());
  const std::string message =
      LoadError("cache_alchemy_test.constructor_abi.Future", {TestdataDir()});
  EXPECT_THAT(message, AllOf(HasSubstr("plugin ABI version 999"),
                             HasSubstr("this program uses version " +
                                       std::to_string(kPluginAbiVersion))));
  EXPECT_NE(access(marker.c_str(), F_OK), 0)
      << "the plugin's static constructor ran before its ABI was checked";
  EXPECT_FALSE(
      IsLoaded(TestdataDir() + "/cache_alchemy_test.constructor_abi.so"));
  // Nor is a library that is no plugin at all ever loaded.
  EXPECT_THAT(LoadError("cache_alchemy_test.not_a_plugin.X", {TestdataDir()}),
              HasSubstr("is not a cache_alchemy plugin"));
  EXPECT_FALSE(IsLoaded(TestdataDir() + "/cache_alchemy_test.not_a_plugin.so"));
}

}  // namespace
}  // namespace cache_alchemy
