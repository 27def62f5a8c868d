// File: testing/compile_snippet.h
// -----------------------------------------------------------------------------
//
// Compiles a C++ snippet with g++ (the build's compiler), for tests of
// compile-time errors: that a misuse fails with a message that reads well,
// and that the correct use next to it compiles. The repository's headers
// come from the test's runfiles (list them in the test's `data`); system
// libraries (Abseil, cereal) from /usr/include.
//
//   std::string output;
//   EXPECT_NE(CompileSnippet("#include \"core/key_encoder.h\" ...", &output),
//   0); EXPECT_THAT(output, HasSubstr("has no cache-key encoding"));

#ifndef CACHE_ALCHEMY_TESTING_COMPILE_SNIPPET_H_
#define CACHE_ALCHEMY_TESTING_COMPILE_SNIPPET_H_

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "testing/runfiles.h"

namespace cache_alchemy {
namespace testing {

// Compiles `source` (-std=c++20 -fsyntax-only) in TEST_TMPDIR under the file
// name `name`.cc; returns g++'s exit status (0: compiled) and sets `*output`
// to what it printed. Not thread-safe for equal names.
inline int CompileSnippet(const std::string& source, std::string* output,
                          const std::string& name = "snippet") {
  const std::string dir = TestEnv("TEST_TMPDIR");
  const std::string file = dir + "/" + name + ".cc";
  const std::string log = dir + "/" + name + ".log";
  std::ofstream(file) << source;
  const std::string command = "/usr/bin/g++ -std=c++20 -fsyntax-only -I" +
                              Runfile("") + " " + file + " >" + log + " 2>&1";
  const int status = std::system(command.c_str());
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  *output = text.str();
  return status;
}

}  // namespace testing
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_TESTING_COMPILE_SNIPPET_H_
