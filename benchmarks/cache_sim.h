// File: benchmarks/cache_sim.h
// -----------------------------------------------------------------------------
//
// Hit-ratio simulation: request traces (Zipf, optionally with one-pass scans
// mixed in) and compact reference implementations of the eviction policies
// the in-process store is measured against: LRU, SIEVE (Zhang et al., NSDI
// 2024), S3-FIFO as published (Yang et al., SOSP 2023: promotion after two
// hits) and W-TinyLFU (Einziger et al., "TinyLFU", ACM TOS 2017; Caffeine's
// window LRU + segmented main + count-min admission). Each reference is a
// plain single-threaded `Policy` keyed by uint64; the real store is driven
// through the same interface by the benchmark.
//
//   Trace trace = ZipfTrace({.keys = 1'000'000, .requests = 10'000'000,
//                            .alpha = 0.9, .seed = 1});
//   LruPolicy lru(10'000);
//   double ratio = HitRatio(lru, trace);

#ifndef CACHE_ALCHEMY_BENCHMARKS_CACHE_SIM_H_
#define CACHE_ALCHEMY_BENCHMARKS_CACHE_SIM_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <list>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace cache_alchemy {
namespace sim {

// A request trace: the key of each request, and which requests belong to
// the measured workload (scan requests are served but not counted).
struct Trace {
  std::vector<uint64_t> keys;
  std::vector<bool> measured;  // empty: every request is measured
};

struct ZipfOptions {
  uint64_t keys = 1'000'000;
  uint64_t requests = 10'000'000;
  double alpha = 0.9;
  uint64_t seed = 1;
  // Every `scan_every` Zipf requests, a scan of `scan_length` keys never
  // seen before (and never requested again). 0: no scans.
  uint64_t scan_every = 0;
  uint64_t scan_length = 0;
};

// Zipf(alpha) over `keys` keys (rank r has weight 1/r^alpha), the ranks
// scattered over the key space by a fixed permutation.
inline Trace ZipfTrace(const ZipfOptions& o) {
  std::vector<double> cdf(o.keys);
  double sum = 0;
  for (uint64_t r = 0; r < o.keys; ++r) {
    sum += 1.0 / std::pow(static_cast<double>(r + 1), o.alpha);
    cdf[r] = sum;
  }
  std::vector<uint64_t> key_of_rank(o.keys);
  for (uint64_t r = 0; r < o.keys; ++r) key_of_rank[r] = r;
  std::mt19937_64 rng(o.seed);
  std::shuffle(key_of_rank.begin(), key_of_rank.end(), rng);
  std::uniform_real_distribution<double> uniform(0.0, sum);
  Trace trace;
  trace.keys.reserve(o.requests);
  const bool scans = o.scan_every > 0 && o.scan_length > 0;
  if (scans) trace.measured.reserve(o.requests * 2);
  uint64_t next_scan_key = o.keys;  // beyond the Zipf key space
  for (uint64_t i = 0; i < o.requests; ++i) {
    const double u = uniform(rng);
    const uint64_t rank =
        std::lower_bound(cdf.begin(), cdf.end(), u) - cdf.begin();
    trace.keys.push_back(key_of_rank[std::min(rank, o.keys - 1)]);
    if (scans) trace.measured.push_back(true);
    if (scans && (i + 1) % o.scan_every == 0) {
      for (uint64_t s = 0; s < o.scan_length; ++s) {
        trace.keys.push_back(next_scan_key++);
        trace.measured.push_back(false);
      }
    }
  }
  return trace;
}

// A cache of keys: Get returns whether `key` was cached, and caches it.
class Policy {
 public:
  virtual ~Policy() = default;
  virtual bool Access(uint64_t key) = 0;
};

// The fraction of measured requests that hit.
inline double HitRatio(Policy& policy, const Trace& trace) {
  uint64_t hits = 0, measured = 0;
  for (size_t i = 0; i < trace.keys.size(); ++i) {
    const bool hit = policy.Access(trace.keys[i]);
    if (trace.measured.empty() || trace.measured[i]) {
      ++measured;
      hits += hit;
    }
  }
  return measured == 0 ? 0 : static_cast<double>(hits) / measured;
}

class LruPolicy final : public Policy {
 public:
  explicit LruPolicy(size_t capacity) : capacity_(capacity) {}
  bool Access(uint64_t key) override {
    auto it = index_.find(key);
    if (it != index_.end()) {
      order_.splice(order_.begin(), order_, it->second);
      return true;
    }
    order_.push_front(key);
    index_[key] = order_.begin();
    if (order_.size() > capacity_) {
      index_.erase(order_.back());
      order_.pop_back();
    }
    return false;
  }

 private:
  size_t capacity_;
  std::list<uint64_t> order_;
  absl::flat_hash_map<uint64_t, std::list<uint64_t>::iterator> index_;
};

// SIEVE: one FIFO queue; a hit sets a bit; the hand walks from the tail
// toward the head, clearing bits, and evicts the first unvisited entry; new
// entries go to the head; the hand wraps to the tail.
class SievePolicy final : public Policy {
 public:
  explicit SievePolicy(size_t capacity) : capacity_(capacity) {}
  bool Access(uint64_t key) override {
    auto it = index_.find(key);
    if (it != index_.end()) {
      it->second->visited = true;
      return true;
    }
    if (queue_.size() >= capacity_) Evict();
    queue_.push_front({key, false});
    index_[key] = queue_.begin();
    return false;
  }

 private:
  struct Entry {
    uint64_t key;
    bool visited;
  };
  void Evict() {
    auto hand = hand_valid_ ? hand_ : std::prev(queue_.end());
    while (hand->visited) {
      hand->visited = false;
      hand = hand == queue_.begin() ? std::prev(queue_.end()) : std::prev(hand);
    }
    auto next = hand == queue_.begin() ? queue_.end() : std::prev(hand);
    index_.erase(hand->key);
    queue_.erase(hand);
    hand_valid_ = next != queue_.end();
    if (hand_valid_) hand_ = next;
  }

  size_t capacity_;
  std::list<Entry> queue_;  // front: newest
  std::list<Entry>::iterator hand_;
  bool hand_valid_ = false;
  absl::flat_hash_map<uint64_t, std::list<Entry>::iterator> index_;
};

// S3-FIFO as published: small queue 10%, main 90%, ghost of the main
// queue's size, counters saturating at 3; an entry leaves the small queue
// for the main one if it was hit at least `promote_after` times (the paper:
// more than once).
class S3FifoPolicy final : public Policy {
 public:
  explicit S3FifoPolicy(size_t capacity, int promote_after = 2)
      : small_capacity_(std::max<size_t>(1, capacity / 10)),
        main_capacity_(capacity - std::max<size_t>(1, capacity / 10)),
        promote_after_(promote_after) {}
  bool Access(uint64_t key) override {
    auto it = index_.find(key);
    if (it != index_.end()) {
      it->second.freq = std::min(it->second.freq + 1, 3);
      return true;
    }
    while (small_.size() + main_.size() >= small_capacity_ + main_capacity_) {
      Evict();
    }
    if (ghost_index_.count(key)) {
      main_.push_front(key);
      index_[key] = {0, true};
    } else {
      small_.push_front(key);
      index_[key] = {0, false};
    }
    return false;
  }

 private:
  struct Meta {
    int freq;
    bool in_main;
  };
  void Evict() {
    if (small_.size() >= small_capacity_ || main_.empty()) {
      while (!small_.empty()) {
        const uint64_t tail = small_.back();
        small_.pop_back();
        Meta& m = index_[tail];
        if (m.freq >= promote_after_) {
          m.freq = 0;
          m.in_main = true;
          main_.push_front(tail);
          if (main_.size() > main_capacity_) EvictMain();
        } else {
          index_.erase(tail);
          ghost_.push_front(tail);
          ++ghost_index_[tail];
          if (ghost_.size() > main_capacity_) {
            const uint64_t old = ghost_.back();
            ghost_.pop_back();
            if (--ghost_index_[old] == 0) ghost_index_.erase(old);
          }
          return;
        }
      }
    }
    EvictMain();
  }
  void EvictMain() {
    while (!main_.empty()) {
      const uint64_t tail = main_.back();
      main_.pop_back();
      Meta& m = index_[tail];
      if (m.freq > 0) {
        --m.freq;
        main_.push_front(tail);
      } else {
        index_.erase(tail);
        return;
      }
    }
  }

  size_t small_capacity_, main_capacity_;
  int promote_after_;
  std::list<uint64_t> small_, main_, ghost_;
  absl::flat_hash_map<uint64_t, Meta> index_;
  absl::flat_hash_map<uint64_t, int> ghost_index_;
};

// W-TinyLFU: a window LRU (1%), a segmented LRU main cache (20% probation,
// 80% protected) and TinyLFU admission: a window victim enters the main
// cache only if the count-min sketch (4 counters per key, halved every
// 10 x capacity accesses) estimates it more frequent than the main victim.
class WTinyLfuPolicy final : public Policy {
 public:
  explicit WTinyLfuPolicy(size_t capacity)
      : window_capacity_(std::max<size_t>(1, capacity / 100)),
        protected_capacity_((capacity - window_capacity_) * 8 / 10),
        main_capacity_(capacity - window_capacity_),
        sketch_(NextPowerOfTwo(std::max<size_t>(16, capacity * 4))),
        reset_at_(10 * capacity) {}

  bool Access(uint64_t key) override {
    Record(key);
    auto it = index_.find(key);
    if (it != index_.end()) {
      Entry& e = it->second;
      if (e.where == kWindow) {
        window_.splice(window_.begin(), window_, e.it);
      } else if (e.where == kProtected) {
        protected_.splice(protected_.begin(), protected_, e.it);
      } else {  // probation -> protected
        protected_.splice(protected_.begin(), probation_, e.it);
        e.where = kProtected;
        if (protected_.size() > protected_capacity_) {
          const uint64_t demoted = protected_.back();
          probation_.splice(probation_.begin(), protected_,
                            std::prev(protected_.end()));
          index_[demoted].where = kProbation;
        }
      }
      return true;
    }
    window_.push_front(key);
    index_[key] = {kWindow, window_.begin()};
    if (window_.size() > window_capacity_) {
      const uint64_t candidate = window_.back();
      window_.pop_back();
      index_.erase(candidate);
      Admit(candidate);
    }
    return false;
  }

 private:
  enum Where { kWindow, kProbation, kProtected };
  struct Entry {
    Where where;
    std::list<uint64_t>::iterator it;
  };
  static size_t NextPowerOfTwo(size_t n) {
    size_t p = 1;
    while (p < n) p <<= 1;
    return p;
  }
  static uint64_t Mix(uint64_t x, int i) {
    x ^= 0x9e3779b97f4a7c15ull * (i + 1);
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
  }
  void Record(uint64_t key) {
    for (int i = 0; i < 4; ++i) {
      uint8_t& c = sketch_[Mix(key, i) & (sketch_.size() - 1)];
      if (c < 15) ++c;
    }
    if (++samples_ >= reset_at_) {
      for (uint8_t& c : sketch_) c >>= 1;
      samples_ /= 2;
    }
  }
  int Estimate(uint64_t key) const {
    int best = 15;
    for (int i = 0; i < 4; ++i) {
      best = std::min<int>(best, sketch_[Mix(key, i) & (sketch_.size() - 1)]);
    }
    return best;
  }
  void Admit(uint64_t candidate) {
    if (probation_.size() + protected_.size() < main_capacity_) {
      probation_.push_front(candidate);
      index_[candidate] = {kProbation, probation_.begin()};
      return;
    }
    std::list<uint64_t>& victims = probation_.empty() ? protected_ : probation_;
    const uint64_t victim = victims.back();
    if (Estimate(candidate) <= Estimate(victim)) return;  // rejected
    victims.pop_back();
    index_.erase(victim);
    probation_.push_front(candidate);
    index_[candidate] = {kProbation, probation_.begin()};
  }

  size_t window_capacity_, protected_capacity_, main_capacity_;
  std::list<uint64_t> window_, probation_, protected_;
  absl::flat_hash_map<uint64_t, Entry> index_;
  std::vector<uint8_t> sketch_;
  uint64_t samples_ = 0;
  uint64_t reset_at_;
};

}  // namespace sim
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_BENCHMARKS_CACHE_SIM_H_
