// File: core/errors.h
// -----------------------------------------------------------------------------
//
// The exceptions cache_alchemy throws at its API edge. Besides these, the API
// throws std::invalid_argument for bad options or patterns and
// std::runtime_error for a missing Redis client or config, as each function's
// comment says.

#ifndef CACHE_ALCHEMY_CORE_ERRORS_H_
#define CACHE_ALCHEMY_CORE_ERRORS_H_

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace cache_alchemy {

// An operation the cached function does not support in its mode, such as a
// partial `cache_clear(patterns...)` on a function that is not strict.
class UnsupportedError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// A dotted backend name that could not be resolved: no library for its
// module on the search path, a file refused by the trust rules (a
// world-writable file or directory; docs/plugins.md section 7), a file the
// dynamic loader refused, no such class in the library, a library that is
// not a cache_alchemy plugin, an ABI mismatch, or a factory that failed. The
// message names the dotted name, every path searched, every plugin-path entry
// ignored and the loader's own error.
class BackendNotFoundError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A clear that could not remove every entry it had to: `cache_clear()`, a
// partial clear, a dependency cascade, `CacheDependency::clear()` or
// `flush_cache`, when a backend failed (Redis unreachable, say). Thrown after
// everything that could be cleared was cleared (local copies included) and
// after computations in flight were fenced, so it is safe to retry. Never
// thrown for reads: lookups and stores fail open.
class ClearError : public std::runtime_error {
 public:
  // One function (or, for flush_cache, one backend) that was not cleared.
  struct Failure {
    std::string function;  // the function's name; empty for a whole backend
    std::string backend;   // dotted backend name
    std::string error;     // what the backend reported
  };

  ClearError(std::vector<Failure> failures, int64_t removed)
      : std::runtime_error(Describe(failures, removed)),
        failures_(std::move(failures)),
        removed_(removed) {}

  // What could not be cleared, in the order the clear met it. Never empty.
  const std::vector<Failure>& failures() const noexcept { return failures_; }
  // Entries removed by the parts that succeeded.
  int64_t removed() const noexcept { return removed_; }

 private:
  static std::string Describe(const std::vector<Failure>& failures,
                              int64_t removed) {
    std::string text = "cache clear failed: ";
    for (size_t i = 0; i < failures.size(); ++i) {
      const Failure& f = failures[i];
      if (i > 0) text += "; ";
      text += f.function.empty() ? "every function"
                                 : "function '" + f.function + "'";
      text += " of backend '" + f.backend + "': " + f.error;
    }
    text += " (the rest was cleared: " + std::to_string(removed) +
            " entries removed; nothing computed before the clear will be "
            "stored by this process; retry the clear)";
    return text;
  }

  std::vector<Failure> failures_;
  int64_t removed_;
};

}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_ERRORS_H_
