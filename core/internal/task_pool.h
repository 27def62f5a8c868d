// File: core/internal/task_pool.h
// -----------------------------------------------------------------------------
//
// INTERNAL: not for users. The two thread pools of the core:
//   - `TaskPool::Refresh()`: bounded (CACHE_ALCHEMY_REFRESH_THREADS threads,
//     2 by default, or `ca::set_refresh_threads`), runs refresh-ahead
//     recomputations; a full queue drops the task (the entry is refreshed on
//     a later hit, or recomputed when it expires);
//   - `TaskPool::Waiters()`: unbounded, waits on the futures of async cached
//     functions and stores their values. A task never queues behind a busy
//     thread: an idle thread takes it, or a new one starts (idle threads
//     exit after a while), so a caller of an async function never waits for
//     anything but the computation itself.
//
// Both are process-wide and never destroyed. At exit (std::atexit) they stop
// taking tasks, drop the queued ones and join their threads (the waiters'
// threads, which may block on a future that never completes, are left to
// the exit). After fork() the child starts with empty pools (threads are
// not inherited; they start again on the first task).

#ifndef CACHE_ALCHEMY_CORE_INTERNAL_TASK_POOL_H_
#define CACHE_ALCHEMY_CORE_INTERNAL_TASK_POOL_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace cache_alchemy {
namespace internal {

// Thread safety: every method may be called from any thread.
class TaskPool {
 public:
  // `max_threads` > 0: at most that many threads, tasks queue (at most
  // `max_queue`). 0: unbounded (see the file comment).
  TaskPool(std::string name, int max_threads, size_t max_queue);
  TaskPool(const TaskPool&) = delete;
  TaskPool& operator=(const TaskPool&) = delete;

  // Runs `task` on a pool thread. Returns false (dropping it) when the
  // queue is full or the pool is stopping. Exceptions from `task` are
  // swallowed (tasks report their own errors).
  bool Submit(std::function<void()> task);

  // Changes the bound of a bounded pool (>= 1); extra threads exit after
  // their current task.
  void SetMaxThreads(int max_threads);
  int max_threads() const { return max_threads_.load(); }

  // Blocks until no task is queued or running (tests and benchmarks).
  void WaitIdle();
  // Threads alive now (tests).
  int threads();

  // The process-wide pools.
  static TaskPool& Refresh();
  static TaskPool& Waiters();

 private:
  struct State {
    std::mutex mu;
    std::condition_variable wake;  // a task arrived, or stopping
    std::condition_variable done;  // a task finished (WaitIdle)
    std::deque<std::function<void()>> queue;
    std::vector<std::thread> threads;  // bounded pools: joined at exit
    int running = 0;                   // threads alive
    int idle = 0;                      // threads waiting for a task
    int busy = 0;                      // tasks running
    bool stopping = false;
  };

  void Work(State* state);
  void StartThreadLocked(State* state);
  void Shutdown();
  void ResetInChild();
  static void ForEachPool(void (*fn)(TaskPool&));

  const std::string name_;
  std::atomic<int> max_threads_;
  const size_t max_queue_;
  // Replaced (the old one leaked) in a child after fork().
  State* state_;
};

}  // namespace internal
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_INTERNAL_TASK_POOL_H_
