// File: testing/runfiles.h
// -----------------------------------------------------------------------------
//
// Paths inside a Bazel test's environment:
//
//   std::string so = ca::testing::Runfile("core/testdata/x.so");
//   std::string tmp = ca::testing::TestEnv("TEST_TMPDIR");

#ifndef CACHE_ALCHEMY_TESTING_RUNFILES_H_
#define CACHE_ALCHEMY_TESTING_RUNFILES_H_

#include <cstdlib>
#include <string>

namespace cache_alchemy {
namespace testing {

// The environment variable `name`, or "" when unset.
inline std::string TestEnv(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

// The absolute path of `path` (relative to the workspace root) in this test's
// runfiles.
inline std::string Runfile(const std::string& path) {
  std::string workspace = TestEnv("TEST_WORKSPACE");
  if (workspace.empty()) workspace = "cache_alchemy";
  return TestEnv("TEST_SRCDIR") + "/" + workspace + "/" + path;
}

}  // namespace testing
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_TESTING_RUNFILES_H_
