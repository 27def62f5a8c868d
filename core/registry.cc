// Plugin loading with Boost.DLL, after the checks of core/plugin_location.h
// and core/plugin_elf.h.

#include "core/registry.h"

#include <unistd.h>

#include <boost/dll/library_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <boost/system/system_error.hpp>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/errors.h"
#include "core/log.h"
#include "core/plugin_elf.h"
#include "core/plugin_location.h"

namespace cache_alchemy {
namespace {

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

// The dynamic loader's own text in Boost.DLL's message "...load() failed
// (dlerror system message: <text>): Bad file descriptor".
std::string LoaderText(const std::string& boost_message) {
  const std::string kMarker = "dlerror system message: ";
  const size_t start = boost_message.find(kMarker);
  const size_t end = boost_message.rfind(')');
  if (start == std::string::npos || end == std::string::npos ||
      end < start + kMarker.size()) {
    return boost_message;
  }
  return boost_message.substr(start + kMarker.size(),
                              end - start - kMarker.size());
}

// "not a plugin" or "no such class", from the classes the file exports.
absl::Status MissingClass(const std::string& path,
                          const std::string& class_name,
                          const std::vector<std::string>& exported) {
  std::vector<std::string> classes;
  for (const std::string& s : exported) {
    classes.push_back(s.substr(kSymbolPrefix.size()));
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

absl::Status CheckAbi(const std::string& path, const std::string& class_name,
                      int32_t abi_version, int32_t stdlib_abi_tag) {
  if (abi_version != kPluginAbiVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, ": class '", class_name, "' was built for plugin ABI version ",
        abi_version, " but this program uses version ", kPluginAbiVersion,
        "; rebuild the plugin against this cache_alchemy"));
  }
  if (stdlib_abi_tag != kStdlibAbiTag) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, ": class '", class_name,
                     "' was built with another C++ standard library ABI (tag ",
                     stdlib_abi_tag, ", this program ", kStdlibAbiTag, ")"));
  }
  return absl::OkStatus();
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
  return PluginSearchPlan::For(module, plugin_path).directories;
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
  const PluginSearchPlan plan = PluginSearchPlan::For(module, plugin_path);
  for (const std::string& note : plan.ignored) {
    internal::Log(
        LogLevel::kWarning,
        absl::StrCat("plugin search for '", dotted_name, "' ignores ", note),
        {}, dotted_name);
  }
  std::vector<std::string> searched;
  std::vector<std::string> problems;
  for (const std::string& dir : plan.directories) {
    const std::string path = absl::StrCat(dir, "/", file);
    searched.push_back(path);
    if (access(path.c_str(), F_OK) != 0) continue;
    absl::StatusOr<std::shared_ptr<Backend>> backend =
        LoadFrom(path, class_name);
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
    return *std::move(backend);
  }
  if (problems.empty()) {
    problems.push_back(absl::StrCat("no file named ", file, " was found"));
  }
  std::string ignored;
  if (!plan.ignored.empty()) {
    ignored =
        absl::StrCat(" Ignored: ", absl::StrJoin(plan.ignored, "; "), ".");
  }
  throw BackendNotFoundError(absl::StrCat(
      "backend '", dotted_name, "' (class '", class_name, "' of module '",
      module, "') could not be loaded: ", absl::StrJoin(problems, "; "),
      ". Searched: ", absl::StrJoin(searched, ", "), ".", ignored, " Put ",
      file,
      " in an absolute directory listed in CACHE_ALCHEMY_PLUGIN_PATH "
      "(':'-separated)."));
}

absl::StatusOr<std::shared_ptr<Backend>> BackendRegistry::LoadFrom(
    const std::string& path, const std::string& class_name) {
  absl::StatusOr<std::string> real = TrustedPluginFile(path);
  if (!real.ok()) {
    if (absl::IsPermissionDenied(real.status())) {
      internal::Log(LogLevel::kWarning, std::string(real.status().message()));
    }
    return real.status();
  }
  const std::string symbol = absl::StrCat(kSymbolPrefix, class_name);
  // Before dlopen runs any of its code: is it a plugin, does it have the
  // class, was the class built for this ABI?
  if (kPluginElfSupported) {
    absl::StatusOr<PluginElf> elf = PluginElf::Open(*real, path);
    if (!elf.ok()) return elf.status();
    const std::vector<std::string> exported = elf->ExportsWithPrefix(
        std::string_view(kSymbolPrefix.data(), kSymbolPrefix.size()));
    bool has_class = false;
    for (const std::string& s : exported) has_class = has_class || s == symbol;
    if (!has_class) return MissingClass(path, class_name, exported);
    absl::StatusOr<PluginAbi> abi = elf->ReadAbi(symbol);
    if (!abi.ok()) return abi.status();
    if (absl::Status s =
            CheckAbi(path, class_name, abi->abi_version, abi->stdlib_abi_tag);
        !s.ok()) {
      return s;
    }
  }
  absl::StatusOr<Library> library = LoadLibrary(*real);
  if (!library.ok()) return library.status();
  if (!(*library)->has(symbol)) {  // without the ELF pre-check only
    std::vector<std::string> exported;
    try {
      for (const std::string& s : boost::dll::library_info(*real).symbols()) {
        if (absl::StartsWith(s, kSymbolPrefix)) exported.push_back(s);
      }
    } catch (const std::exception&) {
    }
    return MissingClass(path, class_name, exported);
  }
  const BackendDescriptor& descriptor =
      (*library)->get_alias<const BackendDescriptor>(symbol);
  // Read again from memory (the check that counts where there is no ELF
  // pre-check) before calling anything in the plugin.
  if (absl::Status s = CheckAbi(path, class_name, descriptor.abi_version,
                                descriptor.stdlib_abi_tag);
      !s.ok()) {
    return s;
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
  Library keep = *library;
  return std::shared_ptr<Backend>(raw, [keep](Backend* b) { delete b; });
}

absl::StatusOr<BackendRegistry::Library> BackendRegistry::LoadLibrary(
    const std::string& real_path) {
  if (auto it = libraries_.find(real_path); it != libraries_.end()) {
    return it->second;
  }
  auto library = std::make_shared<boost::dll::shared_library>();
  try {
    // RTLD_LOCAL keeps each plugin's symbols to itself; RTLD_NOW reports a
    // missing symbol or library here rather than at the first call.
    library->load(real_path, boost::dll::load_mode::rtld_local |
                                 boost::dll::load_mode::rtld_now);
  } catch (const boost::system::system_error& e) {
    return absl::FailedPreconditionError(absl::StrCat(
        real_path, ": the dynamic loader refused it: ", LoaderText(e.what())));
  }
  if (!library->is_loaded()) {
    return absl::FailedPreconditionError(
        absl::StrCat(real_path, ": the dynamic loader refused it"));
  }
  libraries_[real_path] = library;
  return library;
}

}  // namespace cache_alchemy
