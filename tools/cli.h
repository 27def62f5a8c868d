// File: tools/cli.h
// -----------------------------------------------------------------------------
//
// The operator CLI `cache_alchemy` (//tools:cache_alchemy): inspect and act
// on the caches of running services without writing code. It reads the same
// config as the library (defaults, the JSON file named by
// $CACHE_ALCHEMY_CONFIG_FILE or --config_file, environment variables named
// as the keys) and loads backends from the same plugin search path.
//
//   cache_alchemy config
//   cache_alchemy namespaces BACKEND [--prefix=P]
//   cache_alchemy keys BACKEND NAME [--prefix=P] [--raw]
//   cache_alchemy flush BACKEND [--prefix=P] [--yes]
//   cache_alchemy stats [BACKEND...] [--prefix=P] [--from=URL]
//   cache_alchemy help [COMMAND]       (or COMMAND --help)
//
// BACKEND is a dotted name, or `json`, `pickle`, `memory` for the backend the
// config gives that family. Output goes to stdout, errors to stderr (one
// line, `cache_alchemy: error: ...`, saying what was wrong), and the exit
// code says what happened (ExitCode). docs/operations.md is the reference.

#ifndef CACHE_ALCHEMY_TOOLS_CLI_H_
#define CACHE_ALCHEMY_TOOLS_CLI_H_

#include <iosfwd>
#include <string>
#include <vector>

namespace cache_alchemy {
namespace tools {

// The exit codes of the CLI, for shell scripts.
enum ExitCode : int {
  kExitOk = 0,
  // The operation failed at run time: a backend unreachable or failing
  // (Redis down, a clear that could not complete), an exporter that did not
  // answer.
  kExitRuntimeError = 1,
  // The command line is wrong: unknown command or flag, missing or extra
  // arguments, a bad flag value, or a command the backend cannot support
  // (an in-process backend's entries are not visible from another process).
  kExitUsageError = 2,
  // `flush` was not confirmed: the answer was not "y"/"yes", or stdin is not
  // a terminal and --yes was not given. Nothing was removed.
  kExitNotConfirmed = 3,
  // The configuration is invalid: a config file or environment value that
  // does not cast, a malformed CACHE_ALCHEMY_REDIS_URL.
  kExitConfigError = 4,
  // The backend could not be loaded (unknown dotted name, no plugin on the
  // search path, ABI mismatch).
  kExitBackendNotFound = 5,
};

// Runs one command line. `args` excludes the program name. Confirmation
// questions are read from `in`; `in_is_terminal` says whether it is
// interactive (flush refuses to ask a non-terminal). Never throws (but
// std::bad_alloc); returns the exit code.
// Not thread-safe: uses the process's Abseil flags and makes a config
// current for the duration of the call.
int RunCli(const std::vector<std::string>& args, std::istream& in,
           bool in_is_terminal, std::ostream& out, std::ostream& err);

}  // namespace tools
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_TOOLS_CLI_H_
