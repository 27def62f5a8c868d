// File: core/key_encoder.h
// -----------------------------------------------------------------------------
//
// How function arguments become cache keys, in one of two formats chosen by
// the backend (`Backend::key_format`, core/backend.h):
//   - binary (in-process stores): every supported type has a self-delimiting
//     encoding (fixed width for scalars, a length prefix for strings and
//     containers);
//   - text (stores people inspect, such as Redis): printable, shell-safe
//     tokens: `42`, `-1.5`, `true`, `"bob"` (with `\"`, `\\` and `\xHH`
//     escapes), `null`, `[1,2]` (sequences and sets), `(1,"a")` (pairs,
//     tuples and user types), `{"k":1}` (maps); arguments separated by `,`.
// Either way the concatenation of several arguments can never collide:
// f("ab", "c") and f("a", "bc") give different keys.
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
#include <bit>
#include <charconv>
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
struct IsStdMap : std::false_type {};
template <typename K, typename V, typename C, typename A>
struct IsStdMap<std::map<K, V, C, A>> : std::true_type {};

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

// The text of a floating-point argument in text keys, at `p` (at most 32
// bytes; returns the end): the shortest text that reads back exactly, so
// "-0" for -0.0; for a NaN "nan" or "-nan", then for a float's or double's
// NaN whose payload is not the default quiet NaN's, its bits
// ("nan:0x7ff8000000000001"). Distinct arguments stay distinct, as in the
// binary form, which keys a float or a double by its bits. A long double
// NaN's payload is not kept (std::to_chars prints none).
template <typename U>
char* FloatKeyText(U value, char* p, char* end) {
  if (!std::isnan(value)) return std::to_chars(p, end, value).ptr;
  const std::string_view word = std::signbit(value) ? "-nan" : "nan";
  std::memcpy(p, word.data(), word.size());
  p += word.size();
  if constexpr (sizeof(U) == 4 || sizeof(U) == 8) {
    using Bits = std::conditional_t<sizeof(U) == 4, uint32_t, uint64_t>;
    const Bits bits = std::bit_cast<Bits>(value);
    const Bits quiet = std::bit_cast<Bits>(
        std::copysign(std::numeric_limits<U>::quiet_NaN(), value));
    if (bits != quiet) {
      std::memcpy(p, ":0x", 3);
      p = std::to_chars(p + 3, end, bits, 16).ptr;
    }
  }
  return p;
}

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
  // Writes into `*out` (appending) in `format`. `out` must outlive the
  // writer.
  explicit KeyWriter(std::string* out, KeyFormat format = KeyFormat::kBinary)
      : out_(out), text_(format == KeyFormat::kText) {}

  // Appends the encodings of `values`, in order.
  template <typename... T>
  void Add(const T&... values) {
    (AddOne(values), ...);
  }

  // Appends raw bytes as one self-delimiting blob (text: `b"..."`).
  void AddBytes(std::string_view bytes) {
    if (text_) {
      Separate();
      out_->push_back('b');
      AppendQuoted(bytes);
      return;
    }
    AppendVarint(bytes.size(), out_);
    out_->append(bytes.data(), bytes.size());
  }

  // The buffer written to.
  std::string* buffer() const { return out_; }
  // The format written.
  KeyFormat format() const {
    return text_ ? KeyFormat::kText : KeyFormat::kBinary;
  }

 private:
  template <typename T>
  void AddRaw(const T& value) {
    char raw[sizeof(T)];
    std::memcpy(raw, &value, sizeof(T));
    out_->append(raw, sizeof(T));
  }

  // Text: a ',' before every token but the first of its group.
  void Separate() {
    if (!first_) out_->push_back(',');
    first_ = false;
  }
  // Text: writes `open`, the tokens `body` adds as a group, then `close`.
  template <typename Body>
  void Group(char open, char close, Body body) {
    Separate();
    out_->push_back(open);
    first_ = true;
    body();
    first_ = false;
    out_->push_back(close);
  }
  template <typename T>
  void AppendNumber(const T& value) {
    char buf[128];
    const std::to_chars_result r = std::to_chars(buf, buf + sizeof(buf), value);
    out_->append(buf, r.ptr);
  }
  // `"` + bytes with `"`, `\`, `'`, controls and non-ASCII escaped + `"`.
  void AppendQuoted(std::string_view bytes) {
    static constexpr char kHex[] = "0123456789abcdef";
    out_->push_back('"');
    for (char c : bytes) {
      const auto u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        out_->push_back('\\');
        out_->push_back(c);
      } else if (u < 0x20 || u > 0x7e || c == '\'') {
        const char escape[4] = {'\\', 'x', kHex[u >> 4], kHex[u & 0xf]};
        out_->append(escape, 4);
      } else {
        out_->push_back(c);
      }
    }
    out_->push_back('"');
  }

  template <typename T>
  void AddOne(const T& value);
  template <typename T>
  void AddOneText(const T& value);

  std::string* out_;
  bool text_;
  bool first_ = true;  // text: no token written yet in the current group
};

namespace internal {

// Text: whether an engaged optional<T> must be marked, because T itself may
// write `null`.
template <typename T>
inline constexpr bool kMayWriteNull =
    IsStdOptional<T>::value || std::is_same_v<T, const char*> ||
    std::is_same_v<T, char*>;

}  // namespace internal

template <typename T>
void KeyWriter::AddOne(const T& value) {
  using U = std::remove_cv_t<T>;
  if (text_) {
    AddOneText(value);
    return;
  }
  if constexpr (std::is_same_v<U, bool>) {
    out_->push_back(value ? '\1' : '\0');
  } else if constexpr (std::is_integral_v<U>) {
    AddRaw(value);
  } else if constexpr (std::is_same_v<U, long double>) {
    // Not bytewise: an x87 long double has 6 bytes of padding, which hold
    // whatever the stack held. The shortest round-trip text is exact and
    // keeps the sign of a zero or a NaN ("-0", "-nan"); NaN payloads are
    // not kept (to_chars prints none).
    char buf[128];
    const std::to_chars_result r = std::to_chars(buf, buf + sizeof(buf), value);
    AddBytes(std::string_view(buf, r.ptr - buf));
  } else if constexpr (std::is_floating_point_v<U>) {
    static_assert(sizeof(U) == 4 || sizeof(U) == 8,
                  "cache_alchemy: a floating type with padding bytes");
    // The bits: -0.0 is not 0.0 and every NaN is its own key, since a
    // function can tell them apart (1/x, copysign, signbit).
    AddRaw(value);
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
        "cache_alchemy: this type has no cache-key encoding. Add, in the "
        "namespace of the type, `void EncodeCacheKey(cache_alchemy::"
        "KeyWriter& w, const YourType& v) { w.Add(v.field1, v.field2); }` "
        "(see core/key_encoder.h).");
  }
}

template <typename T>
void KeyWriter::AddOneText(const T& value) {
  using U = std::remove_cv_t<T>;
  if constexpr (std::is_same_v<U, bool>) {
    Separate();
    out_->append(value ? "true" : "false");
  } else if constexpr (std::is_integral_v<U>) {
    Separate();
    AppendNumber(value);
  } else if constexpr (std::is_floating_point_v<U>) {
    Separate();
    char buf[48];
    out_->append(buf, internal::FloatKeyText(value, buf, buf + sizeof(buf)));
  } else if constexpr (std::is_enum_v<U>) {
    Separate();
    AppendNumber(static_cast<std::underlying_type_t<U>>(value));
  } else if constexpr (std::is_same_v<U, std::string> ||
                       std::is_same_v<U, std::string_view>) {
    Separate();
    AppendQuoted(value);
  } else if constexpr (std::is_same_v<U, const char*> ||
                       std::is_same_v<U, char*>) {
    Separate();
    if (value == nullptr) {
      out_->append("null");
    } else {
      AppendQuoted(value);
    }
  } else if constexpr (std::is_array_v<U> &&
                       std::is_same_v<std::remove_cv_t<std::remove_extent_t<U>>,
                                      char>) {
    Separate();
    AppendQuoted(std::string_view(value));
  } else if constexpr (internal::IsStdOptional<U>::value) {
    if (!value.has_value()) {
      Separate();
      out_->append("null");
    } else if constexpr (internal::kMayWriteNull<typename U::value_type>) {
      Separate();
      out_->push_back('?');  // engaged, around a value that may be `null`
      first_ = true;
      AddOne(*value);
    } else {
      AddOne(*value);
    }
  } else if constexpr (internal::IsStdTuple<U>::value) {
    Group('(', ')', [&] {
      std::apply([this](const auto&... elems) { (AddOne(elems), ...); }, value);
    });
  } else if constexpr (internal::IsStdArray<U>::value) {
    Group('[', ']', [&] {
      for (const auto& elem : value) AddOne(elem);
    });
  } else if constexpr (internal::IsStdMap<U>::value) {
    Group('{', '}', [&] {
      for (const auto& [k, v] : value) {
        AddOne(k);
        out_->push_back(':');
        first_ = true;
        AddOne(v);
      }
    });
  } else if constexpr (internal::IsOrderedContainer<U>::value) {
    Group('[', ']', [&] {
      for (const auto& elem : value) {
        AddOne(static_cast<const typename U::value_type&>(elem));
      }
    });
  } else if constexpr (internal::HasUserEncoding<U>::value) {
    Group('(', ')', [&] { EncodeCacheKey(*this, value); });
  } else {
    // Nothing: AddOne, always instantiated alongside, states what is
    // missing (one message, not two).
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

// Appends the encoding of one value to `out`, in `format`.
template <typename T>
void EncodeKeyPart(const T& value, std::string* out,
                   KeyFormat format = KeyFormat::kBinary) {
  KeyWriter(out, format).Add(value);
}

}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_KEY_ENCODER_H_
