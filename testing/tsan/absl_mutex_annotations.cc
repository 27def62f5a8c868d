// ThreadSanitizer annotations for Debian's (uninstrumented) absl::Mutex.
//
// Debian's Abseil is built without -fsanitize=thread, so TSan never sees an
// absl::Mutex being locked or unlocked: every access to data an absl::Mutex
// guards looks like a data race (114 reports in //core:concurrency_test).
// Abseil built with TSan calls __tsan_mutex_pre_lock/post_lock/... itself
// (ABSL_TSAN_MUTEX_* in mutex.cc). This file does it from outside: linked
// into a test binary of the TSan build (--config=tsan, see .bazelrc), it
// defines the public entry points of absl::Mutex and absl::CondVar under
// their own symbol names, so every call (from the test, from the core's
// shared libraries, from plugins, and from inside libabsl itself through
// the PLT: absl::Notification locks through these too) reaches this file
// first; each wrapper tells TSan what the real function does and calls it
// (found with dlsym(RTLD_NEXT)).
//
// absl::Notification gets its own pair: Notify releases and a wait that
// returns notified acquires (its fast path, an atomic flag read inside
// libabsl, is invisible to TSan otherwise). HasBeenNotified() alone is not
// covered (inline; a flag check, not a hand-off).
//
// What it cannot cover: synchronization inside libabsl that goes through
// none of these entry points (SpinLock, call_once). The core does not rely
// on those for its own data; docs/reliability.md says what this run proves.

#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <cstdio>
#include <cstdlib>

#include "absl/time/time.h"

namespace {

template <typename F>
F Real(const char* symbol) {
  void* address = dlsym(RTLD_NEXT, symbol);
  if (address == nullptr) {
    std::fprintf(stderr, "absl_mutex_annotations: no %s after us\n", symbol);
    std::abort();
  }
  return reinterpret_cast<F>(address);
}

// The mode in which this thread holds each mutex it holds (Await and
// CondVar::Wait release and retake it in that mode). A thread rarely holds
// more than a few.
struct Held {
  void* mu;
  unsigned flags;
};
thread_local Held held[64];
thread_local int held_count = 0;

void Remember(void* mu, unsigned flags) {
  if (held_count < 64) held[held_count++] = {mu, flags};
}
void Forget(void* mu) {
  for (int i = held_count - 1; i >= 0; --i) {
    if (held[i].mu == mu) {
      held[i] = held[--held_count];
      return;
    }
  }
}
unsigned ModeOf(void* mu) {
  for (int i = held_count - 1; i >= 0; --i) {
    if (held[i].mu == mu) return held[i].flags;
  }
  return 0;
}

void Locked(void* mu, unsigned flags) {
  __tsan_mutex_post_lock(mu, flags, 0);
  Remember(mu, flags & __tsan_mutex_read_lock);
}
void Unlocking(void* mu, unsigned flags) { __tsan_mutex_pre_unlock(mu, flags); }
void Unlocked(void* mu, unsigned flags) {
  __tsan_mutex_post_unlock(mu, flags);
  Forget(mu);
}

// Around a call that releases `mu` and takes it again before returning.
struct Released {
  explicit Released(void* mu) : mu(mu), flags(ModeOf(mu)) {
    Unlocking(mu, flags);
    Unlocked(mu, flags);
  }
  ~Released() {
    __tsan_mutex_pre_lock(mu, flags);
    Locked(mu, flags);
  }
  void* mu;
  unsigned flags;
};

constexpr unsigned kRead = __tsan_mutex_read_lock;

}  // namespace

// --- absl::Mutex -----------------------------------------------------------

#define ABSL_MUTEX(name) "_ZN4absl7debian35Mutex" name

void MutexLock(void* mu) __asm__(ABSL_MUTEX("4LockEv"));
void MutexLock(void* mu) {
  static auto real = Real<void (*)(void*)>(ABSL_MUTEX("4LockEv"));
  __tsan_mutex_pre_lock(mu, 0);
  real(mu);
  Locked(mu, 0);
}

void MutexReaderLock(void* mu) __asm__(ABSL_MUTEX("10ReaderLockEv"));
void MutexReaderLock(void* mu) {
  static auto real = Real<void (*)(void*)>(ABSL_MUTEX("10ReaderLockEv"));
  __tsan_mutex_pre_lock(mu, kRead);
  real(mu);
  Locked(mu, kRead);
}

void MutexUnlock(void* mu) __asm__(ABSL_MUTEX("6UnlockEv"));
void MutexUnlock(void* mu) {
  static auto real = Real<void (*)(void*)>(ABSL_MUTEX("6UnlockEv"));
  Unlocking(mu, 0);
  real(mu);
  Unlocked(mu, 0);
}

void MutexReaderUnlock(void* mu) __asm__(ABSL_MUTEX("12ReaderUnlockEv"));
void MutexReaderUnlock(void* mu) {
  static auto real = Real<void (*)(void*)>(ABSL_MUTEX("12ReaderUnlockEv"));
  Unlocking(mu, kRead);
  real(mu);
  Unlocked(mu, kRead);
}

bool MutexTryLock(void* mu) __asm__(ABSL_MUTEX("7TryLockEv"));
bool MutexTryLock(void* mu) {
  static auto real = Real<bool (*)(void*)>(ABSL_MUTEX("7TryLockEv"));
  __tsan_mutex_pre_lock(mu, __tsan_mutex_try_lock);
  const bool locked = real(mu);
  if (locked) {
    Locked(mu, __tsan_mutex_try_lock);
  } else {
    __tsan_mutex_post_lock(
        mu, __tsan_mutex_try_lock | __tsan_mutex_try_lock_failed, 0);
  }
  return locked;
}

bool MutexReaderTryLock(void* mu) __asm__(ABSL_MUTEX("13ReaderTryLockEv"));
bool MutexReaderTryLock(void* mu) {
  static auto real = Real<bool (*)(void*)>(ABSL_MUTEX("13ReaderTryLockEv"));
  __tsan_mutex_pre_lock(mu, __tsan_mutex_try_read_lock);
  const bool locked = real(mu);
  if (locked) {
    Locked(mu, __tsan_mutex_try_read_lock);
  } else {
    __tsan_mutex_post_lock(mu, __tsan_mutex_try_read_lock_failed, 0);
  }
  return locked;
}

// LockWhen and friends: a lock (the condition is evaluated by libabsl,
// uninstrumented, under the lock).
#define LOCK_WHEN(fn, symbol, flags)                                           \
  void fn(void* mu, const void* cond) __asm__(ABSL_MUTEX(symbol));             \
  void fn(void* mu, const void* cond) {                                        \
    static auto real = Real<void (*)(void*, const void*)>(ABSL_MUTEX(symbol)); \
    __tsan_mutex_pre_lock(mu, flags);                                          \
    real(mu, cond);                                                            \
    Locked(mu, flags);                                                         \
  }
LOCK_WHEN(MutexLockWhen, "8LockWhenERKNS0_9ConditionE", 0)
LOCK_WHEN(MutexReaderLockWhen, "14ReaderLockWhenERKNS0_9ConditionE", kRead)

#define LOCK_WHEN_WITH(fn, symbol, type, flags)                                \
  bool fn(void* mu, const void* cond, type limit) __asm__(ABSL_MUTEX(symbol)); \
  bool fn(void* mu, const void* cond, type limit) {                            \
    static auto real =                                                         \
        Real<bool (*)(void*, const void*, type)>(ABSL_MUTEX(symbol));          \
    __tsan_mutex_pre_lock(mu, flags);                                          \
    const bool met = real(mu, cond, limit);                                    \
    Locked(mu, flags);                                                         \
    return met;                                                                \
  }
LOCK_WHEN_WITH(MutexLockWhenWithTimeout,
               "19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE",
               absl::Duration, 0)
LOCK_WHEN_WITH(MutexLockWhenWithDeadline,
               "20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE", absl::Time,
               0)
LOCK_WHEN_WITH(MutexReaderLockWhenWithTimeout,
               "25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE",
               absl::Duration, kRead)
LOCK_WHEN_WITH(MutexReaderLockWhenWithDeadline,
               "26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE",
               absl::Time, kRead)

// Await: releases the mutex while waiting and holds it again on return.
void MutexAwait(void* mu, const void* cond) __asm__(
    ABSL_MUTEX("5AwaitERKNS0_9ConditionE"));
void MutexAwait(void* mu, const void* cond) {
  static auto real = Real<void (*)(void*, const void*)>(
      ABSL_MUTEX("5AwaitERKNS0_9ConditionE"));
  Released released(mu);
  real(mu, cond);
}

#define AWAIT_WITH(fn, symbol, type)                                           \
  bool fn(void* mu, const void* cond, type limit) __asm__(ABSL_MUTEX(symbol)); \
  bool fn(void* mu, const void* cond, type limit) {                            \
    static auto real =                                                         \
        Real<bool (*)(void*, const void*, type)>(ABSL_MUTEX(symbol));          \
    Released released(mu);                                                     \
    return real(mu, cond, limit);                                              \
  }
AWAIT_WITH(MutexAwaitWithTimeout,
           "16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE", absl::Duration)
AWAIT_WITH(MutexAwaitWithDeadline,
           "17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE", absl::Time)

// The destructor: TSan forgets the mutex (its memory may be reused).
void MutexDestroy(void* mu) __asm__(ABSL_MUTEX("D1Ev"));
void MutexDestroy(void* mu) {
  static auto real = Real<void (*)(void*)>(ABSL_MUTEX("D1Ev"));
  __tsan_mutex_destroy(mu, 0);
  real(mu);
}
void MutexDestroyBase(void* mu) __asm__(ABSL_MUTEX("D2Ev"));
void MutexDestroyBase(void* mu) {
  static auto real = Real<void (*)(void*)>(ABSL_MUTEX("D2Ev"));
  __tsan_mutex_destroy(mu, 0);
  real(mu);
}

// --- absl::CondVar: Wait releases the mutex and takes it again. -------------

#define ABSL_CONDVAR(name) "_ZN4absl7debian37CondVar" name

void CondVarWait(void* cv,
                 void* mu) __asm__(ABSL_CONDVAR("4WaitEPNS0_5MutexE"));
void CondVarWait(void* cv, void* mu) {
  static auto real =
      Real<void (*)(void*, void*)>(ABSL_CONDVAR("4WaitEPNS0_5MutexE"));
  Released released(mu);
  real(cv, mu);
}

#define WAIT_WITH(fn, symbol, type)                                      \
  bool fn(void* cv, void* mu, type limit) __asm__(ABSL_CONDVAR(symbol)); \
  bool fn(void* cv, void* mu, type limit) {                              \
    static auto real =                                                   \
        Real<bool (*)(void*, void*, type)>(ABSL_CONDVAR(symbol));        \
    Released released(mu);                                               \
    return real(cv, mu, limit);                                          \
  }
WAIT_WITH(CondVarWaitWithTimeout,
          "15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE", absl::Duration)
WAIT_WITH(CondVarWaitWithDeadline, "16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE",
          absl::Time)

// --- absl::Notification: Notify releases, a successful wait acquires. --------

#define ABSL_NOTIFICATION(name) "_ZN4absl7debian312Notification" name
#define ABSL_NOTIFICATION_CONST(name) "_ZNK4absl7debian312Notification" name

void NotificationNotify(void* n) __asm__(ABSL_NOTIFICATION("6NotifyEv"));
void NotificationNotify(void* n) {
  static auto real = Real<void (*)(void*)>(ABSL_NOTIFICATION("6NotifyEv"));
  __tsan_release(n);
  real(n);
}

void NotificationWait(const void* n) __asm__(
    ABSL_NOTIFICATION_CONST("19WaitForNotificationEv"));
void NotificationWait(const void* n) {
  static auto real = Real<void (*)(const void*)>(
      ABSL_NOTIFICATION_CONST("19WaitForNotificationEv"));
  real(n);
  __tsan_acquire(const_cast<void*>(n));
}

#define NOTIFICATION_WAIT_WITH(fn, symbol, type)                               \
  bool fn(const void* n, type limit) __asm__(ABSL_NOTIFICATION_CONST(symbol)); \
  bool fn(const void* n, type limit) {                                         \
    static auto real =                                                         \
        Real<bool (*)(const void*, type)>(ABSL_NOTIFICATION_CONST(symbol));    \
    const bool notified = real(n, limit);                                      \
    if (notified) __tsan_acquire(const_cast<void*>(n));                        \
    return notified;                                                           \
  }
NOTIFICATION_WAIT_WITH(NotificationWaitWithTimeout,
                       "30WaitForNotificationWithTimeoutENS0_8DurationE",
                       absl::Duration)
NOTIFICATION_WAIT_WITH(NotificationWaitWithDeadline,
                       "31WaitForNotificationWithDeadlineENS0_4TimeE",
                       absl::Time)
