// Plugin loading and its failures: every way a dotted name can fail to
// resolve is a BackendNotFoundError whose message names the dotted name, the
// paths searched and the loader's own reason, and never a crash.

#include "core/registry.h"

#include <dlfcn.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "cache_alchemy/cache_alchemy.h"
#include "core/errors.h"
#include "core/log.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/runfiles.h"

namespace cache_alchemy {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

// core/testdata in this test's runfiles.
std::string TestdataDir() { return testing::Runfile("core/testdata"); }

// The message of the BackendNotFoundError that `Get(name, path)` throws.
std::string LoadError(const std::string& name,
                      const std::vector<std::string>& path) {
  try {
    BackendRegistry::Global().Get(name, path);
  } catch (const BackendNotFoundError& e) {
    return e.what();
  }
  ADD_FAILURE() << "loading " << name << " did not throw";
  return "";
}

TEST(RegistryTest, LoadsBuiltInPluginFromRunfiles) {
  std::shared_ptr<Backend> a = BackendRegistry::Global().Get(
      "cache_alchemy.backends.memory.MemoryCache", {});
  std::shared_ptr<Backend> b = BackendRegistry::Global().Get(
      "cache_alchemy.backends.memory.MemoryCache", {TestdataDir()});
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a, b) << "one backend object per dotted name per process";
  EXPECT_EQ(a->format(), ValueFormat::kObject);
}

TEST(RegistryTest, MissingModuleNamesEveryPathSearched) {
  const std::string dir = TestdataDir();
  const std::string message =
      LoadError("cache_alchemy_test.nowhere.Nope", {dir, "/no/such/dir"});
  EXPECT_THAT(message,
              AllOf(HasSubstr("'cache_alchemy_test.nowhere.Nope'"),
                    HasSubstr("no file named cache_alchemy_test.nowhere.so"),
                    HasSubstr("CACHE_ALCHEMY_PLUGIN_PATH")));
  const std::vector<std::string> dirs = BackendRegistry::SearchDirectories(
      "cache_alchemy_test.nowhere", {dir, "/no/such/dir"});
  ASSERT_GE(dirs.size(), 3u);
  EXPECT_EQ(dirs[0], dir);
  EXPECT_EQ(dirs[1], "/no/such/dir");
  for (const std::string& d : dirs) {
    EXPECT_THAT(message, HasSubstr(d + "/cache_alchemy_test.nowhere.so"));
  }
  // The runfiles places of the module's leaf are among them.
  EXPECT_THAT(message, HasSubstr("/plugins/nowhere/cache_alchemy_test."));
  EXPECT_THAT(message, HasSubstr("/backends/nowhere/cache_alchemy_test."));
}

TEST(RegistryTest, MalformedNamesAreRefusedBeforeSearching) {
  for (const std::string name :
       {"", "NoDots", "a..B", "a.b-c.D", ".a.B", "a.B.", "a.b c.D"}) {
    const std::string message = LoadError(name, {});
    EXPECT_THAT(message, AllOf(HasSubstr("backend '" + name + "'"),
                               HasSubstr("is malformed")))
        << name;
    EXPECT_THAT(message, ::testing::Not(HasSubstr("Searched:"))) << name;
  }
}

TEST(RegistryTest, NoSuchClassListsWhatTheLibraryExports) {
  const std::string message =
      LoadError("cache_alchemy.backends.memory.NoSuchClass", {});
  EXPECT_THAT(message,
              AllOf(HasSubstr("'cache_alchemy.backends.memory.NoSuchClass'"),
                    HasSubstr("cache_alchemy.backends.memory.so has no class "
                              "'NoSuchClass'"),
                    HasSubstr("it exports: "), HasSubstr("MemoryCache"),
                    HasSubstr("Searched: ")));
}

TEST(RegistryTest, LibraryThatIsNotAPlugin) {
  const std::string dir = TestdataDir();
  const std::string message =
      LoadError("cache_alchemy_test.not_a_plugin.Anything", {dir});
  EXPECT_THAT(message,
              AllOf(HasSubstr("'cache_alchemy_test.not_a_plugin.Anything'"),
                    HasSubstr(dir + "/cache_alchemy_test.not_a_plugin.so is "
                                    "not a cache_alchemy plugin"),
                    HasSubstr("cache_alchemy_backend_")));
}

TEST(RegistryTest, AbiVersionMismatchNamesBothVersions) {
  const std::string dir = TestdataDir();
  const std::string message =
      LoadError("cache_alchemy_test.bad_abi.Broken", {dir});
  EXPECT_THAT(message, AllOf(HasSubstr("'cache_alchemy_test.bad_abi.Broken'"),
                             HasSubstr(dir + "/cache_alchemy_test.bad_abi.so"),
                             HasSubstr("plugin ABI version 999"),
                             HasSubstr("this program uses version " +
                                       std::to_string(kPluginAbiVersion)),
                             HasSubstr("rebuild the plugin")));
}

TEST(RegistryTest, StdlibAbiMismatchNamesBothTags) {
  const std::string message =
      LoadError("cache_alchemy_test.bad_abi.OtherStdlib", {TestdataDir()});
  EXPECT_THAT(
      message,
      AllOf(HasSubstr("C++ standard library ABI"), HasSubstr("tag 7"),
            HasSubstr("this program " + std::to_string(kStdlibAbiTag))));
}

TEST(RegistryTest, ThrowingFactoryIsReportedWithItsMessage) {
  const std::string message = LoadError(
      "cache_alchemy_test.throwing_factory.Throwing", {TestdataDir()});
  EXPECT_THAT(message,
              AllOf(HasSubstr("'cache_alchemy_test.throwing_factory.Throwing'"),
                    HasSubstr("the factory of 'Throwing' threw"),
                    HasSubstr("cannot reach the rocks store at /dev/null")));
  // A failure is not remembered as a success: asking again fails again.
  EXPECT_THAT(LoadError("cache_alchemy_test.throwing_factory.Throwing",
                        {TestdataDir()}),
              HasSubstr("threw"));
}

TEST(RegistryTest, NullFactoryIsReported) {
  EXPECT_THAT(
      LoadError("cache_alchemy_test.throwing_factory.Null", {TestdataDir()}),
      HasSubstr("the factory of 'Null' returned null"));
}

TEST(RegistryTest, FileThatIsNotASharedLibraryIsRefusedUnloaded) {
  const std::string dir = testing::TestEnv("TEST_TMPDIR");
  ASSERT_FALSE(dir.empty());
  const std::string path = dir + "/cache_alchemy_test.garbage.so";
  std::ofstream(path) << "this is not an ELF file\n";
  const std::string message =
      LoadError("cache_alchemy_test.garbage.Cache", {dir});
  EXPECT_THAT(message, AllOf(HasSubstr(path + ": not an ELF file"),
                             HasSubstr("Searched: " + path)));
}

TEST(RegistryTest, UndefinedSymbolGivesTheLoadersMessage) {
  const std::string message = LoadError(
      "cache_alchemy_test.undefined_symbol.Undefined", {TestdataDir()});
  // dlerror()'s own text, not Boost.DLL's "Bad file descriptor".
  EXPECT_THAT(message,
              AllOf(HasSubstr("cache_alchemy_test.undefined_symbol.so"),
                    HasSubstr("the dynamic loader refused it"),
                    HasSubstr("undefined symbol: "
                              "cache_alchemy_test_defined_nowhere")));
  EXPECT_THAT(message, Not(HasSubstr("Bad file descriptor")));
}

TEST(RegistryTest, MissingDependentLibraryGivesTheLoadersMessage) {
  const std::string message =
      LoadError("cache_alchemy_test.missing_dependency.Needy", {TestdataDir()});
  EXPECT_THAT(message,
              AllOf(HasSubstr("cache_alchemy_test.missing_dependency.so"),
                    HasSubstr("libcache_alchemy_test_gone.so: cannot open "
                              "shared object file")));
  EXPECT_THAT(message, Not(HasSubstr("Bad file descriptor")));
}

// Collects the log records sent while it lives.
class CapturedLog {
 public:
  CapturedLog() {
    SetLogSink([this](const LogRecord& r) {
      lines_.push_back(std::string(LogLevelName(r.level)) + " " +
                       std::string(r.message));
    });
  }
  ~CapturedLog() { SetLogSink(nullptr); }
  std::string All() const {
    std::string all;
    for (const std::string& line : lines_) all += line + "\n";
    return all;
  }

 private:
  std::vector<std::string> lines_;
};

// A fresh directory `name` in TEST_TMPDIR with permissions `mode`.
std::string MakeDir(const std::string& name, mode_t mode = 0755) {
  const std::string dir = testing::TestEnv("TEST_TMPDIR") + "/" + name;
  mkdir(dir.c_str(), 0700);
  chmod(dir.c_str(), mode);
  return dir;
}

// Copies testdata plugin `plugin` (e.g. "cache_alchemy_test.counting.so") to
// `to` with permissions `mode`.
void CopyPlugin(const std::string& plugin, const std::string& to,
                mode_t mode = 0755) {
  std::ifstream in(TestdataDir() + "/" + plugin, std::ios::binary);
  std::ofstream(to, std::ios::binary) << in.rdbuf();
  chmod(to.c_str(), mode);
}

TEST(RegistryTest, BrokenPluginSkippedForALaterOneIsLogged) {
  const std::string bad = MakeDir("shadow_bad");
  const std::string good = MakeDir("shadow_good");
  std::ofstream(bad + "/cache_alchemy_test.shadowed.so") << "garbage\n";
  CopyPlugin("cache_alchemy_test.counting.so",
             good + "/cache_alchemy_test.shadowed.so");
  CapturedLog log;
  std::shared_ptr<Backend> backend = BackendRegistry::Global().Get(
      "cache_alchemy_test.shadowed.Counting", {bad, good});
  ASSERT_NE(backend, nullptr);
  EXPECT_THAT(log.All(),
              AllOf(HasSubstr("WARNING"),
                    HasSubstr("'cache_alchemy_test.shadowed.Counting'"),
                    HasSubstr("loaded from " + good),
                    HasSubstr(bad + "/cache_alchemy_test.shadowed.so: not an "
                                    "ELF file")));
}

TEST(RegistryTest, WrappingWithAnUnknownBackendThrows) {
  try {
    auto f = cache({.backend = "nope.Nope"}, [](int x) { return x; });
    ADD_FAILURE() << "wrapping with backend nope.Nope did not throw";
  } catch (const BackendNotFoundError& e) {
    EXPECT_THAT(e.what(), AllOf(HasSubstr("'nope.Nope'"),
                                HasSubstr("no file named nope.so")));
  }
  // The plugin path of the configuration is searched first.
  const std::string dir = testing::TestEnv("TEST_TMPDIR");
  ASSERT_EQ(setenv("CACHE_ALCHEMY_PLUGIN_PATH", dir.c_str(), 1), 0);
  try {
    auto f = cache({.backend = "nope.Nope"}, [](int x) { return x; });
    ADD_FAILURE() << "wrapping with backend nope.Nope did not throw";
  } catch (const BackendNotFoundError& e) {
    EXPECT_THAT(e.what(), HasSubstr("Searched: " + dir + "/nope.so"));
  }
  unsetenv("CACHE_ALCHEMY_PLUGIN_PATH");
  // An ABI mismatch reaches the user the same way, at wrap time.
  EXPECT_THROW(cache({.backend = "cache_alchemy_test.bad_abi.Broken"},
                     [](int x) { return x; }),
               BackendNotFoundError);
}

// The shared library that holds the code of polymorphic object `object`.
template <typename T>
std::string LibraryOf(const T* object) {
  // The first word of a polymorphic object points into its class's vtable,
  // which lives in the library that defines the class.
  const void* vtable = *reinterpret_cast<const void* const*>(object);
  Dl_info info{};
  if (dladdr(vtable, &info) == 0 || info.dli_fname == nullptr) return "";
  return info.dli_fname;
}

bool IsLoaded(const std::string& path) {
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
  if (handle == nullptr) return false;
  dlclose(handle);  // drops only the reference RTLD_NOLOAD took
  return true;
}

// The registry's references, the backend's and its namespaces' are all
// needed, and together enough, to keep the plugin's code mapped. (The
// Counting plugin has no STB_GNU_UNIQUE symbol, so glibc can unload it.)
TEST(RegistryTest, ObjectsKeepTheirLibraryLoaded) {
  auto registry = std::make_unique<BackendRegistry>();
  std::shared_ptr<Backend> backend =
      registry->Get("cache_alchemy_test.counting.Counting", {TestdataDir()});
  const std::string library = LibraryOf(backend.get());
  ASSERT_THAT(library, HasSubstr("cache_alchemy_test.counting.so"));
  ASSERT_TRUE(IsLoaded(library));

  CoarseMonotonicClock clock;
  HostContext host;
  host.clock = &clock;
  // As core/cache.cc holds it: the namespace's deleter holds the backend.
  std::shared_ptr<CacheNamespace> ns(
      backend->Open(
          NamespaceSpec{"", "registry_test.keep_loaded", 10, -1, false}, host),
      [backend](CacheNamespace* n) { delete n; });
  EXPECT_EQ(LibraryOf(ns.get()), library);
  registry.reset();
  EXPECT_TRUE(IsLoaded(library)) << "the backend holds its library";
  backend.reset();  // the namespace is now the only object we hold
  EXPECT_TRUE(IsLoaded(library)) << "the namespace holds the backend";

  StoredValue value;
  value.object = std::make_shared<const int>(42);
  ns->Store("k", std::move(value), nullptr);
  int seen = 0;
  EXPECT_TRUE(ns->Lookup(
      "k",
      [](void* context, const ValueView& v) {
        *static_cast<int*>(context) = *static_cast<const int*>(v.object);
      },
      &seen, nullptr));
  EXPECT_EQ(seen, 42);
  ns.reset();  // runs the plugin's destructors: their code is still there
  EXPECT_FALSE(IsLoaded(library))
      << "the last object made by the plugin is gone: it is unloaded";
}

TEST(RegistryTest, WrappedFunctionsKeepTheirBackend) {
  std::shared_ptr<Backend> backend = BackendRegistry::Global().Get(
      "cache_alchemy.backends.memory.MemoryCache", {});
  const std::string library = LibraryOf(backend.get());
  EXPECT_THAT(library, HasSubstr("cache_alchemy.backends.memory.so"));
  backend.reset();
  // A wrapped function holds the backend (and the library) through its
  // namespace; destroying it in any order is safe.
  auto f = cache({.backend = "cache_alchemy.backends.memory.MemoryCache",
                  .name = "registry_test.wrapped"},
                 [](int x) { return x * 2; });
  EXPECT_EQ(f(21), 42);
  EXPECT_EQ(f(21), 42);
  EXPECT_EQ(f.hits(), 1);
  { auto moved = std::move(f); }
  EXPECT_TRUE(IsLoaded(library));
}

}  // namespace
}  // namespace cache_alchemy
