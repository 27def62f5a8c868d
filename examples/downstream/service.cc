// A small pricing service in its own Bazel workspace, built against
// @cache_alchemy//:cache_alchemy. It needs no server: every function is cached
// in process by MemoryCache, a plugin loaded at run time by its dotted name.
// It checks its own results and exits non-zero on a wrong one.
//
//   bazel run //:service

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "cache_alchemy/cache_alchemy.h"

namespace ca = cache_alchemy;

namespace {

constexpr char kMemory[] = "cache_alchemy.backends.memory.MemoryCache";

int failures = 0;

void Check(bool ok, const char* what) {
  std::printf("%s  %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok) ++failures;
}

// The "database": list prices in cents per (sku, region); counts its reads.
int database_reads = 0;
int ListPriceFromDatabase(const std::string& sku, const std::string& region) {
  ++database_reads;
  static const std::map<std::string, int> kBase = {{"apple", 120},
                                                   {"pear", 95}};
  const int base = kBase.at(sku);
  return region == "eu" ? base * 11 / 10 : base;
}

}  // namespace

int main() {
  // Functions without an explicit backend would use the config's default
  // (DistributedMemoryCache, which needs Redis); this service names
  // MemoryCache on each function, and makes it the default too.
  ca::config::DefaultConfig config({{"CACHE_ALCHEMY_MEMORY_BACKEND", kMemory}});
  std::printf("cache_alchemy %s, backend %s\n", ca::kVersion, kMemory);

  // Strict keys: entries can be cleared by region alone.
  auto list_price = ca::memory_cache({.limit = 1000,
                                      .expire = 300,
                                      .strict = true,
                                      .backend = kMemory,
                                      .name = "pricing:list_price",
                                      .params = {"sku", "region"}},
                                     ListPriceFromDatabase);

  // A quote is computed from a list price: clearing list_price clears the
  // quotes too. Both are strict and share parameter names and types, so a
  // partial clear of list_price reaches quote as the same partial clear.
  int quote_calls = 0;
  auto quote = ca::memory_cache(
      {.strict = true,
       .backend = kMemory,
       .dependency = {ca::FunctionCacheDependency(list_price)},
       .name = "pricing:quote",
       .params = {"sku", "region", "quantity"}},
      [&](const std::string& sku, const std::string& region, int quantity) {
        ++quote_calls;
        const int unit = list_price(sku, region);
        return quantity >= 10 ? unit * quantity * 9 / 10 : unit * quantity;
      });

  Check(list_price("apple", "us") == 120, "list_price(apple, us) == 120");
  Check(list_price("apple", "eu") == 132, "list_price(apple, eu) == 132");
  Check(list_price("pear", "eu") == 104, "list_price(pear, eu) == 104");
  Check(list_price("apple", "us") == 120, "list_price(apple, us) again");
  Check(database_reads == 3, "three database reads for four calls");
  Check(list_price.hits() == 1 && list_price.misses() == 3,
        "one hit, three misses");

  Check(quote("apple", "us", 10) == 1080, "quote(apple, us, 10) == 1080");
  Check(quote("apple", "us", 10) == 1080, "quote(apple, us, 10) again");
  Check(quote("pear", "eu", 2) == 208, "quote(pear, eu, 2) == 208");
  Check(quote_calls == 2, "two quote computations for three calls");
  Check(database_reads == 3, "quotes read list prices from the cache");

  // Strict partial clear: only the EU prices go (2 entries), and with them,
  // through the dependency, the EU quote (1 entry).
  const int64_t removed = list_price.cache_clear(ca::arg("region", "eu"));
  Check(removed == 3, "clearing region == eu removed 2 prices + 1 quote");
  Check(list_price.size() == 1, "the US price is still cached");
  Check(quote.size() == 1, "the US quote is still cached");
  Check(quote("apple", "us", 10) == 1080 && quote_calls == 2,
        "quote(apple, us, 10) is still a hit");
  Check(quote("pear", "eu", 2) == 208 && quote_calls == 3,
        "quote(pear, eu, 2) is computed again");
  Check(database_reads == 4, "from a list price read again");
  Check(list_price("apple", "us") == 120 && database_reads == 4,
        "list_price(apple, us) is still a hit");

  // A full clear of list_price cascades fully.
  Check(list_price.cache_clear() == 4,
        "a full clear removes 2 prices + 2 quotes");

  if (failures != 0) {
    std::printf("%d check(s) failed\n", failures);
    return EXIT_FAILURE;
  }
  std::printf("all checks passed\n");
  return EXIT_SUCCESS;
}
