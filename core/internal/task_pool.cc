// The core's thread pools: refresh-ahead (bounded) and async waiters
// (unbounded).

#include "core/internal/task_pool.h"

#include <pthread.h>

#include <cstdlib>
#include <utility>

#include "core/defaults.h"

namespace cache_alchemy {
namespace internal {
namespace {

// An idle thread of an unbounded pool exits after this long.
constexpr auto kIdleExit = std::chrono::seconds(10);
// Queued refreshes beyond this are dropped.
constexpr size_t kRefreshQueue = 10000;

std::mutex g_pools_mu;
std::vector<TaskPool*>& Pools() {
  static auto* pools = new std::vector<TaskPool*>();
  return *pools;
}

}  // namespace

TaskPool::TaskPool(std::string name, int max_threads, size_t max_queue)
    : name_(std::move(name)),
      max_threads_(max_threads),
      max_queue_(max_queue),
      state_(new State()) {
  static std::once_flag once;
  std::call_once(once, [] {
    // Fork: the prepare handler takes every pool's lock, so no thread is
    // inside one when the process is copied; the child then starts over.
    pthread_atfork(
        [] {
          g_pools_mu.lock();
          for (TaskPool* pool : Pools()) pool->state_->mu.lock();
        },
        [] {
          for (TaskPool* pool : Pools()) pool->state_->mu.unlock();
          g_pools_mu.unlock();
        },
        [] {
          for (TaskPool* pool : Pools()) pool->ResetInChild();
          g_pools_mu.unlock();
        });
    std::atexit([] { ForEachPool([](TaskPool& pool) { pool.Shutdown(); }); });
  });
  std::lock_guard<std::mutex> lock(g_pools_mu);
  Pools().push_back(this);
}

void TaskPool::ForEachPool(void (*fn)(TaskPool&)) {
  std::vector<TaskPool*> pools;
  {
    std::lock_guard<std::mutex> lock(g_pools_mu);
    pools = Pools();
  }
  for (TaskPool* pool : pools) fn(*pool);
}

TaskPool& TaskPool::Refresh() {
  static TaskPool* const pool = new TaskPool("refresh", 2, kRefreshQueue);
  return *pool;
}

TaskPool& TaskPool::Waiters() {
  static TaskPool* const pool = new TaskPool("async waiters", 0, 0);
  return *pool;
}

void TaskPool::StartThreadLocked(State* state) {
  ++state->running;
  if (max_threads_.load() == 0) {
    std::thread([this, state] { Work(state); }).detach();
  } else {
    state->threads.emplace_back([this, state] { Work(state); });
  }
}

bool TaskPool::Submit(std::function<void()> task) {
  State* state = state_;
  std::lock_guard<std::mutex> lock(state->mu);
  if (state->stopping) return false;
  const int max = max_threads_.load();
  if (max > 0 && state->queue.size() >= max_queue_) return false;
  state->queue.push_back(std::move(task));
  if (static_cast<size_t>(state->idle) >= state->queue.size()) {
    state->wake.notify_one();
  } else if (max == 0 || state->running < max) {
    StartThreadLocked(state);
  }
  return true;
}

void TaskPool::Work(State* state) {
  std::unique_lock<std::mutex> lock(state->mu);
  for (;;) {
    const bool unbounded = max_threads_.load() == 0;
    if (!unbounded && state->running > max_threads_.load()) break;  // shrunk
    if (state->queue.empty() && !state->stopping) {
      ++state->idle;
      if (unbounded) {
        state->wake.wait_for(lock, kIdleExit, [state] {
          return !state->queue.empty() || state->stopping;
        });
      } else {
        state->wake.wait(
            lock, [state] { return !state->queue.empty() || state->stopping; });
      }
      --state->idle;
      if (state->queue.empty() && !state->stopping) break;  // idle too long
    }
    if (state->stopping) break;
    std::function<void()> task = std::move(state->queue.front());
    state->queue.pop_front();
    ++state->busy;
    lock.unlock();
    try {
      task();
    } catch (...) {
    }
    task = nullptr;  // its captures die outside the lock
    lock.lock();
    --state->busy;
    state->done.notify_all();
  }
  --state->running;
  state->done.notify_all();
}

void TaskPool::SetMaxThreads(int max_threads) {
  if (max_threads < 1 || max_threads_.load() == 0) return;
  State* state = state_;
  std::lock_guard<std::mutex> lock(state->mu);
  max_threads_.store(max_threads);
  state->wake.notify_all();  // threads above the bound leave
  // Start threads for what is queued now.
  while (state->running < max_threads &&
         static_cast<size_t>(state->idle) < state->queue.size()) {
    StartThreadLocked(state);
  }
}

void TaskPool::WaitIdle() {
  State* state = state_;
  std::unique_lock<std::mutex> lock(state->mu);
  state->done.wait(lock, [state] {
    return (state->queue.empty() || state->stopping) && state->busy == 0;
  });
}

int TaskPool::threads() {
  State* state = state_;
  std::lock_guard<std::mutex> lock(state->mu);
  return state->running;
}

void TaskPool::Shutdown() {
  State* state = state_;
  std::deque<std::function<void()>> dropped;
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(state->mu);
    state->stopping = true;
    dropped.swap(state->queue);
    threads.swap(state->threads);
    state->wake.notify_all();
    state->done.notify_all();
  }
  dropped.clear();
  for (std::thread& t : threads) {
    if (t.get_id() == std::this_thread::get_id()) {
      t.detach();  // exit() called from a task
    } else {
      t.join();  // the task it runs finishes first
    }
  }
}

void TaskPool::ResetInChild() {
  // The parent's threads do not exist here: their std::thread objects must
  // not be joined or destroyed (joinable), and the lock (held by the prepare
  // handler) and condition variables may know of them. Leave the old state
  // behind and start empty; queued tasks are the parent's to run.
  State* old = state_;
  for (std::thread& t : old->threads) {
    new std::thread(std::move(t));  // leaked: never joined or destroyed
  }
  old->threads.clear();
  state_ = new State();
}

}  // namespace internal
}  // namespace cache_alchemy
