// File: core/value_codec_fuzz.h
// -----------------------------------------------------------------------------
//
// The body shared by the ValueCodec fuzz targets (value_codec_json_fuzz.cc,
// value_codec_binary_fuzz.cc): stored bytes are hostile input, so decoding
// them as any result type must be a miss or a value, never a crash, a hang
// or a huge allocation; a value that decodes must survive another
// encode/decode round trip unchanged; and for an int or a std::string, the
// direct JSON reader must read what cereal's reads (CompareJsonReaders).
//
// Input: the first byte picks the result type, the rest is the stored value.

#ifndef CACHE_ALCHEMY_CORE_VALUE_CODEC_FUZZ_H_
#define CACHE_ALCHEMY_CORE_VALUE_CODEC_FUZZ_H_

#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "core/value_codec.h"

namespace cache_alchemy {
namespace fuzz {

// A user type with a generic serialize().
struct Record {
  int32_t id = 0;
  bool active = false;
  std::string name;
  std::vector<int64_t> scores;
  std::optional<std::string> note;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(id, active, name, scores, note);
  }
  bool operator==(const Record&) const = default;
};

template <typename R>
void DecodeAndRoundTrip(ValueFormat format, const std::string& bytes) {
  const ValueView stored{nullptr, bytes};
  std::optional<R> value;
  if (!ValueCodec<R>::Decode(format, stored, &value)) {
    if (value.has_value()) std::abort();  // a miss leaves *out empty
    return;
  }
  const StoredValue again =
      ValueCodec<R>::Encode(format, std::make_shared<const R>(*value));
  std::optional<R> second;
  if (!ValueCodec<R>::Decode(format, ValueView{again.object.get(), again.bytes},
                             &second)) {
    std::abort();
  }
  if (!(*second == *value)) std::abort();
}

// Both JSON readers of a kJsonDirect type on `bytes`, after the pre-scan
// (as ValueCodec::Decode runs them): {the direct reader's value, cereal's};
// an empty one is a miss (an exception counts as one, as in Decode).
template <typename R>
std::pair<std::optional<R>, std::optional<R>> ReadJsonBothWays(
    const std::string& bytes) {
  std::optional<R> direct;
  std::optional<R> cereal;
  if (!internal::JsonPrescan(bytes, kMaxJsonDepth)) return {};
  try {
    if (!internal::DecodeJsonDirect<R>(bytes, &direct)) direct.reset();
  } catch (const std::exception&) {
    direct.reset();
  }
  try {
    if (!internal::DecodeJsonWithCereal<R>(bytes, &cereal)) cereal.reset();
  } catch (const std::exception&) {
    cereal.reset();
  }
  return {std::move(direct), std::move(cereal)};
}

// For a result type read straight from rapidjson (internal::kJsonDirect):
// that reader and cereal's read the same JSON the same way, except that a
// string keeps its bytes after a NUL (cereal cuts it there).
template <typename R>
void CompareJsonReaders(const std::string& bytes) {
  if constexpr (internal::kJsonDirect<R>) {
    const auto [direct, cereal] = ReadJsonBothWays<R>(bytes);
    if (direct.has_value() != cereal.has_value()) std::abort();
    if (!direct.has_value()) return;
    if constexpr (std::is_same_v<R, std::string>) {
      if (direct->substr(0, direct->find('\0')) != *cereal) std::abort();
    } else if (!(*direct == *cereal)) {
      std::abort();
    }
  }
}

inline int DecodeAsEveryType(ValueFormat format, const uint8_t* data,
                             size_t size) {
  if (size == 0) return 0;
  const std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 8) {
    case 0:
      DecodeAndRoundTrip<int>(format, bytes);
      if (format == ValueFormat::kJson) CompareJsonReaders<int>(bytes);
      break;
    case 1:
      DecodeAndRoundTrip<std::string>(format, bytes);
      if (format == ValueFormat::kJson) CompareJsonReaders<std::string>(bytes);
      break;
    case 2:
      DecodeAndRoundTrip<std::vector<std::string>>(format, bytes);
      break;
    case 3:
      DecodeAndRoundTrip<std::map<std::string, int>>(format, bytes);
      break;
    case 4:
      DecodeAndRoundTrip<std::optional<bool>>(format, bytes);
      break;
    case 5:
      DecodeAndRoundTrip<Record>(format, bytes);
      break;
    case 6:
      DecodeAndRoundTrip<std::variant<int64_t, std::string, bool>>(format,
                                                                   bytes);
      break;
    case 7:
      DecodeAndRoundTrip<std::vector<std::vector<std::optional<bool>>>>(format,
                                                                        bytes);
      break;
  }
  return 0;
}

}  // namespace fuzz
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_VALUE_CODEC_FUZZ_H_
