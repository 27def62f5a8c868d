// File: core/log.h
// -----------------------------------------------------------------------------
//
// Where cache_alchemy reports what it cannot report by throwing: backend
// failures absorbed by fail-open reads, clears that failed, plugin-loading
// problems, pub/sub subscriptions lost and regained. Every line goes through
// one sink, which a program may replace (to feed its own logger):
//
//   namespace ca = cache_alchemy;
//   ca::SetLogSink([](const ca::LogRecord& r) {
//     LOG(WARNING) << r.function << " on " << r.backend << ": " << r.message;
//   });
//   ca::SetLogSink(nullptr);  // back to the default (stderr)
//
// The default sink writes one line per record to stderr. Call sites that can
// fire on every call (a backend failure on each lookup, say) rate-limit
// themselves: at most one line per function every 10 seconds, with the number
// of lines suppressed since the previous one in the next message.

#ifndef CACHE_ALCHEMY_CORE_LOG_H_
#define CACHE_ALCHEMY_CORE_LOG_H_

#include <functional>
#include <string>
#include <string_view>

namespace cache_alchemy {

enum class LogLevel { kInfo = 0, kWarning = 1, kError = 2 };

// "INFO", "WARNING", "ERROR".
const char* LogLevelName(LogLevel level);

// One report. The views are valid only during the sink call.
struct LogRecord {
  LogLevel level = LogLevel::kInfo;
  std::string_view message;
  // The cached function's name, or empty when the record is not about one.
  std::string_view function;
  // The backend's dotted name, or empty.
  std::string_view backend;
};

using LogSink = std::function<void(const LogRecord&)>;

// Replaces the sink for every later record; null restores the default
// (stderr). The sink may be called from any thread, several at once, and
// must not throw (an exception it throws is swallowed) nor call SetLogSink.
// Thread safety: may be called from any thread.
void SetLogSink(LogSink sink);

namespace internal {

// Sends a record to the current sink. Never throws.
void Log(LogLevel level, std::string_view message,
         std::string_view function = {}, std::string_view backend = {});

}  // namespace internal
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_LOG_H_
