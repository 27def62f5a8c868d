// File: tools/run_process.h
// -----------------------------------------------------------------------------
//
// For tests that run a program as a process: arguments, environment changes
// and stdin in; exit code, stdout and stderr out.
//
//   ProcessResult r = RunProcess("/path/cache_alchemy", {"config"},
//                                {.env = {"CACHE_ALCHEMY_DEFAULT_LIMIT=5"}});
//   EXPECT_EQ(r.exit_code, 0) << r.err;

#ifndef CACHE_ALCHEMY_TOOLS_RUN_PROCESS_H_
#define CACHE_ALCHEMY_TOOLS_RUN_PROCESS_H_

#include <string>
#include <vector>

namespace cache_alchemy {
namespace tools {

struct ProcessOptions {
  // "NAME=value" sets, "NAME" alone removes, on top of this process's
  // environment.
  std::vector<std::string> env;
  // Written to the child's stdin, which is then closed (a pipe, or a
  // terminal with `stdin_is_terminal`).
  std::string stdin_text;
  // The child's stdin is a pseudo-terminal (isatty(0) is true).
  bool stdin_is_terminal = false;
  // Killed (SIGKILL) after this long; exit_code is then -1.
  int timeout_ms = 30'000;
};

struct ProcessResult {
  int exit_code = -1;  // -1: killed by a signal or timed out
  std::string out, err;
};

// Runs `program` (an absolute path, also passed as argv[0]) with `args`.
// Throws std::runtime_error if it cannot be started.
ProcessResult RunProcess(const std::string& program,
                         const std::vector<std::string>& args,
                         const ProcessOptions& options = {});

}  // namespace tools
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_TOOLS_RUN_PROCESS_H_
