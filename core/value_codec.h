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
//   - a scalar or string result (bool, integers up to 64 bits except long
//     long, float, double, std::string) is read straight from rapidjson
//     (internal::DecodeJsonDirect): what cereal's JSONInputArchive reads,
//     without its istream and per-call allocations, and stricter (a number
//     outside the result type's range is a miss, not a truncated value; a
//     string keeps the bytes after a NUL, which cereal drops);
//   - a string holding a NUL byte anywhere else in a JSON value cannot be
//     stored (Encode throws): cereal's reader would cut it at the NUL;
//   - binary is read with BoundedBinaryInputArchive
//     (core/bounded_binary_archive.h): no length prefix is trusted beyond the
//     bytes left, and a bool byte other than 0/1 is refused. A binary type
//     therefore needs a generic serialize/load (any Archive), not one written
//     for cereal::PortableBinaryInputArchive only.

#ifndef CACHE_ALCHEMY_CORE_VALUE_CODEC_H_
#define CACHE_ALCHEMY_CORE_VALUE_CODEC_H_

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
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

// The result types read straight from rapidjson (DecodeJsonDirect): those
// cereal's JSONInputArchive loads from one JSON value with one getter
// (cereal/archives/json.hpp, the loadValue overloads). Not long long and
// unsigned long long: cereal writes those as strings.
template <typename R>
inline constexpr bool kJsonDirect = std::is_same_v<R, bool> ||
                                    std::is_same_v<R, std::string> ||
                                    std::is_same_v<R, float> ||
                                    std::is_same_v<R, double> ||
                                    (std::is_integral_v<R> &&
                                     (sizeof(R) < sizeof(int64_t) ||
                                      std::is_same_v<R, int64_t> ||
                                      std::is_same_v<R, uint64_t>));

// `v` as an R, as cereal's loadValue for R reads it (the same getter after
// the same type check), except that a number outside R's range is false
// instead of a truncated (for float: undefined) conversion, and a string
// keeps every byte (cereal assigns the C string, cutting it at a NUL).
template <typename R, typename JsonValue>
bool JsonScalar(const JsonValue& v, std::optional<R>* out) {
  if constexpr (std::is_same_v<R, bool>) {
    if (!v.IsBool()) return false;
    out->emplace(v.GetBool());
  } else if constexpr (std::is_same_v<R, std::string>) {
    if (!v.IsString()) return false;
    out->emplace(v.GetString(), v.GetStringLength());
  } else if constexpr (std::is_floating_point_v<R>) {
    if (!v.IsNumber()) return false;
    const double d = v.GetDouble();
    if constexpr (std::is_same_v<R, float>) {
      if (std::isfinite(d) && std::abs(d) > std::numeric_limits<float>::max()) {
        return false;
      }
    }
    out->emplace(static_cast<R>(d));
  } else if constexpr (std::is_same_v<R, int64_t>) {
    if (!v.IsInt64()) return false;
    out->emplace(v.GetInt64());
  } else if constexpr (std::is_same_v<R, uint64_t>) {
    if (!v.IsUint64()) return false;
    out->emplace(v.GetUint64());
  } else if constexpr (std::is_signed_v<R>) {
    if (!v.IsInt()) return false;
    const int n = v.GetInt();
    if (n < std::numeric_limits<R>::min() ||
        n > std::numeric_limits<R>::max()) {
      return false;
    }
    out->emplace(static_cast<R>(n));
  } else {
    if (!v.IsUint()) return false;
    const unsigned n = v.GetUint();
    if (n > std::numeric_limits<R>::max()) return false;
    out->emplace(static_cast<R>(n));
  }
  return true;
}

// The allocator of DecodeJsonDirect's memory beyond its buffers on the
// stack (a long string): operator new, so that an allocation that fails is
// std::bad_alloc (a miss) and tests that count allocations see these.
struct JsonChunkAllocator {
  static const bool kNeedFree = true;
  void* Malloc(size_t size) {
    return size != 0 ? ::operator new(size) : nullptr;
  }
  void* Realloc(void* original, size_t original_size, size_t new_size) {
    if (new_size == 0) {
      Free(original);
      return nullptr;
    }
    void* grown = ::operator new(new_size);
    if (original != nullptr) {
      std::memcpy(grown, original, std::min(original_size, new_size));
    }
    Free(original);
    return grown;
  }
  static void Free(void* p) { ::operator delete(p); }
};

// Reads `{"value": X}` (as ValueCodec<R>::Encode writes it) into `*out`
// for a kJsonDirect type, as cereal's JSONInputArchive would (the same
// rapidjson parse with the flags cereal sets, RAPIDJSON_PARSE_DEFAULT_FLAGS
// in cereal/archives/json.hpp; the root an object; the first member whose
// name, as a C string, is "value", which is what cereal's search() finds;
// other members ignored), but from the bytes themselves and with the
// document in a buffer on the stack: no istream, no allocation for a small
// value. False for anything cereal would refuse, and as JsonScalar says.
// Call JsonPrescan first (rapidjson's recursion and its number bugs).
// May throw what rapidjson's assertions throw (cereal makes them throw).
template <typename R>
bool DecodeJsonDirect(std::string_view json, std::optional<R>* out) {
  using Pool = rapidjson::MemoryPoolAllocator<JsonChunkAllocator>;
  // The document's values (a one-member object; short strings sit inside
  // the value), and the parse stacks: the document's and its reader's, 256
  // bytes each at first.
  alignas(8) char values[256];
  alignas(8) char stacks[768];
  constexpr size_t kChunk = 4096;  // beyond the buffers, for long strings
  JsonChunkAllocator chunks;
  Pool value_pool(values, sizeof(values), kChunk, &chunks);
  Pool stack_pool(stacks, sizeof(stacks), kChunk, &chunks);
  rapidjson::GenericDocument<rapidjson::UTF8<>, Pool, Pool> document(
      &value_pool, 256, &stack_pool);
  document.Parse(json.data(), json.size());
  if (document.HasParseError() || !document.IsObject()) return false;
  // By index: comparing rapidjson's member iterators is ambiguous in C++20.
  const auto members = document.MemberBegin();
  for (rapidjson::SizeType i = 0; i < document.MemberCount(); ++i) {
    if (std::strcmp(members[i].name.GetString(), "value") == 0) {
      return JsonScalar<R>(members[i].value, out);
    }
  }
  return false;
}

// Reads `{"value": X}` into `*out` through cereal's JSONInputArchive (every
// other type). Throws what cereal throws for a value it cannot read.
template <typename R>
bool DecodeJsonWithCereal(std::string_view json, std::optional<R>* out) {
  ReusableInput input(json);
  R value{};
  cereal::JSONInputArchive archive(input.stream());
  archive(cereal::make_nvp("value", value));
  out->emplace(std::move(value));
  return true;
}

// True if the JSON text `json` (as rapidjson writes it) holds a string with
// a NUL byte: the escape backslash-u0000, that is "u0000" after an odd run
// of backslashes (the last one starts the escape; after an even run the
// backslashes are escaped ones and "u0000" is text).
inline bool JsonHasNul(std::string_view json) {
  for (size_t at = json.find("u0000"); at != std::string_view::npos;
       at = json.find("u0000", at + 1)) {
    size_t slashes = 0;
    while (slashes < at && json[at - 1 - slashes] == '\\') ++slashes;
    if (slashes % 2 == 1) return true;
  }
  return false;
}

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

  // Makes the backend's form of `object`. Throws what cereal throws, and
  // std::invalid_argument for a JSON value that would not read back the same
  // (a NUL byte in a string inside it, internal::JsonHasNul; a std::string
  // result itself may hold NULs).
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
        {
          cereal::JSONOutputArchive archive(
              out, cereal::JSONOutputArchive::Options::NoIndent());
          archive(cereal::make_nvp("value", *object));
        }
        if constexpr (!internal::kJsonDirect<R>) {
          if (internal::JsonHasNul(out.view())) {
            throw std::invalid_argument(
                "a string in this value holds a NUL byte, which cereal's JSON "
                "reader would cut off: not stored in a JSON backend (return "
                "std::string itself, or use a binary backend such as "
                "cache_alchemy.backends.pickle.PickleCache)");
          }
        }
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
          if constexpr (internal::kJsonDirect<R>) {
            if (internal::DecodeJsonDirect(stored.bytes, out)) return true;
            out->reset();
            return false;
          } else {
            return internal::DecodeJsonWithCereal(stored.bytes, out);
          }
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
