// A shared library that is not a cache_alchemy plugin: it exports one
// unrelated function and no cache_alchemy_backend_* symbol.

extern "C" __attribute__((visibility("default"))) int unrelated_function(
    int x) {
  return x + 1;
}
