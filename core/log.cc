// The log sink: a replaceable std::function, stderr by default.

#include "core/log.h"

#include <cstdio>
#include <memory>
#include <mutex>
#include <utility>

namespace cache_alchemy {
namespace {

// The sink is read on every record and replaced rarely: readers copy a
// shared_ptr under a std::mutex (no absl::Mutex: Debian's build runs deadlock
// detection on every lock).
std::mutex g_sink_mu;
std::shared_ptr<const LogSink>& SinkSlot() {
  static auto* slot = new std::shared_ptr<const LogSink>();
  return *slot;
}

void WriteToStderr(const LogRecord& r) {
  std::string line = "cache_alchemy ";
  line += LogLevelName(r.level);
  line += ": ";
  if (!r.function.empty()) {
    line += "function '";
    line += r.function;
    line += "'";
    if (!r.backend.empty()) {
      line += " (backend '";
      line += r.backend;
      line += "')";
    }
    line += ": ";
  } else if (!r.backend.empty()) {
    line += "backend '";
    line += r.backend;
    line += "': ";
  }
  line += r.message;
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace

const char* LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kWarning:
      return "WARNING";
    case LogLevel::kError:
      return "ERROR";
  }
  return "?";
}

void SetLogSink(LogSink sink) {
  std::shared_ptr<const LogSink> next;
  if (sink) next = std::make_shared<const LogSink>(std::move(sink));
  std::lock_guard<std::mutex> lock(g_sink_mu);
  SinkSlot().swap(next);
}

namespace internal {

void Log(LogLevel level, std::string_view message, std::string_view function,
         std::string_view backend) {
  std::shared_ptr<const LogSink> sink;
  {
    std::lock_guard<std::mutex> lock(g_sink_mu);
    sink = SinkSlot();
  }
  const LogRecord record{level, message, function, backend};
  try {
    if (sink != nullptr) {
      (*sink)(record);
    } else {
      WriteToStderr(record);
    }
  } catch (...) {
    // A sink must not throw; a record is not worth a crash.
  }
}

}  // namespace internal
}  // namespace cache_alchemy
