// quickstart: a slow function memoized with MemoryCache, loaded as a plugin
// by its dotted name. Needs no server.
//
//   bazel run //examples:quickstart

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "cache_alchemy/cache_alchemy.h"

namespace ca = cache_alchemy;

namespace {

constexpr char kBackend[] = "cache_alchemy.backends.memory.MemoryCache";

// Stands in for a slow query: 50 ms per call.
std::string Greeting(const std::string& name, int times) {
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::string out;
  for (int i = 0; i < times; ++i) out += "hello " + name + "! ";
  return out;
}

template <typename F>
void Timed(const char* label, F&& call) {
  const auto start = std::chrono::steady_clock::now();
  auto result = call();
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  std::printf("  %-28s %8lld us  -> %s\n", label, static_cast<long long>(us),
              result.c_str());
}

}  // namespace

int main() {
  auto greeting = ca::memory_cache({.limit = 100,
                                    .expire = 60,
                                    .strict = true,
                                    .backend = kBackend,
                                    .name = "quickstart:greeting",
                                    .params = {"name", "times"}},
                                   Greeting);

  std::printf("cache_alchemy quickstart (backend %s)\n\n", kBackend);
  std::printf("First calls run the function, repeats come from the cache:\n");
  Timed("greeting(\"world\", 1)", [&] { return greeting("world", 1); });
  Timed("greeting(\"world\", 1)", [&] { return greeting("world", 1); });
  Timed("greeting(\"world\", 2)", [&] { return greeting("world", 2); });
  Timed("greeting(\"alice\", 1)", [&] { return greeting("alice", 1); });
  Timed("greeting(\"alice\", 1)", [&] { return greeting("alice", 1); });
  std::printf("hits=%lld misses=%lld entries=%lld\n\n",
              static_cast<long long>(greeting.hits()),
              static_cast<long long>(greeting.misses()),
              static_cast<long long>(greeting.size()));

  const int64_t removed = greeting.cache_clear(ca::arg("name", "world"));
  std::printf("Partial clear of name == \"world\" removed %lld entries:\n",
              static_cast<long long>(removed));
  Timed("greeting(\"world\", 1)", [&] { return greeting("world", 1); });
  Timed("greeting(\"alice\", 1)", [&] { return greeting("alice", 1); });
  std::printf("hits=%lld misses=%lld entries=%lld\n\n",
              static_cast<long long>(greeting.hits()),
              static_cast<long long>(greeting.misses()),
              static_cast<long long>(greeting.size()));

  std::printf("Full clear removed %lld entries.\n\n",
              static_cast<long long>(greeting.cache_clear()));

  // Dependencies: clearing `add` clears `add_and_double` too.
  auto add = ca::memory_cache({.backend = kBackend, .name = "quickstart:add"},
                              [](int a, int b) { return a + b; });
  auto add_and_double =
      ca::memory_cache({.backend = kBackend,
                        .dependency = {ca::FunctionCacheDependency(add)},
                        .name = "quickstart:add_and_double"},
                       [&add](int a, int b) { return add(a, b) * 2; });
  std::printf("Dependencies: add_and_double(1, 2) = %d\n",
              add_and_double(1, 2));
  std::printf(
      "  add.cache_clear() removed %lld entries (add and its "
      "dependent)\n",
      static_cast<long long>(add.cache_clear()));
  std::printf("  add_and_double now holds %lld entries\n",
              static_cast<long long>(add_and_double.size()));
  return 0;
}
