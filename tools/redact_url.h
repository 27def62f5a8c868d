// File: tools/redact_url.h
// -----------------------------------------------------------------------------
//
// Hides passwords in text the operator CLI prints (config values, error
// messages): the password of every URL's userinfo and the value of every
// `password=` option.
//
//   RedactUrlPasswords("redis://user:s3cret@host:6379/0")
//       == "redis://user:***@host:6379/0"
//   RedactUrlPasswords("unix:///run/redis.sock?db=1&password=s3cret")
//       == "unix:///run/redis.sock?db=1&password=***"
//
// Rules: after each "://", the userinfo runs up to the LAST '@' before the
// next whitespace or '"' (so a password holding '/', '?', ':' or '@' is
// hidden whole); its part after the first ':' is the password, or all of it
// when it has no ':' (`redis://s3cret@host`). The value of an option named
// `password`, `pass` or `secret` (any case) runs from its '=' up to the next
// '&', ';', '#', whitespace or '"'. It errs on the side of hiding more.

#ifndef CACHE_ALCHEMY_TOOLS_REDACT_URL_H_
#define CACHE_ALCHEMY_TOOLS_REDACT_URL_H_

#include <string>
#include <string_view>

namespace cache_alchemy {
namespace tools {

// `text` with every password found by the rules above replaced by "***".
// Idempotent. Thread-safe; never throws (but std::bad_alloc).
std::string RedactUrlPasswords(std::string_view text);

}  // namespace tools
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_TOOLS_REDACT_URL_H_
