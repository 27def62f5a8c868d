// The operator CLI: commands, flags (Abseil), exit codes.

#include "tools/cli.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <istream>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "cache_alchemy/cache_alchemy.h"
#include "core/registry.h"
#include "tools/metrics_scrape.h"
#include "tools/redact_url.h"
#include "tools/redis_layout.h"

ABSL_FLAG(std::string, prefix, "",
          "the key prefix (tenant) to act on; empty: the config's "
          "CACHE_ALCHEMY_CACHE_KEY_PREFIX (stats --from: every prefix)");
ABSL_FLAG(bool, yes, false,
          "flush without asking for confirmation (needed when stdin is not "
          "a terminal)");
ABSL_FLAG(std::string, config_file, "",
          "the JSON config file to read; empty: the file named by "
          "$CACHE_ALCHEMY_CONFIG_FILE, if set");
ABSL_FLAG(bool, verbose, false,
          "also print what the library logs (backend failures, plugin "
          "problems) to stderr, as `cache_alchemy: log: LEVEL: ...` lines");
ABSL_FLAG(bool, raw, false,
          "print each whole Redis key (to paste into redis-cli) instead of "
          "the function id and the entry's key");
ABSL_FLAG(std::string, from, "",
          "the metrics URL of a running process "
          "(http://host:port/metrics, see ca::metrics::StartHttpExporter): "
          "print that process's counters per backend");

namespace cache_alchemy {
namespace tools {
namespace {

constexpr char kProgram[] = "cache_alchemy";
constexpr size_t kAnyNumber = static_cast<size_t>(-1);
constexpr absl::Duration kScrapeTimeout = absl::Seconds(5);

// Every flag of the CLI; each command accepts config_file and its own.
const std::vector<std::string>& AllFlags() {
  static const auto* flags = new std::vector<std::string>{
      "prefix", "yes", "config_file", "verbose", "raw", "from"};
  return *flags;
}

// Errors that choose the exit code; every other exception is a runtime
// error (1).
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct NotConfirmed : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct ConfigProblem : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Context {
  std::istream& in;
  bool in_is_terminal;
  std::ostream& out;
  std::ostream& err;
  std::unique_ptr<config::DefaultConfig> config;
};

struct Command {
  const char* name;
  const char* arguments;  // synopsis of the positional arguments
  const char* summary;    // one line
  const char* details;    // paragraphs for --help
  std::vector<std::string> flags;
  size_t min_args;
  size_t max_args;
  int (*run)(Context& ctx, const std::vector<std::string>& args);
};

const std::vector<Command>& Commands();

// --- Shared steps -------------------------------------------------------

void LoadConfig(Context& ctx) {
  config::ConfigOptions options;
  options.config_file = absl::GetFlag(FLAGS_config_file);
  ctx.config = std::make_unique<config::DefaultConfig>(config::Overrides{},
                                                       std::move(options));
}

std::string Prefix(const Context& ctx) {
  const std::string flag = absl::GetFlag(FLAGS_prefix);
  return flag.empty() ? ctx.config->get<std::string>(config::kCacheKeyPrefixKey)
                      : flag;
}

// The dotted name of BACKEND (a family alias or a dotted name).
std::string BackendName(const Context& ctx, const std::string& arg) {
  if (arg == "json")
    return ctx.config->get<std::string>(config::kJsonBackendKey);
  if (arg == "pickle") {
    return ctx.config->get<std::string>(config::kPickleBackendKey);
  }
  if (arg == "memory") {
    return ctx.config->get<std::string>(config::kMemoryBackendKey);
  }
  if (arg.find('.') == std::string::npos) {
    throw UsageError(absl::StrCat(
        "backend '", arg,
        "' is neither a dotted name (e.g. "
        "cache_alchemy.backends.json.DistributedJsonCache) nor one of json, "
        "pickle, memory"));
  }
  return arg;
}

void ConnectRedis(Context& ctx) {
  if (ctx.config->cache_redis_client != nullptr) return;
  const std::string url = ctx.config->get<std::string>(config::kRedisUrlKey);
  try {
    ctx.config->cache_redis_client = RedisClient::FromUrl(url);
  } catch (const std::invalid_argument& e) {
    throw ConfigProblem(absl::StrCat(config::kRedisUrlKey, " (from ",
                                     ctx.config->source(config::kRedisUrlKey),
                                     ") is not a Redis URL: ", e.what()));
  }
}

struct Loaded {
  std::string name;
  std::shared_ptr<Backend> backend;

  bool in_process() const {
    return (backend->requirements() & Backend::kRequiresStableName) == 0;
  }
  // The built-in Redis backends, whose key layout docs/redis.md fixes.
  bool redis_layout() const {
    return (backend->requirements() & Backend::kRequiresRedis) != 0 &&
           backend->key_format() == KeyFormat::kText &&
           absl::StartsWith(name, "cache_alchemy.backends.");
  }
  std::string class_name() const { return name.substr(name.rfind('.') + 1); }
};

// Loads BACKEND from the plugin search path (BackendNotFoundError when it
// cannot) and connects Redis if it needs it.
Loaded Load(Context& ctx, const std::string& arg) {
  Loaded loaded;
  loaded.name = BackendName(ctx, arg);
  loaded.backend = BackendRegistry::Global().Get(
      loaded.name,
      ctx.config->get<std::vector<std::string>>(config::kPluginPathKey));
  if ((loaded.backend->requirements() & Backend::kRequiresRedis) != 0) {
    ConnectRedis(ctx);
  }
  return loaded;
}

void RequireShared(const Loaded& b, const char* command) {
  if (!b.in_process()) return;
  throw UsageError(absl::StrCat(
      command, ": ", b.name,
      " keeps its entries inside each process that uses it, so this separate "
      "process cannot see or remove them; act from inside that process "
      "(ca::flush_cache), or read its counters with `",
      kProgram, " stats --from=URL` (ca::metrics::StartHttpExporter)"));
}

std::string Quoted(const std::string& text) {
  return absl::StrCat("\"", text, "\"");
}

// --- config ---------------------------------------------------------------

int RunConfig(Context& ctx, const std::vector<std::string>&) {
  const std::string flag_file = absl::GetFlag(FLAGS_config_file);
  const char* env_file = std::getenv(config::kConfigFileEnv);
  if (!flag_file.empty()) {
    ctx.out << "# config file: " << flag_file << " (--config_file)\n";
  } else if (env_file != nullptr && *env_file != '\0') {
    ctx.out << "# config file: " << env_file << " ($" << config::kConfigFileEnv
            << ")\n";
  } else {
    ctx.out << "# config file: none (set $" << config::kConfigFileEnv
            << " or --config_file)\n";
  }
  size_t width = 0;
  for (const std::string& key : ctx.config->keys()) {
    width = std::max(width, key.size());
  }
  for (const std::string& key : ctx.config->keys()) {
    ctx.out << absl::StrFormat(
        "%-*s = %s  [%s]\n", static_cast<int>(width), key,
        RedactUrlPasswords(config::FormatValue(ctx.config->value(key))),
        ctx.config->source(key));
  }
  // Where each family's backend plugin is looked for (to debug loading).
  std::set<std::string> modules;
  for (const char* key : {config::kMemoryBackendKey, config::kJsonBackendKey,
                          config::kPickleBackendKey}) {
    const std::string name = ctx.config->get<std::string>(key);
    modules.insert(name.substr(0, name.rfind('.')));
  }
  for (const std::string& module : modules) {
    ctx.out << "# " << module << ".so is looked for in: "
            << absl::StrJoin(
                   BackendRegistry::SearchDirectories(
                       module, ctx.config->get<std::vector<std::string>>(
                                   config::kPluginPathKey)),
                   ", ")
            << "\n";
  }
  return kExitOk;
}

// --- namespaces -----------------------------------------------------------

int RunNamespaces(Context& ctx, const std::vector<std::string>& args) {
  const Loaded b = Load(ctx, args[0]);
  RequireShared(b, "namespaces");
  for (const std::string& name : get_all_namespace(b.name, Prefix(ctx))) {
    ctx.out << name << "\n";
  }
  return kExitOk;
}

// --- flush ----------------------------------------------------------------

void Confirm(Context& ctx, const Loaded& b, const std::string& prefix) {
  if (absl::GetFlag(FLAGS_yes)) return;
  if (!ctx.in_is_terminal) {
    throw NotConfirmed(
        "flush: refusing to delete without confirmation: stdin is not a "
        "terminal; pass --yes to flush without asking");
  }
  const std::set<std::string> names = get_all_namespace(b.name, prefix);
  std::vector<std::string> shown(names.begin(), names.end());
  if (shown.size() > 10) {
    const size_t more = shown.size() - 10;
    shown.resize(10);
    shown.push_back(absl::StrCat("and ", more, " more"));
  }
  ctx.err << "Flush every entry of " << b.name << " under prefix "
          << Quoted(prefix) << " (" << names.size() << " function"
          << (names.size() == 1 ? "" : "s")
          << (names.empty() ? "" : ": " + absl::StrJoin(shown, ", "))
          << "), in every process? This cannot be undone. [y/N] " << std::flush;
  std::string answer;
  std::getline(ctx.in, answer);
  answer = absl::AsciiStrToLower(absl::StripAsciiWhitespace(answer));
  if (answer != "y" && answer != "yes") {
    throw NotConfirmed("flush: not confirmed; nothing was removed");
  }
}

int RunFlush(Context& ctx, const std::vector<std::string>& args) {
  const Loaded b = Load(ctx, args[0]);
  RequireShared(b, "flush");
  const std::string prefix = Prefix(ctx);
  Confirm(ctx, b, prefix);
  const int64_t removed = flush_cache(b.name, prefix);
  ctx.out << removed << " entries removed\n";
  return kExitOk;
}

// --- keys -----------------------------------------------------------------

int RunKeys(Context& ctx, const std::vector<std::string>& args) {
  const Loaded b = Load(ctx, args[0]);
  RequireShared(b, "keys");
  if (!b.redis_layout()) {
    throw UsageError(absl::StrCat(
        "keys: ", b.name,
        " does not keep its keys in the documented Redis layout "
        "(docs/redis.md); only the built-in Redis backends can be listed"));
  }
  const std::string prefix = Prefix(ctx);
  const std::string& name = args[1];
  std::vector<std::pair<ValueKey, std::string>> found;
  for (std::string& key :
       ScanKeys(*ctx.config->cache_redis_client,
                ValueKeyPattern(prefix, b.class_name(), name))) {
    if (auto parsed = ParseValueKey(key, prefix, b.class_name(), name)) {
      found.emplace_back(std::move(*parsed), std::move(key));
    }
  }
  std::sort(found.begin(), found.end(), [](const auto& x, const auto& y) {
    return std::tie(x.first.id, x.first.key) <
           std::tie(y.first.id, y.first.key);
  });
  const bool raw = absl::GetFlag(FLAGS_raw);
  for (const auto& [key, redis_key] : found) {
    if (raw) {
      ctx.out << redis_key << "\n";
    } else {
      ctx.out << key.id << "\t" << key.key << "\n";
    }
  }
  return kExitOk;
}

// --- stats ----------------------------------------------------------------

// Per-backend sums of a process's metrics (the exporter's text).
struct Totals {
  std::optional<double> functions, hits, misses, errors, puts, entries,
      evictions;
};

void Add(std::optional<double>* total, double value) {
  *total = total->value_or(0) + value;
}

std::string Cell(const std::optional<double>& value) {
  return value.has_value() ? absl::StrCat(static_cast<int64_t>(*value)) : "-";
}

int RunStatsFrom(Context& ctx, const std::vector<std::string>& args,
                 const std::string& url) {
  std::set<std::string> wanted;
  for (const std::string& arg : args) wanted.insert(BackendName(ctx, arg));
  const std::string prefix = absl::GetFlag(FLAGS_prefix);
  absl::StatusOr<std::string> text = HttpGet(url, kScrapeTimeout);
  if (!text.ok())
    throw std::runtime_error(std::string(text.status().message()));
  absl::StatusOr<std::vector<Sample>> samples = ParseExposition(*text);
  if (!samples.ok()) {
    throw std::runtime_error(
        absl::StrCat("GET ", url, ": ", samples.status().message()));
  }
  std::map<std::string, Totals> totals;
  for (const Sample& s : *samples) {
    if (!absl::StartsWith(s.name, "cache_alchemy_")) continue;
    auto backend_label = s.labels.find("backend");
    if (backend_label == s.labels.end()) continue;
    const std::string backend =
        backend_label->second.empty() ? "(uncached)" : backend_label->second;
    if (!wanted.empty() && !wanted.contains(backend)) continue;
    if (auto p = s.labels.find("prefix");
        !prefix.empty() && p != s.labels.end() && p->second != prefix) {
      continue;
    }
    Totals& t = totals[backend];
    if (s.name == "cache_alchemy_gets_total") {
      auto result = s.labels.find("result");
      if (result == s.labels.end()) continue;
      if (result->second == "hit") Add(&t.hits, s.value);
      if (result->second == "miss") Add(&t.misses, s.value);
    } else if (s.name == "cache_alchemy_errors_total") {
      Add(&t.errors, s.value);
    } else if (s.name == "cache_alchemy_puts_total") {
      Add(&t.puts, s.value);
    } else if (s.name == "cache_alchemy_entries") {
      Add(&t.entries, s.value);
    } else if (s.name == "cache_alchemy_functions") {
      Add(&t.functions, s.value);
    } else if (s.name == "cache_alchemy_evictions_total") {
      Add(&t.evictions, s.value);
    }
  }
  ctx.out << "backend\tfunctions\thits\tmisses\thit_ratio\terrors\tputs\t"
             "entries\tevictions\n";
  for (const auto& [backend, t] : totals) {
    const double calls = t.hits.value_or(0) + t.misses.value_or(0);
    ctx.out << backend << "\t" << Cell(t.functions) << "\t" << Cell(t.hits)
            << "\t" << Cell(t.misses) << "\t"
            << (calls > 0 ? absl::StrFormat("%.3f", t.hits.value_or(0) / calls)
                          : "-")
            << "\t" << Cell(t.errors) << "\t" << Cell(t.puts) << "\t"
            << Cell(t.entries) << "\t" << Cell(t.evictions) << "\n";
  }
  return kExitOk;
}

int RunStats(Context& ctx, const std::vector<std::string>& args) {
  const std::string from = absl::GetFlag(FLAGS_from);
  if (!from.empty()) return RunStatsFrom(ctx, args, from);
  std::vector<std::string> backends;
  for (const std::string& arg : args) backends.push_back(BackendName(ctx, arg));
  if (backends.empty()) {
    for (const char* key : {config::kMemoryBackendKey, config::kJsonBackendKey,
                            config::kPickleBackendKey}) {
      const std::string name = ctx.config->get<std::string>(key);
      if (std::find(backends.begin(), backends.end(), name) == backends.end()) {
        backends.push_back(name);
      }
    }
  }
  const std::string prefix = Prefix(ctx);
  ctx.out << "backend\tprefix\tfunctions\tentries\n";
  for (const std::string& name : backends) {
    const Loaded b = Load(ctx, name);
    if (b.in_process()) {
      ctx.out << b.name << "\t" << prefix << "\t-\t-\n";
      ctx.err << kProgram << ": note: " << b.name
              << " keeps its entries in each process; read a process's "
                 "counters with --from=URL\n";
      continue;
    }
    const size_t functions = get_all_namespace(b.name, prefix).size();
    std::string entries = "-";
    if (b.redis_layout()) {
      int64_t count = 0;
      for (const std::string& key :
           ScanKeys(*ctx.config->cache_redis_client,
                    ValueKeyPattern(prefix, b.class_name(), ""))) {
        if (ParseValueKey(key, prefix, b.class_name(), "")) ++count;
      }
      entries = absl::StrCat(count);
    }
    ctx.out << b.name << "\t" << prefix << "\t" << functions << "\t" << entries
            << "\n";
  }
  return kExitOk;
}

// --- help -----------------------------------------------------------------

const Command* FindCommand(const std::string& name) {
  for (const Command& c : Commands()) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

void PrintExitCodes(std::ostream& out) {
  out << "Exit codes: 0 ok; 1 runtime error (backend unreachable or failing); "
         "2 usage error; 3 flush not confirmed; 4 invalid configuration; "
         "5 backend not found.\n";
}

void PrintGeneralHelp(std::ostream& out) {
  out << "Usage: " << kProgram << " COMMAND [ARGS] [FLAGS]\n\n"
      << "Inspects and acts on cache_alchemy caches, with the config and "
         "plugins the library uses\n(defaults, $CACHE_ALCHEMY_CONFIG_FILE, "
         "environment variables named as the keys).\n\nCommands:\n";
  for (const Command& c : Commands()) {
    out << absl::StrFormat("  %-11s %s\n", c.name, c.summary);
  }
  out << "\nBACKEND is a dotted name (cache_alchemy.backends.json."
         "DistributedJsonCache) or json, pickle,\nmemory for the backend the "
         "config gives that family.\n`"
      << kProgram << " COMMAND --help` describes a command.\n";
  PrintExitCodes(out);
}

void PrintCommandHelp(const Command& c, std::ostream& out) {
  std::vector<std::string> flags = c.flags;
  flags.push_back("config_file");
  flags.push_back("verbose");
  out << "Usage: " << kProgram << " " << c.name;
  if (*c.arguments != '\0') out << " " << c.arguments;
  for (const std::string& f : flags) out << " [--" << f << "]";
  out << "\n\n" << c.details << "\n\nFlags:\n";
  for (const std::string& f : flags) {
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(f);
    if (flag == nullptr) continue;
    out << "  --" << f;
    if (!flag->IsOfType<bool>()) out << "=VALUE";
    out << "\n      " << flag->Help() << " (default: "
        << (flag->DefaultValue().empty() ? "\"\"" : flag->DefaultValue())
        << ")\n";
  }
  out << "\n";
  PrintExitCodes(out);
}

int RunHelp(Context& ctx, const std::vector<std::string>& args) {
  if (args.empty()) {
    PrintGeneralHelp(ctx.out);
    return kExitOk;
  }
  const Command* c = FindCommand(args[0]);
  if (c == nullptr) {
    throw UsageError(absl::StrCat("help: unknown command '", args[0], "'"));
  }
  PrintCommandHelp(*c, ctx.out);
  return kExitOk;
}

const std::vector<Command>& Commands() {
  static const auto* commands = new std::vector<Command>{
      {"config",
       "",
       "print the effective config and where each value came from",
       "Prints every key of the config with its effective value and its source "
       "(default,\nfile <path>, env), passwords hidden, then where the "
       "families' backend plugins are\nlooked for.",
       {},
       0,
       0,
       &RunConfig},
      {"namespaces",
       "BACKEND",
       "list the functions that hold entries in BACKEND",
       "Prints the name of every function that holds entries in BACKEND under "
       "the prefix,\none per line (ca::get_all_namespace).",
       {"prefix"},
       1,
       1,
       &RunNamespaces},
      {"keys",
       "BACKEND NAME",
       "list the keys of function NAME in BACKEND",
       "Prints the keys of every entry function NAME holds in BACKEND under "
       "the prefix, one\nper line: the function's id (name@signature), a tab, "
       "and the entry's key as text\n(\"bob\",2). With --raw, the whole "
       "Redis keys instead. Built-in Redis backends only.",
       {"prefix", "raw"},
       2,
       2,
       &RunKeys},
      {"flush",
       "BACKEND",
       "remove every entry of BACKEND under the prefix, in every process",
       "Removes every entry BACKEND holds under the prefix, in every function "
       "(ca::flush_cache),\nand prints how many. With DistributedMemoryCache, "
       "every running process drops its\nlocal copies too. Asks for "
       "confirmation on a terminal unless --yes; refuses\nwithout --yes when "
       "stdin is not a terminal (exit 3).",
       {"prefix", "yes"},
       1,
       1,
       &RunFlush},
      {"stats",
       "[BACKEND...]",
       "print counters per backend",
       "Without --from: per BACKEND (default: the config's json, pickle and "
       "memory backends),\nthe functions that hold entries under the prefix "
       "and their entries (Redis backends),\nas tab-separated columns.\n"
       "With --from=URL: fetches a running process's metrics "
       "(ca::metrics::StartHttpExporter)\nand prints its hits, misses, hit "
       "ratio, errors, puts, entries and evictions per\nbackend, summed over "
       "its functions.",
       {"prefix", "from"},
       0,
       kAnyNumber,
       &RunStats},
      {"help",
       "[COMMAND]",
       "describe the commands, or one command",
       "Describes every command, or COMMAND.",
       {},
       0,
       1,
       &RunHelp},
  };
  return *commands;
}

// --- The command line -----------------------------------------------------

struct CommandLine {
  std::vector<std::string> positional;  // the command, then its arguments
  std::vector<std::pair<std::string, std::string>> flags;  // name, value
  bool help = false;
};

// Splits `args` into positional arguments and `--name[=value]` flags, the
// way Abseil's own parser reads them (`-name` too, `--noname` for a false
// bool, `--name value` for a non-bool, `--` ends the flags). Values are
// parsed by Abseil later.
CommandLine Split(const std::vector<std::string>& args) {
  CommandLine line;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      line.positional.insert(line.positional.end(), args.begin() + i + 1,
                             args.end());
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      line.positional.push_back(arg);
      continue;
    }
    std::string body = arg.substr(arg[1] == '-' ? 2 : 1);
    std::string name = body.substr(0, body.find('='));
    if (name == "help" || name == "h" || name == "helpfull" ||
        name == "helpshort") {
      line.help = true;
      continue;
    }
    const bool known = std::find(AllFlags().begin(), AllFlags().end(), name) !=
                       AllFlags().end();
    if (body.find('=') != std::string::npos) {
      line.flags.emplace_back(name, body.substr(body.find('=') + 1));
    } else if (!known && absl::StartsWith(name, "no") &&
               std::find(AllFlags().begin(), AllFlags().end(),
                         name.substr(2)) != AllFlags().end()) {
      line.flags.emplace_back(name.substr(2), "false");
    } else if (known && absl::FindCommandLineFlag(name)->IsOfType<bool>()) {
      line.flags.emplace_back(name, "true");
    } else if (known) {
      if (i + 1 >= args.size()) {
        throw UsageError(absl::StrCat("flag --", name, " needs a value"));
      }
      line.flags.emplace_back(name, args[++i]);
    } else {
      line.flags.emplace_back(name, "");  // reported as unknown below
    }
  }
  return line;
}

// Resets every flag, then sets those given, checked against `command`.
void ApplyFlags(const CommandLine& line, const Command& command) {
  for (const std::string& name : AllFlags()) {
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    std::string ignored;
    flag->ParseFrom(flag->DefaultValue(), &ignored);
  }
  for (const auto& [name, value] : line.flags) {
    const bool allowed = name == "config_file" || name == "verbose" ||
                         std::find(command.flags.begin(), command.flags.end(),
                                   name) != command.flags.end();
    if (!allowed) {
      const bool exists = std::find(AllFlags().begin(), AllFlags().end(),
                                    name) != AllFlags().end();
      throw UsageError(absl::StrCat(
          exists ? "flag --" : "unknown flag --", name,
          exists ? " does not apply to command '" : " for command '",
          command.name, "' (see ", kProgram, " ", command.name, " --help)"));
    }
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      throw UsageError(absl::StrCat("flag --", name, ": ", error));
    }
  }
}

int Run(Context& ctx, const std::vector<std::string>& args) {
  const CommandLine line = Split(args);
  if (line.positional.empty()) {
    if (line.help) {
      PrintGeneralHelp(ctx.out);
      return kExitOk;
    }
    throw UsageError(
        absl::StrCat("no command given (see ", kProgram, " --help)"));
  }
  const Command* command = FindCommand(line.positional[0]);
  if (command == nullptr) {
    std::vector<std::string> names;
    for (const Command& c : Commands()) names.push_back(c.name);
    throw UsageError(absl::StrCat("unknown command '", line.positional[0],
                                  "'; commands: ", absl::StrJoin(names, ", ")));
  }
  if (line.help) {
    PrintCommandHelp(*command, ctx.out);
    return kExitOk;
  }
  ApplyFlags(line, *command);
  const std::vector<std::string> rest(line.positional.begin() + 1,
                                      line.positional.end());
  if (rest.size() < command->min_args || rest.size() > command->max_args) {
    throw UsageError(absl::StrCat(
        command->name, " takes ",
        *command->arguments == '\0' ? "no arguments" : command->arguments,
        ", got ", rest.size(), " (see ", kProgram, " ", command->name,
        " --help)"));
  }
  if (command->run != &RunHelp) LoadConfig(ctx);
  return command->run(ctx, rest);
}

}  // namespace

int RunCli(const std::vector<std::string>& args, std::istream& in,
           bool in_is_terminal, std::ostream& out, std::ostream& err) {
  Context ctx{in, in_is_terminal, out, err, nullptr};
  int code = kExitRuntimeError;
  std::string message;
  // What the library logs repeats what the command reports (a failed clear
  // both logs and throws): shown only with --verbose, which Run sets.
  SetLogSink([&err](const LogRecord& r) {
    if (!absl::GetFlag(FLAGS_verbose)) return;
    std::string line =
        absl::StrCat(kProgram, ": log: ", LogLevelName(r.level), ": ");
    if (!r.function.empty()) {
      absl::StrAppend(&line, "function '", std::string(r.function), "': ");
    }
    if (!r.backend.empty()) {
      absl::StrAppend(&line, "backend '", std::string(r.backend), "': ");
    }
    absl::StrAppend(&line, std::string(r.message));
    err << RedactUrlPasswords(line) << "\n";
  });
  try {
    code = Run(ctx, args);
  } catch (const UsageError& e) {
    code = kExitUsageError;
    message = e.what();
  } catch (const NotConfirmed& e) {
    code = kExitNotConfirmed;
    message = e.what();
  } catch (const ConfigProblem& e) {
    code = kExitConfigError;
    message = e.what();
  } catch (const config::ConfigError& e) {
    code = kExitConfigError;
    message = e.what();
  } catch (const BackendNotFoundError& e) {
    code = kExitBackendNotFound;
    message = e.what();
  } catch (const std::exception& e) {
    code = kExitRuntimeError;
    message = e.what();
  }
  SetLogSink(nullptr);
  out.flush();
  if (code != kExitOk) {
    err << kProgram << ": error: " << RedactUrlPasswords(message) << "\n";
  }
  return code;
}

}  // namespace tools
}  // namespace cache_alchemy
