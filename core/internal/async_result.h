// File: core/internal/async_result.h
// -----------------------------------------------------------------------------
//
// INTERNAL: not for users. The pieces of async cached functions (functions
// returning std::future<T> or std::shared_future<T>): which results are
// async, the pending result that concurrent callers share, and ready
// futures for hits.

#ifndef CACHE_ALCHEMY_CORE_INTERNAL_ASYNC_RESULT_H_
#define CACHE_ALCHEMY_CORE_INTERNAL_ASYNC_RESULT_H_

#include <exception>
#include <future>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace cache_alchemy {
namespace internal {

// `kAsync`: R is a std::future<T> or std::shared_future<T>; `Value`: what
// the cache stores (T, or R itself for a plain function).
template <typename R>
struct AsyncResult {
  static constexpr bool kAsync = false;
  using Value = R;
};
template <typename T>
struct AsyncResult<std::future<T>> {
  static constexpr bool kAsync = true;
  using Value = T;
};
template <typename T>
struct AsyncResult<std::shared_future<T>> {
  static constexpr bool kAsync = true;
  using Value = T;
};

// A future of type F (std::future<T> or std::shared_future<T>) that holds
// `value` / `error` already.
template <typename F, typename T>
F ReadyFuture(T value) {
  std::promise<typename AsyncResult<F>::Value> promise;
  promise.set_value(std::move(value));
  if constexpr (std::is_same_v<F,
                               std::future<typename AsyncResult<F>::Value>>) {
    return promise.get_future();
  } else {
    return promise.get_future().share();
  }
}
template <typename F>
F FailedFuture(std::exception_ptr error) {
  std::promise<typename AsyncResult<F>::Value> promise;
  promise.set_exception(std::move(error));
  if constexpr (std::is_same_v<F,
                               std::future<typename AsyncResult<F>::Value>>) {
    return promise.get_future();
  } else {
    return promise.get_future().share();
  }
}

// The result of one async computation, which every caller that joined it
// gets in a future of its own. Thread-safe.
template <typename T>
class AsyncPending {
 public:
  // A future (F: std::future<T> or std::shared_future<T>) that becomes
  // ready with the result; ready now if it is known.
  template <typename F>
  F Get() {
    std::unique_lock<std::mutex> lock(mu_);
    if (done_) {
      lock.unlock();
      if (error_ != nullptr) return FailedFuture<F>(error_);
      return ReadyFuture<F>(*value_);
    }
    waiters_.emplace_back();
    std::future<T> future = waiters_.back().get_future();
    if constexpr (std::is_same_v<F, std::future<T>>) {
      return future;
    } else {
      return future.share();
    }
  }

  // Makes the result known (a value, or `error`) and fulfils every future
  // handed out. Call once.
  void Resolve(std::shared_ptr<const T> value, std::exception_ptr error) {
    std::vector<std::promise<T>> waiters;
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
      value_ = std::move(value);
      error_ = std::move(error);
      waiters.swap(waiters_);
    }
    for (std::promise<T>& p : waiters) {
      if (error_ != nullptr) {
        p.set_exception(error_);
        continue;
      }
      try {
        p.set_value(*value_);  // a copy of T, which may throw
      } catch (...) {
        p.set_exception(std::current_exception());
      }
    }
  }

 private:
  std::mutex mu_;
  bool done_ = false;
  std::shared_ptr<const T> value_;
  std::exception_ptr error_;
  std::vector<std::promise<T>> waiters_;
};

}  // namespace internal
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_INTERNAL_ASYNC_RESULT_H_
