// Built against an installed cache_alchemy (CMake package or pkg-config). It
// needs no server: MemoryCache is a plugin the library finds in its installed
// plugin directory. Checks its results; exits non-zero on a wrong one.

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cache_alchemy/cache_alchemy.h"

namespace ca = cache_alchemy;

namespace {

constexpr char kMemory[] = "cache_alchemy.backends.memory.MemoryCache";
int failures = 0;

void Check(bool ok, const char* what) {
  std::printf("%s  %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok) ++failures;
}

}  // namespace

int main() {
  std::printf("cache_alchemy %s\n", ca::kVersion);
#ifdef PACKAGE_VERSION
  Check(std::string_view(ca::kVersion) == PACKAGE_VERSION,
        "ca::kVersion matches the package version " PACKAGE_VERSION);
#endif

  int calls = 0;
  auto square = ca::memory_cache(
      {.strict = true, .backend = kMemory, .name = "consumer:square"},
      [&calls](int x) {
        ++calls;
        return x * x;
      });
  Check(square(3) == 9 && square(3) == 9 && square(4) == 16, "square");
  Check(calls == 2 && square.hits() == 1, "one hit, two computations");
  Check(square.cache_clear(3) == 1, "partial clear of x == 3");
  Check(square(4) == 16 && calls == 2, "square(4) is still cached");

  if (failures != 0) {
    std::printf("%d check(s) failed\n", failures);
    return EXIT_FAILURE;
  }
  std::printf("all checks passed\n");
  return EXIT_SUCCESS;
}
