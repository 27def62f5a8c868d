// RedactSecrets: passwords in URLs and secret options are hidden, whatever
// the scheme and however malformed the URL; text without secrets is kept.

#include "config/redact.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cache_alchemy {
namespace config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(RedactTest, UrlPasswords) {
  EXPECT_EQ(RedactSecrets("redis://user:s3cret@host:6380/2"),
            "redis://user:***@host:6380/2");
  EXPECT_EQ(RedactSecrets("redis://:s3cret@[::1]:7000/?timeout_ms=5"),
            "redis://:***@[::1]:7000/?timeout_ms=5");
  EXPECT_EQ(RedactSecrets("https://u:p@example.org/x"),
            "https://u:***@example.org/x");
  // No ':' in the userinfo: it may be the password itself.
  EXPECT_EQ(RedactSecrets("redis://s3cret@host"), "redis://***@host");
  // Unescaped separators inside the password are hidden whole.
  EXPECT_EQ(RedactSecrets("redis://:pa/ss?w#o:r@d@host/0"),
            "redis://:***@host/0");
}

TEST(RedactTest, OptionPasswords) {
  EXPECT_EQ(RedactSecrets("redis://h/0?db=1&password=s3cret&pool_size=2"),
            "redis://h/0?db=1&password=***&pool_size=2");
  EXPECT_EQ(RedactSecrets("unix:///run/r.sock?PassWord=s3cret"),
            "unix:///run/r.sock?PassWord=***");
  EXPECT_EQ(RedactSecrets("x?token=a;auth=b&pwd=c#frag"),
            "x?token=***;auth=***&pwd=***#frag");
  // Only after ?, & or ;, and only secret names.
  EXPECT_EQ(RedactSecrets("password=plain and ?user=alice"),
            "password=plain and ?user=alice");
  EXPECT_EQ(RedactSecrets("?mypassword=x"), "?mypassword=x");
}

TEST(RedactTest, TextWithoutSecretsIsKept) {
  for (const char* text : {"", "redis://127.0.0.1:6379/0",
                           "cache_alchemy.backends.memory.MemoryCache",
                           "/opt/plugins", "unix:///run/redis.sock?db=5", "a@b",
                           "@://", "user@host then http://plain"}) {
    EXPECT_EQ(RedactSecrets(text), text);
  }
}

TEST(RedactTest, IdempotentAndLinear) {
  const std::string once = RedactSecrets("redis://u:p@h?password=q");
  EXPECT_EQ(RedactSecrets(once), once);
  // Many "://" and '=' do not make it quadratic (this would take minutes).
  std::string many;
  for (int i = 0; i < 200000; ++i) many += "://?password=";
  many += "@";
  const std::string out = RedactSecrets(many);
  EXPECT_THAT(out, Not(HasSubstr("password=?")));
}

TEST(RedactTest, IdempotentWhenRulesOverlap) {
  // Found by config_file_fuzz: an option value holding a URL whose password
  // has a space. The first pass merges the option's span (up to the space)
  // with the userinfo's (up to the '@'); the '@host' left behind then reads
  // as more of the option's value. Redaction now runs to a fixed point.
  const std::string text = "?password=redis://u:p q@host:6379";
  const std::string once = RedactSecrets(text);
  EXPECT_EQ(RedactSecrets(once), once);
  EXPECT_EQ(once, "?password=***");
}

TEST(RedactTest, SpansAreOrderedAndDisjoint) {
  const auto spans = SecretSpans("redis://u:p@h/?password=q&token=r");
  ASSERT_EQ(spans.size(), 3u);
  for (size_t i = 1; i < spans.size(); ++i) {
    EXPECT_LT(spans[i - 1].second, spans[i].first);
  }
}

}  // namespace
}  // namespace config
}  // namespace cache_alchemy
