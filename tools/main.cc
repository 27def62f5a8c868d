// cache_alchemy: the operator CLI (tools/cli.h; docs/operations.md).

#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "tools/cli.h"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  return cache_alchemy::tools::RunCli(args, std::cin, isatty(STDIN_FILENO) == 1,
                                      std::cout, std::cerr);
}
