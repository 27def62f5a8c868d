// The main() of a fuzz target's corpus test: runs LLVMFuzzerTestOneInput
// (the libFuzzer entry point the target defines) once over every file of the
// corpus directories and files given as arguments, so the checked-in corpus
// runs as a normal test with any compiler (tools/fuzz.sh builds the same
// source with libFuzzer instead). The limits match the fuzzing runs: an
// input that takes more than 5 s, or a process whose peak RSS passes
// 512 MiB, fails the test; a crash or a sanitizer report fails it anyway.
//
//   bazel-bin/core/value_codec_json_fuzz_test core/value_codec_json_fuzz_corpus

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc,
                                                          char*** argv);

namespace {

constexpr double kMaxSecondsPerInput = 5.0;
constexpr long kMaxRssKiB = 512 * 1024;

std::vector<std::filesystem::path> Inputs(int argc, char** argv) {
  std::vector<std::filesystem::path> inputs;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path arg = argv[i];
    if (std::filesystem::is_directory(arg)) {
      for (const auto& entry :
           std::filesystem::recursive_directory_iterator(arg)) {
        if (entry.is_regular_file()) inputs.push_back(entry.path());
      }
    } else {
      inputs.push_back(arg);
    }
  }
  std::sort(inputs.begin(), inputs.end());
  return inputs;
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
  const std::vector<std::filesystem::path> inputs = Inputs(argc, argv);
  if (inputs.empty()) {
    std::fprintf(stderr, "no corpus inputs given (arguments: dirs or files)\n");
    return 1;
  }
  double slowest = 0;
  std::string slowest_name;
  for (const auto& path : inputs) {
    std::ifstream in(path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)),
                            std::istreambuf_iterator<char>());
    const auto start = std::chrono::steady_clock::now();
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()),
                           bytes.size());
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    if (seconds > slowest) {
      slowest = seconds;
      slowest_name = path.string();
    }
    if (seconds > kMaxSecondsPerInput) {
      std::fprintf(stderr, "FAIL: %s took %.1f s (limit %.0f s)\n",
                   path.c_str(), seconds, kMaxSecondsPerInput);
      return 1;
    }
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    if (usage.ru_maxrss > kMaxRssKiB) {
      std::fprintf(stderr, "FAIL: peak RSS %ld KiB after %s (limit %ld)\n",
                   usage.ru_maxrss, path.c_str(), kMaxRssKiB);
      return 1;
    }
  }
  std::printf("ran %zu inputs; slowest %.3f s (%s)\n", inputs.size(), slowest,
              slowest_name.c_str());
  return 0;
}
