// Where plugins are loaded from, and which files are trusted.

#include "core/plugin_location.h"

#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <iterator>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace cache_alchemy {
namespace {

// Symbolic links followed at most while checking one path (the kernel's
// limit for one lookup).
constexpr int kMaxSymlinks = 40;

std::string Errno(int error) { return std::strerror(error); }

// The running executable, resolved (the kernel's own answer); "" if unknown.
std::string ExecutablePath() {
  std::string buf(PATH_MAX, '\0');
  const ssize_t n = readlink("/proc/self/exe", buf.data(), buf.size());
  if (n <= 0 || static_cast<size_t>(n) >= buf.size()) return "";
  buf.resize(static_cast<size_t>(n));
  return buf;
}

// argv[0] of this process, as given to exec; "" if unknown.
std::string ProgramArgv0() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string argv0;
  std::getline(in, argv0, '\0');
  return argv0;
}

bool SameFile(const std::string& a, const std::string& b) {
  struct stat sa {
  }, sb{};
  return stat(a.c_str(), &sa) == 0 && stat(b.c_str(), &sb) == 0 &&
         sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

bool IsDirectory(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// `path` with "." and ".." resolved lexically and repeated '/' removed.
std::string LexicallyNormal(absl::string_view path) {
  std::vector<absl::string_view> parts;
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  std::string out;
  for (absl::string_view part : parts) absl::StrAppend(&out, "/", part);
  return out.empty() ? "/" : out;
}

// Whether this program was started from inside `root`: its argv[0] is an
// absolute path under `root` that is this very executable.
bool StartedFromInside(const std::string& root, const std::string& exe) {
  const std::string argv0 = ProgramArgv0();
  if (argv0.empty() || argv0[0] != '/') return false;
  const std::string normal_root = LexicallyNormal(root);
  const std::string normal_argv0 = LexicallyNormal(argv0);
  return absl::StartsWith(normal_argv0, normal_root + "/") &&
         SameFile(argv0, exe);
}

// The runfiles roots of this program (rule 2 of plugin_location.h).
std::vector<std::string> RunfilesRoots(std::vector<std::string>* ignored) {
  std::vector<std::string> roots;
  const std::string exe = ExecutablePath();
  const std::string own = exe.empty() ? "" : exe + ".runfiles";
  if (!own.empty() && IsDirectory(own)) roots.push_back(own);
  for (const char* var : {"RUNFILES_DIR", "TEST_SRCDIR"}) {
    const char* value = std::getenv(var);
    if (value == nullptr || *value == '\0') continue;
    const std::string dir = value;
    if (!IsDirectory(dir)) continue;  // nothing to search there anyway
    if (!own.empty() && SameFile(dir, own)) continue;  // already searched
    if (dir[0] == '/' && !exe.empty() && StartedFromInside(dir, exe)) {
      roots.push_back(dir);
      continue;
    }
    ignored->push_back(absl::StrCat(
        "$", var, "=", dir, " (not this program's runfiles: neither ",
        own.empty() ? "?" : own, " nor a tree this program was started from)"));
  }
  return roots;
}

// The workspace folders of a runfiles root (the main repository and the
// external ones), sorted.
std::vector<std::string> Workspaces(const std::string& root) {
  std::vector<std::string> names;
  DIR* dir = opendir(root.c_str());
  if (dir == nullptr) return names;
  while (const dirent* entry = readdir(dir)) {
    const std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    if (IsDirectory(root + "/" + name)) names.push_back(name);
  }
  closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

// Why the directory `dir` (with status `dir_st`) may not hold `entry` (with
// lstat status `entry_st`), or "" if it may.
std::string UnsafeDirectory(const std::string& dir, const struct stat& dir_st,
                            const std::string& entry,
                            const struct stat& entry_st) {
  if ((dir_st.st_mode & S_IWOTH) == 0) return "";
  const uid_t me = geteuid();
  const bool sticky = (dir_st.st_mode & S_ISVTX) != 0;
  const bool dir_owner_ok = dir_st.st_uid == 0 || dir_st.st_uid == me;
  const bool entry_owner_ok = entry_st.st_uid == 0 || entry_st.st_uid == me;
  if (sticky && dir_owner_ok && entry_owner_ok) return "";
  if (sticky && dir_owner_ok) {
    return absl::StrCat(
        entry, " lies in the world-writable (sticky) directory ", dir,
        " and is owned by uid ", entry_st.st_uid,
        ", neither root nor this process's user: anyone could have planted it");
  }
  return absl::StrCat("the directory ", dir,
                      " is world-writable: anyone could have planted or "
                      "replaced what lies below it");
}

}  // namespace

const char* PluginInstallDirectory() {
#ifdef CACHE_ALCHEMY_PLUGIN_INSTALL_DIR
  static_assert(CACHE_ALCHEMY_PLUGIN_INSTALL_DIR[0] == '/',
                "CACHE_ALCHEMY_PLUGIN_INSTALL_DIR must be an absolute path");
  return CACHE_ALCHEMY_PLUGIN_INSTALL_DIR;
#else
  return "";
#endif
}

PluginSearchPlan PluginSearchPlan::For(
    const std::string& module, const std::vector<std::string>& plugin_path) {
  PluginSearchPlan plan;
  std::vector<std::string> dirs;
  for (const std::string& entry : plugin_path) {
    if (entry.empty()) {
      plan.ignored.push_back(
          "an empty entry of CACHE_ALCHEMY_PLUGIN_PATH (it would mean the "
          "current directory)");
    } else if (entry[0] != '/') {
      plan.ignored.push_back(absl::StrCat(
          "the relative entry '", entry,
          "' of CACHE_ALCHEMY_PLUGIN_PATH (it would depend on the current "
          "directory; give an absolute path)"));
    } else {
      dirs.push_back(entry);
    }
  }
  const std::string exe = ExecutablePath();
  if (!exe.empty()) dirs.push_back(exe.substr(0, exe.rfind('/')));
  const std::string leaf = module.substr(module.rfind('.') + 1);
  for (const std::string& root : RunfilesRoots(&plan.ignored)) {
    for (const std::string& workspace : Workspaces(root)) {
      for (const char* tree : {"backends", "plugins"}) {
        dirs.push_back(
            absl::StrCat(root, "/", workspace, "/", tree, "/", leaf));
      }
    }
  }
  if (const char* install = PluginInstallDirectory(); *install != '\0') {
    dirs.push_back(install);
  }
  for (std::string& dir : dirs) {
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    bool seen = false;
    for (const std::string& kept : plan.directories) seen = seen || kept == dir;
    if (!seen) plan.directories.push_back(std::move(dir));
  }
  return plan;
}

absl::StatusOr<std::string> TrustedPluginFile(const std::string& path) {
  if (path.empty() || path[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not an absolute path"));
  }
  std::deque<std::string> todo;
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    todo.emplace_back(part);
  }
  std::string current = "/";  // resolved: a real directory
  struct stat current_st {};
  if (stat("/", &current_st) != 0) {
    return absl::NotFoundError(absl::StrCat("/: ", Errno(errno)));
  }
  int links = 0;
  while (!todo.empty()) {
    const std::string part = std::move(todo.front());
    todo.pop_front();
    if (part == ".") continue;
    if (part == "..") {
      current = current.substr(0, current.rfind('/'));
      if (current.empty()) current = "/";
      if (stat(current.c_str(), &current_st) != 0) {
        return absl::NotFoundError(absl::StrCat(current, ": ", Errno(errno)));
      }
      continue;
    }
    const std::string next =
        current == "/" ? "/" + part : absl::StrCat(current, "/", part);
    struct stat st {};
    if (lstat(next.c_str(), &st) != 0) {
      const int error = errno;
      return absl::NotFoundError(absl::StrCat(next, ": ", Errno(error)));
    }
    if (std::string why = UnsafeDirectory(current, current_st, next, st);
        !why.empty()) {
      return absl::PermissionDeniedError(
          absl::StrCat("refused ", path, ": ", why));
    }
    if (S_ISLNK(st.st_mode)) {
      if (++links > kMaxSymlinks) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ": too many symbolic links"));
      }
      std::string target(PATH_MAX, '\0');
      const ssize_t n = readlink(next.c_str(), target.data(), target.size());
      if (n <= 0 || static_cast<size_t>(n) >= target.size()) {
        return absl::NotFoundError(
            absl::StrCat(next, ": unreadable symbolic link"));
      }
      target.resize(static_cast<size_t>(n));
      std::vector<std::string> parts =
          absl::StrSplit(target, '/', absl::SkipEmpty());
      todo.insert(todo.begin(), parts.begin(), parts.end());
      if (target[0] == '/') {
        current = "/";
        if (stat("/", &current_st) != 0) {
          return absl::NotFoundError(absl::StrCat("/: ", Errno(errno)));
        }
      }
      continue;
    }
    if (todo.empty()) {  // the file itself
      if (!S_ISREG(st.st_mode)) {
        return absl::InvalidArgumentError(
            absl::StrCat(next, ": not a regular file"));
      }
      if ((st.st_mode & S_IWOTH) != 0) {
        return absl::PermissionDeniedError(absl::StrCat(
            "refused ", path, ": the file ", next,
            " is world-writable: anyone could have replaced its code"));
      }
      return next;
    }
    if (!S_ISDIR(st.st_mode)) {
      return absl::NotFoundError(absl::StrCat(next, ": not a directory"));
    }
    current = next;
    current_st = st;
  }
  return absl::InvalidArgumentError(absl::StrCat(path, ": names a directory"));
}

}  // namespace cache_alchemy
