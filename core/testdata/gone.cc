// A library that cache_alchemy_test.missing_dependency.so links against and
// that is deliberately not shipped with it (see BUILD).

extern "C" __attribute__((visibility("default"))) int cache_alchemy_test_gone(
    int x) {
  return x + 1;
}
