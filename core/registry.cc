// Plugin loading with Boost.DLL.

#include "core/registry.h"

#include <boost/dll/library_info.hpp>
#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <boost/filesystem.hpp>
#include <boost/system/system_error.hpp>
#include <cstdlib>
#include <system_error>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/errors.h"
#include "core/log.h"

namespace cache_alchemy {
namespace {

namespace fs = boost::filesystem;

constexpr absl::string_view kSymbolPrefix = "cache_alchemy_backend_";

bool IsIdentifier(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!(absl::ascii_isalnum(c) || c == '_')) return false;
  }
  return true;
}

// Splits "a.b.c.ClassName" into module "a.b.c" and class "ClassName".
absl::Status SplitDottedName(const std::string& dotted, std::string* module,
                             std::string* class_name) {
  std::vector<std::string> parts = absl::StrSplit(dotted, '.');
  if (parts.size() < 2) {
    return absl::InvalidArgumentError(
        "a backend name is 'module.path.ClassName' (at least one dot)");
  }
  for (const auto& part : parts) {
    if (!IsIdentifier(part)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "component '", part,
          "' is not an identifier (letters, digits, underscores)"));
    }
  }
  *class_name = parts.back();
  parts.pop_back();
  *module = absl::StrJoin(parts, ".");
  return absl::OkStatus();
}

// The roots of the running program's Bazel runfiles trees.
std::vector<fs::path> RunfilesRoots() {
  std::vector<fs::path> roots;
  for (const char* var : {"RUNFILES_DIR", "TEST_SRCDIR"}) {
    if (const char* dir = std::getenv(var); dir != nullptr && *dir != '\0') {
      roots.emplace_back(dir);
    }
  }
  boost::system::error_code ec;
  fs::path exe = boost::dll::program_location(ec);
  if (!ec) roots.push_back(fs::path(exe.string() + ".runfiles"));
  return roots;
}

// The dynamic loader's own text in Boost.DLL's message "...load() failed
// (dlerror system message: <text>): Bad file descriptor".
std::string LoaderText(const std::string& boost_message) {
  const std::string marker = "dlerror system message: ";
  const size_t start = boost_message.find(marker);
  const size_t end = boost_message.rfind(')');
  if (start == std::string::npos || end == std::string::npos ||
      end < start + marker.size()) {
    return boost_message;
  }
  return boost_message.substr(start + marker.size(),
                              end - start - marker.size());
}

}  // namespace

BackendRegistry& BackendRegistry::Global() {
  static BackendRegistry* const registry = new BackendRegistry();
  return *registry;
}

BackendRegistry::BackendRegistry() = default;
BackendRegistry::~BackendRegistry() = default;

std::vector<std::string> BackendRegistry::SearchDirectories(
    const std::string& module, const std::vector<std::string>& plugin_path) {
  std::vector<std::string> dirs(plugin_path.begin(), plugin_path.end());
  boost::system::error_code ec;
  fs::path exe = boost::dll::program_location(ec);
  if (!ec) dirs.push_back(exe.parent_path().string());
  const std::string leaf = module.substr(module.rfind('.') + 1);
  for (const fs::path& root : RunfilesRoots()) {
    if (!fs::is_directory(root, ec)) continue;
    // One folder per workspace (the main one and external repositories).
    for (fs::directory_iterator it(root, ec), end; !ec && it != end;
         it.increment(ec)) {
      if (!fs::is_directory(it->path(), ec)) continue;
      for (const char* tree : {"backends", "plugins"}) {
        dirs.push_back((it->path() / tree / leaf).string());
      }
    }
  }
  // Drop repeats, keeping the first occurrence.
  std::vector<std::string> unique;
  for (auto& dir : dirs) {
    bool seen = false;
    for (const auto& u : unique) seen = seen || u == dir;
    if (!seen) unique.push_back(std::move(dir));
  }
  return unique;
}

std::shared_ptr<Backend> BackendRegistry::Get(
    const std::string& dotted_name,
    const std::vector<std::string>& plugin_path) {
  absl::MutexLock lock(&mu_);
  if (auto it = backends_.find(dotted_name); it != backends_.end()) {
    return it->second;
  }
  std::string module, class_name;
  if (absl::Status s = SplitDottedName(dotted_name, &module, &class_name);
      !s.ok()) {
    throw BackendNotFoundError(absl::StrCat("backend '", dotted_name,
                                            "' is malformed: ", s.message()));
  }
  const std::string file = module + ".so";
  std::vector<std::string> searched;
  std::vector<std::string> problems;
  for (const std::string& dir : SearchDirectories(module, plugin_path)) {
    const std::string path = (fs::path(dir) / file).string();
    searched.push_back(path);
    boost::system::error_code ec;
    if (!fs::exists(path, ec)) continue;
    absl::StatusOr<Library> library = LoadLibrary(path);
    if (!library.ok()) {
      problems.push_back(std::string(library.status().message()));
      continue;
    }
    absl::StatusOr<std::shared_ptr<Backend>> backend =
        MakeBackend(*library, path, class_name);
    if (!backend.ok()) {
      problems.push_back(std::string(backend.status().message()));
      continue;
    }
    if (!problems.empty()) {
      internal::Log(
          LogLevel::kWarning,
          absl::StrCat("backend '", dotted_name, "' loaded from ", path,
                       " after skipping: ", absl::StrJoin(problems, "; ")),
          {}, dotted_name);
    }
    backends_[dotted_name] = *backend;
    return *backend;
  }
  if (problems.empty()) {
    problems.push_back(absl::StrCat("no file named ", file, " was found"));
  }
  throw BackendNotFoundError(absl::StrCat(
      "backend '", dotted_name, "' (class '", class_name, "' of module '",
      module, "') could not be loaded: ", absl::StrJoin(problems, "; "),
      ". Searched: ", absl::StrJoin(searched, ", "), ". Put ", file,
      " in a directory listed in CACHE_ALCHEMY_PLUGIN_PATH (':'-separated)."));
}

absl::StatusOr<BackendRegistry::Library> BackendRegistry::LoadLibrary(
    const std::string& path) {
  if (auto it = libraries_.find(path); it != libraries_.end()) {
    return it->second;
  }
  auto library = std::make_shared<boost::dll::shared_library>();
  try {
    // RTLD_LOCAL keeps each plugin's symbols to itself; RTLD_NOW reports a
    // missing symbol or library here rather than at the first call. The
    // throwing overload is the one whose message has dlerror()'s text (the
    // error_code one says only "Bad file descriptor").
    library->load(path, boost::dll::load_mode::rtld_local |
                            boost::dll::load_mode::rtld_now);
  } catch (const boost::system::system_error& e) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, ": the dynamic loader refused it: ", LoaderText(e.what())));
  }
  if (!library->is_loaded()) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": the dynamic loader refused it"));
  }
  libraries_[path] = library;
  return library;
}

absl::StatusOr<std::shared_ptr<Backend>> BackendRegistry::MakeBackend(
    const Library& library, const std::string& path,
    const std::string& class_name) {
  const std::string symbol = absl::StrCat(kSymbolPrefix, class_name);
  if (!library->has(symbol)) {
    // Tell "not a plugin" from "no such class" by what the library exports.
    std::vector<std::string> classes;
    try {
      boost::dll::library_info info(path);
      for (const std::string& s : info.symbols()) {
        if (absl::StartsWith(s, kSymbolPrefix)) {
          classes.push_back(s.substr(kSymbolPrefix.size()));
        }
      }
    } catch (const std::exception&) {
    }
    if (classes.empty()) {
      return absl::NotFoundError(
          absl::StrCat(path, " is not a cache_alchemy plugin (it exports no ",
                       kSymbolPrefix, "* symbol)"));
    }
    return absl::NotFoundError(
        absl::StrCat(path, " has no class '", class_name,
                     "'; it exports: ", absl::StrJoin(classes, ", ")));
  }
  const BackendDescriptor& descriptor =
      library->get_alias<const BackendDescriptor>(symbol);
  // Read the version before calling anything in the plugin.
  if (descriptor.abi_version != kPluginAbiVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, ": class '", class_name, "' was built for plugin ABI version ",
        descriptor.abi_version, " but this program uses version ",
        kPluginAbiVersion, "; rebuild the plugin against this cache_alchemy"));
  }
  if (descriptor.stdlib_abi_tag != kStdlibAbiTag) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, ": class '", class_name,
        "' was built with another C++ standard library ABI (tag ",
        descriptor.stdlib_abi_tag, ", this program ", kStdlibAbiTag, ")"));
  }
  if (descriptor.create == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": class '", class_name, "' has no factory"));
  }
  Backend* raw = nullptr;
  try {
    raw = descriptor.create();
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(path, ": the factory of '",
                                            class_name, "' threw: ", e.what()));
  } catch (...) {
    return absl::InternalError(absl::StrCat(
        path, ": the factory of '", class_name, "' threw a non-std exception"));
  }
  if (raw == nullptr) {
    return absl::InternalError(absl::StrCat(path, ": the factory of '",
                                            class_name, "' returned null"));
  }
  // The deleter holds the library: it stays loaded while the backend lives.
  Library keep = library;
  return std::shared_ptr<Backend>(raw, [keep](Backend* b) { delete b; });
}

}  // namespace cache_alchemy
