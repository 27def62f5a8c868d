#include "tools/redact_url.h"

#include "gtest/gtest.h"

namespace cache_alchemy {
namespace tools {
namespace {

TEST(RedactUrlPasswordsTest, HidesUserinfoPasswords) {
  EXPECT_EQ(RedactUrlPasswords("redis://user:s3cret@host:6379/0"),
            "redis://user:***@host:6379/0");
  EXPECT_EQ(RedactUrlPasswords("redis://:s3cret@host"), "redis://:***@host");
  EXPECT_EQ(RedactUrlPasswords("redis://s3cret@host"), "redis://***@host");
}

TEST(RedactUrlPasswordsTest, PasswordsWithUrlCharactersAreHiddenWhole) {
  EXPECT_EQ(RedactUrlPasswords("redis://u:a/b@c?d:e@host:1/0"),
            "redis://u:***@host:1/0");
}

TEST(RedactUrlPasswordsTest, HidesPasswordOptions) {
  EXPECT_EQ(RedactUrlPasswords("unix:///run/r.sock?db=1&password=s3cret&x=1"),
            "unix:///run/r.sock?db=1&password=***&x=1");
  EXPECT_EQ(RedactUrlPasswords("redis://h/0?PASS=s3cret"),
            "redis://h/0?PASS=***");
}

TEST(RedactUrlPasswordsTest, LeavesOtherTextAndEveryUrlOfALine) {
  EXPECT_EQ(RedactUrlPasswords("redis://host:6379/0"), "redis://host:6379/0");
  EXPECT_EQ(RedactUrlPasswords("no url here: a=b"), "no url here: a=b");
  EXPECT_EQ(RedactUrlPasswords("\"redis://:a@h\" and \"redis://:b@i\""),
            "\"redis://:***@h\" and \"redis://:***@i\"");
}

TEST(RedactUrlPasswordsTest, Idempotent) {
  for (const char* text :
       {"redis://u:p@h", "x?password=p", "redis://p@h/0?pass=q", "a://b@"}) {
    const std::string once = RedactUrlPasswords(text);
    EXPECT_EQ(RedactUrlPasswords(once), once) << text;
  }
}

}  // namespace
}  // namespace tools
}  // namespace cache_alchemy
