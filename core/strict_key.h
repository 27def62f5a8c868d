// File: core/strict_key.h
// -----------------------------------------------------------------------------
//
// The layout of strict keys, shared by the core (which builds them) and the
// backends (which match them against partial-clear patterns).
//
// A strict key holds one segment per keyed parameter, each the parameter's
// key encoding (core/key_encoder.h) in the backend's `KeyFormat`:
//   - binary: each segment written as `varint(length) bytes`;
//   - text: the segments joined by `|` (a text segment is never empty, and
//     `|` appears in one only inside a quoted string).
// A backend never needs the parameter types: it splits a key into segments
// and compares them byte for byte with a `KeyPattern`, so a value such as
// "world.*" matches only itself.
//
// Header-only and part of the plugin SDK.

#ifndef CACHE_ALCHEMY_CORE_STRICT_KEY_H_
#define CACHE_ALCHEMY_CORE_STRICT_KEY_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/backend.h"

namespace cache_alchemy {

// Appends `n` as a LEB128 varint to `out`.
inline void AppendVarint(uint64_t n, std::string* out) {
  while (n >= 0x80) {
    out->push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out->push_back(static_cast<char>(n));
}

// Reads a LEB128 varint from the front of `*in`, advancing it. Returns false
// on truncated or overlong input.
inline bool ReadVarint(std::string_view* in, uint64_t* n) {
  uint64_t result = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (in->empty()) return false;
    const auto byte = static_cast<unsigned char>(in->front());
    in->remove_prefix(1);
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *n = result;
      return true;
    }
  }
  return false;
}

// Appends one strict-key segment to `key`, in `format`.
inline void AppendStrictSegment(std::string_view segment, std::string* key,
                                KeyFormat format = KeyFormat::kBinary) {
  if (format == KeyFormat::kText) {
    if (!key->empty()) key->push_back('|');
    key->append(segment.data(), segment.size());
    return;
  }
  AppendVarint(segment.size(), key);
  key->append(segment.data(), segment.size());
}

// Splits a strict key into its segments (views into `key`). Returns false if
// `key` is not a well-formed strict key of `format`.
inline bool SplitStrictKey(std::string_view key,
                           std::vector<std::string_view>* segments,
                           KeyFormat format = KeyFormat::kBinary) {
  segments->clear();
  if (format == KeyFormat::kText) {
    if (key.empty()) return true;
    bool quoted = false;
    size_t start = 0;
    for (size_t i = 0; i < key.size(); ++i) {
      const char c = key[i];
      if (quoted) {
        if (c == '\\') {
          ++i;  // the escaped character
        } else if (c == '"') {
          quoted = false;
        }
      } else if (c == '"') {
        quoted = true;
      } else if (c == '|') {
        if (i == start) return false;  // empty segment
        segments->push_back(key.substr(start, i - start));
        start = i + 1;
      }
    }
    if (quoted || start >= key.size()) return false;
    segments->push_back(key.substr(start));
    return true;
  }
  while (!key.empty()) {
    uint64_t size = 0;
    if (!ReadVarint(&key, &size) || size > key.size()) return false;
    segments->push_back(key.substr(0, size));
    key.remove_prefix(size);
  }
  return true;
}

// True if strict key `key` matches `pattern`: the same number of segments and
// every filled pattern slot equal to its segment. A malformed key matches
// nothing.
inline bool StrictKeyMatches(std::string_view key, const KeyPattern& pattern,
                             KeyFormat format = KeyFormat::kBinary) {
  std::vector<std::string_view> segments;
  if (!SplitStrictKey(key, &segments, format)) return false;
  if (segments.size() != pattern.segments.size()) return false;
  for (size_t i = 0; i < segments.size(); ++i) {
    const auto& want = pattern.segments[i];
    if (want.has_value() && segments[i] != *want) return false;
  }
  return true;
}

}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_STRICT_KEY_H_
