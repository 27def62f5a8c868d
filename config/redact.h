// File: config/redact.h
// -----------------------------------------------------------------------------
//
// Hides passwords in text that is about to be shown: config dumps, error
// messages, log lines. cache_alchemy never prints a password: every value it
// shows (ca::config::FormatValue, BaseConfig::dump/source, ConfigError, the
// Redis URL parser's errors) goes through RedactSecrets first.
//
//   RedactSecrets("redis://user:s3cret@host:6379/0")  //
//   "redis://user:***@host:6379/0"
//   RedactSecrets("redis://host/0?password=s3cret")   //
//   "redis://host/0?password=***"
//
// What counts as a secret, found anywhere in the text (not only in values of
// known keys):
//   - URL credentials: after the first "://", everything up to the LAST '@'
//     of the text is the userinfo; its part after the first ':' is the
//     password (the whole userinfo when it has no ':', as in
//     `redis://s3cret@host`). Greedy on purpose: a password holding an
//     unescaped '/', '?', '#', ':' or '@' is still hidden whole;
//   - option values: `password=`, `passwd=`, `pass=`, `pwd=`, `secret=`,
//     `token=` or `auth=` (any case) right after '?', '&' or ';', up to the
//     next '&', ';', '#', whitespace or the end.
// It errs on the side of hiding: text with an '@' after a "://" may lose a
// bit more than the password (`http://h:80/a@b` shows as `http://h:***@b`),
// never less.

#ifndef CACHE_ALCHEMY_CONFIG_REDACT_H_
#define CACHE_ALCHEMY_CONFIG_REDACT_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cache_alchemy {
namespace config {

// The secret byte ranges [first, second) of `text` by the rules above, in
// order and not overlapping. Linear in the size of `text`. Thread-safe.
std::vector<std::pair<size_t, size_t>> SecretSpans(std::string_view text);

// `text` with each of its SecretSpans replaced by "***", repeated until
// nothing changes (so it is idempotent: a mask never exposes more text that
// reads as a secret).
// Thread-safe, never throws (but std::bad_alloc).
std::string RedactSecrets(std::string_view text);

}  // namespace config
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CONFIG_REDACT_H_
