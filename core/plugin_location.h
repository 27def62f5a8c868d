// File: core/plugin_location.h
// -----------------------------------------------------------------------------
//
// Where the plugin registry (core/registry.h) may load plugin libraries from,
// and which files it trusts. Loading a library runs its code with the
// program's privileges, so these rules decide what the program runs:
//
//   1. Only absolute directories are searched, and only those that the
//      configuration names (CACHE_ALCHEMY_PLUGIN_PATH), the program's own
//      location names (its directory; its Bazel runfiles) or the build names
//      (CACHE_ALCHEMY_PLUGIN_INSTALL_DIR). An empty or relative entry of the
//      plugin path is ignored with a warning: it would load from whatever
//      the current directory happens to be.
//   2. RUNFILES_DIR and TEST_SRCDIR are honoured only when they belong to
//      this program: when the directory is `<program>.runfiles` (the same
//      directory, by device and inode), or when the program was started from
//      inside it (argv[0] is an absolute path under it that is this very
//      executable). Inherited by an unrelated program, they are ignored with
//      a warning. `<program>.runfiles` itself is always searched.
//   3. A file is loaded only if no one but its owner or root could have
//      planted or changed it: the file is not world-writable, and no
//      directory on the way to it (symbolic links followed, each link's own
//      directory checked too) is world-writable, except a sticky directory
//      (like /tmp) owned by root or by this process's user whose entry is
//      owned by root or by this process's user. Group-writable places are
//      the administrator's choice and are accepted.
//
//   PluginSearchPlan plan = PluginSearchPlan::For(
//       "acme.backends.rocks", {"/opt/acme/plugins"});
//   for (const std::string& dir : plan.directories) { ... }
//   absl::StatusOr<std::string> real = TrustedPluginFile(dir + "/x.so");

#ifndef CACHE_ALCHEMY_CORE_PLUGIN_LOCATION_H_
#define CACHE_ALCHEMY_CORE_PLUGIN_LOCATION_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace cache_alchemy {

// The directories searched for one module, in order, and what was left out.
struct PluginSearchPlan {
  // Absolute, without repeats, in search order:
  //   1. the absolute entries of `plugin_path`;
  //   2. the directory of the running executable;
  //   3. in each runfiles root of this program (rule 2 above), for module
  //      `x.y.<leaf>`: `<workspace>/backends/<leaf>` and
  //      `<workspace>/plugins/<leaf>` of every workspace in it;
  //   4. the install directory, if the library was built with
  //      CACHE_ALCHEMY_PLUGIN_INSTALL_DIR (an absolute path).
  std::vector<std::string> directories;
  // One line per entry or variable left out, saying why (for warnings and
  // error messages).
  std::vector<std::string> ignored;

  // Thread-safe (reads the environment and /proc/self).
  static PluginSearchPlan For(const std::string& module,
                              const std::vector<std::string>& plugin_path);
};

// The install directory compiled in (CACHE_ALCHEMY_PLUGIN_INSTALL_DIR), or ""
// when the library was built without one.
const char* PluginInstallDirectory();

// Checks rule 3 for the absolute `path` and returns its real path (symbolic
// links resolved), which is the file to load. PermissionDenied naming the
// world-writable file or directory; NotFound if a component is missing;
// InvalidArgument for a relative path, a symbolic-link loop or a path that
// is not a regular file. Thread-safe.
absl::StatusOr<std::string> TrustedPluginFile(const std::string& path);

}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_PLUGIN_LOCATION_H_
