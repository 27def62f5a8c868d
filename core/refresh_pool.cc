// The refresh pool's size: config at wrap time, or set by the program.

#include "core/refresh_pool.h"

#include <atomic>
#include <stdexcept>
#include <string>

#include "core/internal/refresh_size.h"
#include "core/internal/task_pool.h"

namespace cache_alchemy {
namespace {
std::atomic<bool> g_set_by_program{false};
}  // namespace

void set_refresh_threads(int threads) {
  if (threads < 1) {
    throw std::invalid_argument("set_refresh_threads(" +
                                std::to_string(threads) +
                                "): the refresh pool needs at least 1 thread");
  }
  g_set_by_program.store(true);
  internal::TaskPool::Refresh().SetMaxThreads(threads);
}

int refresh_threads() { return internal::TaskPool::Refresh().max_threads(); }

namespace internal {

void ApplyConfiguredRefreshThreads(int64_t threads) {
  if (g_set_by_program.load() || threads < 1) return;
  TaskPool::Refresh().SetMaxThreads(static_cast<int>(threads));
}

}  // namespace internal
}  // namespace cache_alchemy
