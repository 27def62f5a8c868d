// File: testing/versioned_keys.h
// -----------------------------------------------------------------------------
//
// Versioned data that tells a stale answer from a right one, for tests and
// soaks that call cached functions while the data changes: a version per key
// (the data itself: what the cached functions return) and, per cached
// function and key, a floor: the newest version a clear of that function
// covered and that returned. A writer bumps a key's version, clears the key
// (retrying until the clear returns: a clear that threw ClearError covers
// nothing) and only then commits the version as the floor. A reader reads
// the floor BEFORE calling the function; an answer below it is stale, a
// wrong answer (the clear that covered it had returned before the call).
//
// The data lives in memory the caller provides: the heap for the threads of
// one process, or a MAP_SHARED mapping made before fork() for several
// processes (every field is a lock-free std::atomic, valid across
// processes; the object itself may be copied into the children by fork()).
//
//   std::vector<uint64_t> memory(VersionedKeys::Words(keys, functions));
//   VersionedKeys data(memory.data(), keys, functions);
//   // writer                              // reader
//   int v = data.Bump(k);                  auto floor = data.FloorOf(f, k);
//   clear function f's key k (retry);      int got = call f(k);
//   data.Commit(f, k, v, /*writer=*/0);    if (got < floor.version) stale!
//
// Thread safety: every method may be called from any thread or process.

#ifndef CACHE_ALCHEMY_TESTING_VERSIONED_KEYS_H_
#define CACHE_ALCHEMY_TESTING_VERSIONED_KEYS_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <new>

namespace cache_alchemy {
namespace testing {

class VersionedKeys {
 public:
  // What an answer is checked against.
  struct Floor {
    int version = 1;    // the newest version whose clear returned
    int writer = 0;     // who committed it (Commit's `writer`)
    int64_t at_ns = 0;  // when it was committed (steady clock, shared by
                        // every process); at or after the real commit
  };

  // The number of uint64_t words of memory `keys` keys and `functions`
  // functions need.
  static size_t Words(int keys, int functions) {
    return static_cast<size_t>(keys) * (1 + 2 * functions);
  }

  // Lays the data out in `memory` (Words(keys, functions) words, which must
  // outlive every copy of this object) and sets every version and floor to
  // 1. Call once, before any other thread or process uses the memory.
  VersionedKeys(uint64_t* memory, int keys, int functions)
      : keys_(keys), functions_(functions) {
    static_assert(std::atomic<uint64_t>::is_always_lock_free &&
                      std::atomic<int64_t>::is_always_lock_free &&
                      sizeof(std::atomic<uint64_t>) == sizeof(uint64_t),
                  "versioned data must be lock-free to be shared by processes");
    versions_ = new (memory) std::atomic<uint64_t>[keys];
    floors_ = new (memory + keys) std::atomic<uint64_t>[Cells()];
    commit_ns_ = new (memory + keys + Cells()) std::atomic<int64_t>[Cells()];
    for (int k = 0; k < keys; ++k) versions_[k].store(1);
    for (size_t c = 0; c < Cells(); ++c) {
      floors_[c].store(Pack(1, 0));
      commit_ns_[c].store(0);
    }
  }

  int keys() const { return keys_; }
  int functions() const { return functions_; }

  // The current version of `key`'s data: what a cached function returns.
  int Version(int key) const {
    return static_cast<int>(versions_[key].load(std::memory_order_acquire));
  }

  // Makes a new version of `key`'s data and returns it. Readers may see
  // older answers until a clear of every function covered it (Commit).
  int Bump(int key) {
    return static_cast<int>(
        versions_[key].fetch_add(1, std::memory_order_acq_rel) + 1);
  }

  // Records that a clear of `function` covering `key`, begun after Bump
  // returned `version`, returned: from now on the function's answers for
  // `key` must be at least `version`. `writer` (0 to 65535) says who
  // committed it. Floors only rise (two writers may commit out of order).
  void Commit(int function, int key, int version, int writer) {
    const size_t c = Cell(function, key);
    // The time first, so that a reader that sees the floor sees a time at
    // or after this commit.
    const int64_t now = NowNs();
    int64_t at = commit_ns_[c].load(std::memory_order_relaxed);
    while (at < now && !commit_ns_[c].compare_exchange_weak(
                           at, now, std::memory_order_release)) {
    }
    const uint64_t packed = Pack(version, writer);
    uint64_t floor = floors_[c].load(std::memory_order_relaxed);
    while (floor < packed && !floors_[c].compare_exchange_weak(
                                 floor, packed, std::memory_order_acq_rel)) {
    }
  }

  // The floor of `function`'s answers for `key`; read it before the call.
  Floor FloorOf(int function, int key) const {
    const size_t c = Cell(function, key);
    const uint64_t packed = floors_[c].load(std::memory_order_acquire);
    Floor floor;
    floor.version = static_cast<int>(packed >> 16);
    floor.writer = static_cast<int>(packed & 0xffff);
    floor.at_ns = commit_ns_[c].load(std::memory_order_acquire);
    return floor;
  }

  // Steady-clock nanoseconds (CLOCK_MONOTONIC: the same clock in every
  // process of the machine).
  static int64_t NowNs() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

 private:
  size_t Cells() const { return static_cast<size_t>(keys_) * functions_; }
  size_t Cell(int function, int key) const {
    return static_cast<size_t>(function) * keys_ + key;
  }
  static uint64_t Pack(int version, int writer) {
    return (static_cast<uint64_t>(version) << 16) |
           (static_cast<uint64_t>(writer) & 0xffff);
  }

  int keys_;
  int functions_;
  std::atomic<uint64_t>* versions_;
  std::atomic<uint64_t>* floors_;
  std::atomic<int64_t>* commit_ns_;
};

}  // namespace testing
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_TESTING_VERSIONED_KEYS_H_
