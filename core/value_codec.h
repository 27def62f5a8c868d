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

namespace cache_alchemy {
namespace internal {

// An input stream over `bytes`, reusing one std::istringstream per thread:
// constructing a stream (and its locale) costs about as much client CPU as a
// Redis GET, and decoding is on every hit of a serializing backend. Nested use
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
                    cereal::PortableBinaryInputArchive>;

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
  // empty) if it does not decode: the caller treats that as a miss.
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
      internal::ReusableInput input(stored.bytes);
      std::istream& in = input.stream();
      if (format == ValueFormat::kJson) {
        if constexpr (kJson) {
          R value{};
          cereal::JSONInputArchive archive(in);
          archive(cereal::make_nvp("value", value));
          out->emplace(std::move(value));
          return true;
        }
      } else {
        if constexpr (kBinary) {
          R value{};
          cereal::PortableBinaryInputArchive archive(in);
          archive(value);
          if (in.peek() != std::char_traits<char>::eof()) return false;
          out->emplace(std::move(value));
          return true;
        }
      }
    } catch (const std::exception&) {
      out->reset();
    }
    return false;
  }
};

}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_VALUE_CODEC_H_
