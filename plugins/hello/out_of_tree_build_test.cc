// The out-of-tree path of docs/plugins.md: a plugin compiled with plain g++
// in a temporary directory that holds only its source and the SDK headers,
// then selected by dotted name through CACHE_ALCHEMY_PLUGIN_PATH.

#include <dlfcn.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <future>
#include <sstream>
#include <string>

#include "cache_alchemy/cache_alchemy.h"
#include "core/backend.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/runfiles.h"

namespace ca = cache_alchemy;

namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

using ca::testing::Runfile;
using ca::testing::TestEnv;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// Runs `command` through the shell; returns its exit status and output.
std::pair<int, std::string> RunShell(const std::string& command,
                                     const std::string& log) {
  const int status = std::system((command + " >" + log + " 2>&1").c_str());
  return {status, ReadFile(log)};
}

// A plugin that claims the next ABI version: its descriptor is written by
// hand, as an old or future build of the SDK would have written it.
constexpr char kFuturePlugin[] = R"(
#include "core/plugin_export.h"
#include <cstdlib>
const cache_alchemy::BackendDescriptor kFuture = {
    cache_alchemy::kPluginAbiVersion + 1, cache_alchemy::kStdlibAbiTag,
    "FutureCache", []() -> cache_alchemy::Backend* { std::abort(); }};
BOOST_DLL_ALIAS(kFuture, cache_alchemy_backend_FutureCache)
)";

class OutOfTreeBuildTest : public ::testing::Test {
 protected:
  // Lays out TEST_TMPDIR/{sdk/core/*.h, src/*.cc, lib/} and compiles both
  // plugins (in parallel: g++ takes about a second each).
  static void SetUpTestSuite() {
    const std::string tmp = TestEnv("TEST_TMPDIR");
    ASSERT_FALSE(tmp.empty());
    for (const char* dir : {"/sdk", "/sdk/core", "/src", "/lib"}) {
      mkdir((tmp + dir).c_str(), 0755);
    }
    for (const char* header : {"backend.h", "clock.h", "plugin_export.h", "strict_key.h"}) {
      const std::string text = ReadFile(Runfile(std::string("core/") + header));
      ASSERT_FALSE(text.empty()) << header << " is not in the runfiles";
      WriteFile(tmp + "/sdk/core/" + header, text);
    }
    WriteFile(tmp + "/src/hello_cache.cc",
              ReadFile(Runfile("plugins/hello/hello_cache.cc")));
    WriteFile(tmp + "/src/future.cc", kFuturePlugin);
    lib_dir_ = new std::string(tmp + "/lib");
    auto compile = [tmp](const std::string& source, const std::string& lib) {
      return RunShell("cd " + tmp +
                          "/src && /usr/bin/g++ -std=c++20 -shared -fPIC " +
                          "-fvisibility=hidden -I" + tmp + "/sdk -o " + tmp +
                          "/lib/" + lib + " " + source,
                      tmp + "/" + lib + ".log");
    };
    auto hello = std::async(std::launch::async, compile, "hello_cache.cc",
                            "acme.backends.hello.so");
    auto future = std::async(std::launch::async, compile, "future.cc",
                             "acme.backends.future.so");
    for (auto* result : {&hello, &future}) {
      auto [status, output] = result->get();
      ASSERT_EQ(status, 0) << output;
    }
  }

  void SetUp() override {
    ASSERT_EQ(setenv("CACHE_ALCHEMY_PLUGIN_PATH", lib_dir_->c_str(), 1), 0);
  }

  static std::string* lib_dir_;
};

std::string* OutOfTreeBuildTest::lib_dir_ = nullptr;

TEST_F(OutOfTreeBuildTest, PluginBuiltWithGccCachesAFunction) {
  int calls = 0;
  auto f = ca::cache({.strict = true,
                      .backend = "acme.backends.hello.HelloCache",
                      .name = "out_of_tree.f"},
                     [&calls](int a, int b) {
                       ++calls;
                       return a * 100 + b;
                     });
  // The library on CACHE_ALCHEMY_PLUGIN_PATH is the one that got loaded.
  const std::string lib = *lib_dir_ + "/acme.backends.hello.so";
  void* handle = dlopen(lib.c_str(), RTLD_NOW | RTLD_NOLOAD);
  ASSERT_NE(handle, nullptr) << lib << " was not loaded";
  dlclose(handle);

  EXPECT_EQ(f(1, 2), 102);
  EXPECT_EQ(f(1, 2), 102);
  EXPECT_EQ(f(1, 3), 103);
  EXPECT_EQ(f(2, 2), 202);
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(f.hits(), 1);
  EXPECT_EQ(f.cache_clear(1), 2);  // partial clear: a == 1
  EXPECT_EQ(f(2, 2), 202);
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(f.cache_clear(), 1);
}

TEST_F(OutOfTreeBuildTest, PluginForAnotherAbiVersionIsRefused) {
  try {
    auto f = ca::cache({.backend = "acme.backends.future.FutureCache"},
                       [](int x) { return x; });
    ADD_FAILURE() << "a plugin for ABI version " << ca::kPluginAbiVersion + 1
                  << " was accepted";
  } catch (const ca::BackendNotFoundError& e) {
    EXPECT_THAT(e.what(),
                AllOf(HasSubstr("'acme.backends.future.FutureCache'"),
                      HasSubstr(*lib_dir_ + "/acme.backends.future.so"),
                      HasSubstr("plugin ABI version " +
                                std::to_string(ca::kPluginAbiVersion + 1)),
                      HasSubstr("this program uses version " +
                                std::to_string(ca::kPluginAbiVersion))));
  }
}

}  // namespace
