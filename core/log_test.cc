#include "core/log.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace cache_alchemy {
namespace {

struct Captured {
  LogLevel level;
  std::string message, function, backend;
};

TEST(LogTest, CustomSinkReceivesEveryFieldAndNullRestoresDefault) {
  std::vector<Captured> seen;
  SetLogSink([&seen](const LogRecord& r) {
    seen.push_back({r.level, std::string(r.message), std::string(r.function),
                    std::string(r.backend)});
  });
  internal::Log(LogLevel::kError, "clear failed", "app.f", "a.b.C");
  SetLogSink(nullptr);
  internal::Log(LogLevel::kInfo, "to stderr, not to the vector");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].level, LogLevel::kError);
  EXPECT_EQ(seen[0].message, "clear failed");
  EXPECT_EQ(seen[0].function, "app.f");
  EXPECT_EQ(seen[0].backend, "a.b.C");
}

TEST(LogTest, DefaultSinkWritesOneLineToStderr) {
  SetLogSink(nullptr);
  ::testing::internal::CaptureStderr();
  internal::Log(LogLevel::kWarning, "lookup failed", "app.f", "a.b.C");
  const std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(out,
            "cache_alchemy WARNING: function 'app.f' (backend 'a.b.C'): lookup "
            "failed\n");
}

TEST(LogTest, ThrowingSinkIsSwallowed) {
  SetLogSink([](const LogRecord&) { throw std::runtime_error("sink broke"); });
  EXPECT_NO_THROW(internal::Log(LogLevel::kError, "x"));
  SetLogSink(nullptr);
}

}  // namespace
}  // namespace cache_alchemy
