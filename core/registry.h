// File: core/registry.h
// -----------------------------------------------------------------------------
//
// Resolves dotted backend names to backend objects loaded from plugin
// libraries. `a.b.c.ClassName` names the class `ClassName` exported (with
// CACHE_ALCHEMY_EXPORT_BACKEND) by the library `a.b.c.so`, searched in
// (core/plugin_location.h has the exact rules):
//   1. the absolute directories of CACHE_ALCHEMY_PLUGIN_PATH, in order (an
//      empty or relative entry is ignored, with a warning);
//   2. the directory of the running executable;
//   3. the Bazel runfiles of the running executable, where a plugin target
//      of module `x.y.<leaf>` lives in `backends/<leaf>/` or `plugins/<leaf>/`
//      (RUNFILES_DIR / TEST_SRCDIR only when they are this program's own);
//   4. the install directory, when the library was built with
//      -DCACHE_ALCHEMY_PLUGIN_INSTALL_DIR="\"/abs/path\"" (CMake builds).
// A file is loaded only if it is trusted (nothing world-writable on the way
// to it) and only after the ABI fields of the class's descriptor were read
// from the file and match this program: no code of a refused file runs.
// A file that fails is skipped for the next directory; when a later one
// loads, a warning (core/log.h) names every file skipped and why.
//
// Each library is loaded once per registry; each class is made once per
// registry and shared by every function cached with it. Every object made by
// a plugin keeps its library loaded for as long as it lives, even after its
// registry is gone; the library is unloaded when the last such object (and
// the registry) is.
//
//   auto backend = ca::BackendRegistry::Global().Get(
//       "cache_alchemy.backends.memory.MemoryCache", {});

#ifndef CACHE_ALCHEMY_CORE_REGISTRY_H_
#define CACHE_ALCHEMY_CORE_REGISTRY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/backend.h"

namespace boost::dll {
class shared_library;
}  // namespace boost::dll

namespace cache_alchemy {

// Thread safety: all methods may be called from any thread.
class BackendRegistry {
 public:
  // The process-wide registry that the cache families use (never
  // destroyed).
  static BackendRegistry& Global();

  // An empty registry of its own (tests; programs that want to unload
  // plugins): destroying it drops its references to the backends and
  // libraries it loaded.
  BackendRegistry();
  ~BackendRegistry();
  BackendRegistry(const BackendRegistry&) = delete;
  BackendRegistry& operator=(const BackendRegistry&) = delete;

  // The backend named `dotted_name`, loading its library on first use;
  // `plugin_path` lists directories searched first.
  // Throws BackendNotFoundError naming the dotted name, every path searched,
  // every entry ignored and the loader's own messages (dlerror() text for a
  // library the dynamic loader refused).
  std::shared_ptr<Backend> Get(const std::string& dotted_name,
                               const std::vector<std::string>& plugin_path);

  // The directories searched for module `module` (e.g.
  // "cache_alchemy.backends.memory"), in order (see the top of this file).
  static std::vector<std::string> SearchDirectories(
      const std::string& module, const std::vector<std::string>& plugin_path);

 private:
  using Library = std::shared_ptr<boost::dll::shared_library>;

  // Makes `class_name` from the file at `path`: trust check, ABI check from
  // the ELF file, dlopen, factory.
  absl::StatusOr<std::shared_ptr<Backend>> LoadFrom(
      const std::string& path, const std::string& class_name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Loads the trusted file `real_path` (once). Returns the loader's error,
  // with its dlerror() text, on failure.
  absl::StatusOr<Library> LoadLibrary(const std::string& real_path)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<Backend>> backends_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Library> libraries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_REGISTRY_H_
