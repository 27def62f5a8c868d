// File: core/key_encoder.h
// -----------------------------------------------------------------------------
//
// How function arguments become cache keys. Every supported type has a
// self-delimiting binary encoding (fixed width for scalars, a length prefix
// for strings and containers), so the concatenation of several arguments can
// never collide: f("ab", "c") and f("a", "bc") give different keys.
//
// Supported out of the box: arithmetic types, bool, enums, std::string,
// std::string_view, const char*, std::optional, std::pair, std::tuple,
// std::vector, std::array, std::map, std::set (and their unordered / multi
// cousins are deliberately left out: their iteration order is not a value).
//
// The customization point for your own types is one function found by ADL, in
// the namespace of your type:
//
//   struct Point { int x; int y; std::string label; };
//   void EncodeCacheKey(cache_alchemy::KeyWriter& w, const Point& p) {
//     w.Add(p.x, p.y, p.label);
//   }
//
// Encode every field that takes part in equality, through `Add`, so that the
// result stays self-delimiting. A type with neither a built-in encoding nor an
// `EncodeCacheKey` overload fails to compile with a message saying so.

#ifndef CACHE_ALCHEMY_CORE_KEY_ENCODER_H_
#define CACHE_ALCHEMY_CORE_KEY_ENCODER_H_

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/strict_key.h"

namespace cache_alchemy {

class KeyWriter;

namespace internal {

template <typename T>
struct IsStdTuple : std::false_type {};
template <typename... T>
struct IsStdTuple<std::tuple<T...>> : std::true_type {};
template <typename A, typename B>
struct IsStdTuple<std::pair<A, B>> : std::true_type {};

template <typename T>
struct IsStdOptional : std::false_type {};
template <typename T>
struct IsStdOptional<std::optional<T>> : std::true_type {};

template <typename T>
struct IsStdArray : std::false_type {};
template <typename T, size_t N>
struct IsStdArray<std::array<T, N>> : std::true_type {};

template <typename T>
struct IsOrderedContainer : std::false_type {};
template <typename T, typename A>
struct IsOrderedContainer<std::vector<T, A>> : std::true_type {};
template <typename K, typename C, typename A>
struct IsOrderedContainer<std::set<K, C, A>> : std::true_type {};
template <typename K, typename V, typename C, typename A>
struct IsOrderedContainer<std::map<K, V, C, A>> : std::true_type {};

template <typename T>
inline constexpr bool kIsStringLike =
    std::is_same_v<T, std::string> || std::is_same_v<T, std::string_view> ||
    std::is_same_v<T, const char*> || std::is_same_v<T, char*>;

// Detects a user overload `EncodeCacheKey(KeyWriter&, const T&)` by ADL.
template <typename T, typename = void>
struct HasUserEncoding : std::false_type {};
template <typename T>
struct HasUserEncoding<
    T, std::void_t<decltype(EncodeCacheKey(std::declval<KeyWriter&>(),
                                           std::declval<const T&>()))>>
    : std::true_type {};

}  // namespace internal

// True if values of type `T` (after decay) can be part of a cache key.
template <typename T>
struct IsKeyEncodable;

// Appends the self-delimiting encoding of values to a key buffer. Used by the
// core and by user `EncodeCacheKey` overloads.
//
// Thread safety: a KeyWriter is used by one thread at a time.
class KeyWriter {
 public:
  // Writes into `*out` (appending). `out` must outlive the writer.
  explicit KeyWriter(std::string* out) : out_(out) {}

  // Appends the encodings of `values`, in order.
  template <typename... T>
  void Add(const T&... values) {
    (AddOne(values), ...);
  }

  // Appends raw bytes with a length prefix (a self-delimiting blob).
  void AddBytes(std::string_view bytes) {
    AppendVarint(bytes.size(), out_);
    out_->append(bytes.data(), bytes.size());
  }

  // The buffer written to.
  std::string* buffer() const { return out_; }

 private:
  template <typename T>
  void AddRaw(const T& value) {
    char raw[sizeof(T)];
    std::memcpy(raw, &value, sizeof(T));
    out_->append(raw, sizeof(T));
  }

  template <typename T>
  void AddOne(const T& value);

  std::string* out_;
};

template <typename T>
void KeyWriter::AddOne(const T& value) {
  using U = std::remove_cv_t<T>;
  if constexpr (std::is_same_v<U, bool>) {
    out_->push_back(value ? '\1' : '\0');
  } else if constexpr (std::is_integral_v<U>) {
    AddRaw(value);
  } else if constexpr (std::is_floating_point_v<U>) {
    U v = value;
    if (v == U(0)) v = U(0);  // -0.0 and 0.0 compare equal: one key
    if (std::isnan(v)) v = std::numeric_limits<U>::quiet_NaN();
    AddRaw(v);
  } else if constexpr (std::is_enum_v<U>) {
    AddRaw(static_cast<std::underlying_type_t<U>>(value));
  } else if constexpr (std::is_same_v<U, std::string> ||
                       std::is_same_v<U, std::string_view>) {
    AddBytes(value);
  } else if constexpr (std::is_same_v<U, const char*> ||
                       std::is_same_v<U, char*>) {
    // A null pointer and "" are different arguments: tag them.
    if (value == nullptr) {
      out_->push_back('\0');
    } else {
      out_->push_back('\1');
      AddBytes(std::string_view(value));
    }
  } else if constexpr (std::is_array_v<U> &&
                       std::is_same_v<std::remove_cv_t<std::remove_extent_t<U>>,
                                      char>) {
    // A string literal passed where the parameter is a char array reference.
    out_->push_back('\1');
    AddBytes(std::string_view(value));
  } else if constexpr (internal::IsStdOptional<U>::value) {
    if (value.has_value()) {
      out_->push_back('\1');
      AddOne(*value);
    } else {
      out_->push_back('\0');
    }
  } else if constexpr (internal::IsStdTuple<U>::value) {
    std::apply([this](const auto&... elems) { (AddOne(elems), ...); }, value);
  } else if constexpr (internal::IsStdArray<U>::value) {
    for (const auto& elem : value) AddOne(elem);
  } else if constexpr (internal::IsOrderedContainer<U>::value) {
    AppendVarint(value.size(), out_);
    for (const auto& elem : value) {
      AddOne(static_cast<const typename U::value_type&>(elem));
    }
  } else if constexpr (internal::HasUserEncoding<U>::value) {
    EncodeCacheKey(*this, value);
  } else {
    static_assert(
        internal::HasUserEncoding<U>::value,
        "cache_alchemy: this argument type has no cache-key encoding. Add, in "
        "the namespace of the type, `void EncodeCacheKey(cache_alchemy::"
        "KeyWriter& w, const YourType& v) { w.Add(v.field1, v.field2); }` "
        "(see core/key_encoder.h), or mark the parameter unkeyed with "
        "is_method.");
  }
}

template <typename T>
struct IsKeyEncodable {
 private:
  using U = std::remove_cv_t<std::remove_reference_t<T>>;

 public:
  static constexpr bool value =
      std::is_arithmetic_v<U> || std::is_enum_v<U> ||
      internal::kIsStringLike<U> || internal::IsStdOptional<U>::value ||
      internal::IsStdTuple<U>::value || internal::IsStdArray<U>::value ||
      internal::IsOrderedContainer<U>::value ||
      internal::HasUserEncoding<U>::value ||
      (std::is_array_v<U> &&
       std::is_same_v<std::remove_cv_t<std::remove_extent_t<U>>, char>);
};

// Appends the encoding of one value to `out`.
template <typename T>
void EncodeKeyPart(const T& value, std::string* out) {
  KeyWriter(out).Add(value);
}

}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_KEY_ENCODER_H_
