// File: core/errors.h
// -----------------------------------------------------------------------------
//
// The exceptions cache_alchemy throws at its API edge. Besides these, the API
// throws std::invalid_argument for bad options or patterns and
// std::runtime_error for a missing Redis client or config, as each function's
// comment says.

#ifndef CACHE_ALCHEMY_CORE_ERRORS_H_
#define CACHE_ALCHEMY_CORE_ERRORS_H_

#include <stdexcept>
#include <string>

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

}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_ERRORS_H_
