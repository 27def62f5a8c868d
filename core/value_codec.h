// File: core/value_codec.h
// -----------------------------------------------------------------------------
//
// How a function's result type is stored by each kind of backend:
//   - in-process backends (ValueFormat::kObject) keep the object itself: any
//     copy-constructible type works; a trivially copyable type of at most 16
//     bytes travels as its bytes instead (no allocation per entry);
//   - serializing backends store cereal archives: JSON text (kJson) or
//     portable binary (kBinary). The type needs a cereal `serialize` (or
//     `save`/`load`) function and a default constructor. Standard types
//     (strings, containers, optional, pair, tuple, chrono...) are covered by
//     the cereal headers included here.
//
//   struct Point { int x, y;
//     template <class Archive> void serialize(Archive& ar) { ar(x, y); } };
//
// A backend whose format the result type cannot be stored in is refused when
// the function is wrapped (std::invalid_argument naming the type and what to
// add), never later.
//
// Stored bytes are hostile input (anyone who can write to the Redis or
// Memcached server writes them): a value that does not decode is a miss, and
// decoding never crashes, hangs or allocates much more than the value's size:
//   - JSON nested deeper than kMaxJsonDepth is refused by a linear pre-scan
//     before rapidjson's recursive parser sees it, and so are numbers cereal
//     never writes that drive rapidjson 1.1.0 into undefined behaviour (a
//     zero significand such as "0e99", more than 20 significant digits, a
//     magnitude outside a double's range);
//   - binary is read with BoundedBinaryInputArchive
//     (core/bounded_binary_archive.h): no length prefix is trusted beyond the
//     bytes left, and a bool byte other than 0/1 is refused. A binary type
//     therefore needs a generic serialize/load (any Archive), not one written
//     for cereal::PortableBinaryInputArchive only.

#ifndef CACHE_ALCHEMY_CORE_VALUE_CODEC_H_
#define CACHE_ALCHEMY_CORE_VALUE_CODEC_H_

#include <array>
#include <bit>
#include <cstring>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>

#include "cereal/archives/json.hpp"
#include "cereal/archives/portable_binary.hpp"
#include "cereal/types/array.hpp"
#include "cereal/types/chrono.hpp"
#include "cereal/types/deque.hpp"
#include "cereal/types/list.hpp"
#include "cereal/types/map.hpp"
#include "cereal/types/memory.hpp"
#include "cereal/types/optional.hpp"
#include "cereal/types/set.hpp"
#include "cereal/types/string.hpp"
#include "cereal/types/tuple.hpp"
#include "cereal/types/unordered_map.hpp"
#include "cereal/types/unordered_set.hpp"
#include "cereal/types/utility.hpp"
#include "cereal/types/variant.hpp"
#include "cereal/types/vector.hpp"
#include "core/backend.h"
#include "core/bounded_binary_archive.h"

namespace cache_alchemy {

// The deepest nesting of JSON arrays/objects a stored JSON value may have
// (the `{"value": ...}` wrapper counts as one level). Deeper values are
// misses. Generous: a user type nests one level per struct or container.
inline constexpr int kMaxJsonDepth = 128;

namespace internal {

// The most significant digits (first to last nonzero digit) a stored JSON
// number may have. cereal writes at most 20 (UINT64_MAX; a double has 17).
inline constexpr int kMaxJsonSignificantDigits = 20;

// The decimal exponents a stored JSON number's first significant digit may
// have: a double's range (DBL_MAX is 1.8e308, the smallest subnormal
// 4.9e-324), with a little room.
inline constexpr int kMinJsonDecimalExponent = -326;
inline constexpr int kMaxJsonDecimalExponent = 310;

// A JSON number outside strings, starting at json[*i] (a digit or '-'),
// read as rapidjson reads it (-? int frac? exp?, stopping where the grammar
// does): advances *i past it. False for a number cereal never writes that
// drives rapidjson 1.1.0 (full-precision parsing, as cereal asks) into
// undefined behaviour and wrong values:
//   - a zero significand written other than 0, -0, 0.0 or -0.0 ("0e99",
//     zeros past 22 decimals): DiyFp::Normalize computes clz(0);
//   - more than kMaxJsonSignificantDigits significant digits: the rounding
//     of the first 20 overflows (18446744073709551615 followed by a 5 or
//     more becomes 0), then clz(0) again;
//   - a magnitude outside [1e-326, 1e310] ("0." + 440 zeros + "778"):
//     GetCachedPower10 indexes its table of powers of ten out of bounds.
inline bool JsonNumberOk(std::string_view json, size_t* i) {
  const size_t start = *i;
  size_t p = start;
  auto digit = [&](size_t at) {
    return at < json.size() && json[at] >= '0' && json[at] <= '9';
  };
  int digits_seen = 0;     // significand digits so far (int part, then frac)
  int first_nonzero = -1;  // their indexes among significand digits
  int last_nonzero = -1;
  auto digits = [&] {
    for (; digit(p); ++p) {
      if (json[p] != '0') {
        if (first_nonzero < 0) first_nonzero = digits_seen;
        last_nonzero = digits_seen;
      }
      if (digits_seen < (1 << 20)) ++digits_seen;
    }
  };
  if (p < json.size() && json[p] == '-') ++p;
  if (p < json.size() && json[p] == '0') {
    ++p;  // a leading 0 is the whole integer part
    ++digits_seen;
  } else {
    digits();
  }
  const int int_digits = digits_seen;
  if (p < json.size() && json[p] == '.' && digit(p + 1)) {
    ++p;
    digits();
  }
  bool exponent = false;
  int exponent_value = 0;  // saturated
  if (p < json.size() && (json[p] == 'e' || json[p] == 'E')) {
    size_t q = p + 1;
    bool negative = false;
    if (q < json.size() && (json[q] == '+' || json[q] == '-')) {
      negative = json[q++] == '-';
    }
    if (digit(q)) {
      exponent = true;
      for (p = q; digit(p); ++p) {
        if (exponent_value < 1000000) {
          exponent_value = exponent_value * 10 + (json[p] - '0');
        }
      }
      if (negative) exponent_value = -exponent_value;
    }
  }
  *i = p;
  if (first_nonzero >= 0) {
    // The decimal exponent of the first significant digit.
    const int magnitude = exponent_value + int_digits - 1 - first_nonzero;
    return last_nonzero - first_nonzero + 1 <= kMaxJsonSignificantDigits &&
           magnitude >= kMinJsonDecimalExponent &&
           magnitude <= kMaxJsonDecimalExponent;
  }
  const std::string_view token = json.substr(start, p - start);
  return !exponent &&
         (token == "0" || token == "-0" || token == "0.0" || token == "-0.0" ||
          token == "-");  // "-" alone: not a number; the parser refuses it
}

// The pre-scan of a stored JSON value, before rapidjson's recursive parser
// sees it: true if no array or object nests deeper than `max_depth` levels
// and every number is one rapidjson parses without undefined behaviour
// (JsonNumberOk). Linear (about 1.5 GB/s), no allocation; skips string
// contents (escapes included), and an unmatched closer never buys depth
// back. Text that is not JSON may pass: the parser refuses it, but never
// recurses deeper than `max_depth` on the way.
inline bool JsonPrescan(std::string_view json, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character, whatever it is
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > max_depth) return false;
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      case '-':
      case '0':
      case '1':
      case '2':
      case '3':
      case '4':
      case '5':
      case '6':
      case '7':
      case '8':
      case '9':
        // A number starts here (outside strings, only numbers hold digits).
        if (!JsonNumberOk(json, &i)) return false;
        if (i > 0) --i;  // the loop steps past the number's last character
        break;
      default:
        break;
    }
  }
  return true;
}

// An input stream over `bytes`, reusing one std::istringstream per thread:
// constructing a stream (and its locale) costs about as much client CPU as a
// Redis GET, and JSON decoding is on every hit of a JSON backend. Nested use
// on one thread (a serialize() that decodes) gets a stream of its own.
class ReusableInput {
 public:
  explicit ReusableInput(std::string_view bytes) {
    thread_local std::istringstream shared;
    thread_local bool busy = false;
    if (!busy) {
      busy_ = &busy;
      busy = true;
      stream_ = &shared;
    } else {
      own_.emplace();
      stream_ = &*own_;
    }
    stream_->clear();
    stream_->str(std::string(bytes));
  }
  ~ReusableInput() {
    if (busy_ != nullptr) *busy_ = false;
  }
  ReusableInput(const ReusableInput&) = delete;
  ReusableInput& operator=(const ReusableInput&) = delete;

  std::istream& stream() { return *stream_; }

 private:
  bool* busy_ = nullptr;
  std::optional<std::istringstream> own_;
  std::istringstream* stream_ = nullptr;
};

}  // namespace internal

// Encodes and decodes values of type `R` in each `ValueFormat`.
template <typename R>
struct ValueCodec {
  // kObject values of this type travel as their bytes.
  static constexpr bool kInline =
      std::is_trivially_copyable_v<R> && sizeof(R) <= 16;

  template <typename Out, typename In>
  static constexpr bool kSerializable = std::is_default_constructible_v<R>&&
      cereal::traits::is_output_serializable<R, Out>::value&&
          cereal::traits::is_input_serializable<R, In>::value;

  static constexpr bool kJson =
      kSerializable<cereal::JSONOutputArchive, cereal::JSONInputArchive>;
  static constexpr bool kBinary =
      kSerializable<cereal::PortableBinaryOutputArchive,
                    BoundedBinaryInputArchive>;

  static bool Supports(ValueFormat format) {
    switch (format) {
      case ValueFormat::kObject:
        return true;
      case ValueFormat::kJson:
        return kJson;
      case ValueFormat::kBinary:
        return kBinary;
    }
    return false;
  }

  // Makes the backend's form of `object`. Throws what cereal throws.
  static StoredValue Encode(ValueFormat format,
                            const std::shared_ptr<const R>& object) {
    StoredValue stored;
    if (format == ValueFormat::kObject) {
      if constexpr (kInline) {
        stored.bytes.assign(reinterpret_cast<const char*>(object.get()),
                            sizeof(R));
      } else {
        stored.object = object;
      }
      return stored;
    }
    std::ostringstream out;
    if (format == ValueFormat::kJson) {
      if constexpr (kJson) {
        cereal::JSONOutputArchive archive(
            out, cereal::JSONOutputArchive::Options::NoIndent());
        archive(cereal::make_nvp("value", *object));
      }
    } else {
      if constexpr (kBinary) {
        cereal::PortableBinaryOutputArchive archive(out);
        archive(*object);
      }
    }
    stored.bytes = std::move(out).str();
    return stored;
  }

  // Reads the backend's form back into `*out`. Returns false (leaving `*out`
  // empty) if it does not decode: the caller treats that as a miss. Hostile
  // bytes (see the top of this file) are misses too; never throws.
  // Thread safety: may be called from any number of threads at once.
  static bool Decode(ValueFormat format, const ValueView& stored,
                     std::optional<R>* out) {
    try {
      if (format == ValueFormat::kObject) {
        if (stored.object != nullptr) {
          out->emplace(*static_cast<const R*>(stored.object));
          return true;
        }
        if constexpr (kInline) {
          if (stored.bytes.size() != sizeof(R)) return false;
          std::array<char, sizeof(R)> raw;
          std::memcpy(raw.data(), stored.bytes.data(), sizeof(R));
          out->emplace(std::bit_cast<R>(raw));
          return true;
        }
        return false;
      }
      if (format == ValueFormat::kJson) {
        if constexpr (kJson) {
          if (!internal::JsonPrescan(stored.bytes, kMaxJsonDepth)) {
            return false;
          }
          internal::ReusableInput input(stored.bytes);
          R value{};
          cereal::JSONInputArchive archive(input.stream());
          archive(cereal::make_nvp("value", value));
          out->emplace(std::move(value));
          return true;
        }
      } else if (format == ValueFormat::kBinary) {
        if constexpr (kBinary) {
          R value{};
          BoundedBinaryInputArchive archive(stored.bytes);
          archive(value);
          if (archive.remaining() != 0) return false;
          out->emplace(std::move(value));
          return true;
        }
      }
    } catch (const std::exception&) {
      out->reset();
    }
    return false;
  }

  // The same, from a stored value held whole (tests, tools, fuzzers).
  static bool Decode(ValueFormat format, const StoredValue& stored,
                     std::optional<R>* out) {
    return Decode(format, ValueView{stored.object.get(), stored.bytes}, out);
  }
};

}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_VALUE_CODEC_H_
