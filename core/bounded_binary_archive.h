// File: core/bounded_binary_archive.h
// -----------------------------------------------------------------------------
//
// `BoundedBinaryInputArchive`: a cereal input archive that reads the wire
// format of `cereal::PortableBinaryOutputArchive` (so every value a
// pickle-style backend ever stored still reads back) from bytes in memory,
// and treats those bytes as hostile:
//
//   - No length is trusted beyond the bytes that remain. A container or
//     string whose size prefix claims more elements than there are bytes left
//     is refused before anything is allocated, so a 12-byte value claiming
//     4 GiB costs nothing. (cereal's own archive calls `resize(size)` first
//     and fails only after allocating.)
//   - A `bool` must be stored as 0 or 1; any other byte is refused (loading it
//     into a `bool` would be undefined behaviour). That covers a bool result,
//     std::optional's engaged flag and a bool inside a user struct.
//   - The leading endianness byte must be 0 or 1.
//
// Every refusal throws `cereal::Exception`, which `ValueCodec<R>::Decode`
// (core/value_codec.h) turns into a miss.
//
// CORNER: an element type that encodes in zero bytes (an empty struct,
// std::monostate, std::array<T, 0>) makes a container of more such elements
// than there are bytes left look like a lie, and it is refused: such a value
// is always a miss (recomputed each time), never a wrong answer. Allocation
// is bounded by (bytes left) x sizeof(element) per container.
//
// User types need a generic `template <class Archive> void serialize(Archive&)`
// (or generic load/save); a `load` written only for
// cereal::PortableBinaryInputArchive does not apply to this archive.
//
//   cache_alchemy::BoundedBinaryInputArchive archive(bytes);
//   std::vector<std::string> value;
//   archive(value);                       // throws cereal::Exception on lies
//   bool all_read = archive.remaining() == 0;

#ifndef CACHE_ALCHEMY_CORE_BOUNDED_BINARY_ARCHIVE_H_
#define CACHE_ALCHEMY_CORE_BOUNDED_BINARY_ARCHIVE_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "cereal/archives/portable_binary.hpp"
#include "cereal/cereal.hpp"

namespace cache_alchemy {

// Reads cereal portable binary from `bytes` (which must outlive the archive).
// Not thread-safe (one archive per decode); cheap to construct.
class BoundedBinaryInputArchive
    : public cereal::InputArchive<BoundedBinaryInputArchive,
                                  cereal::AllowEmptyClassElision> {
 public:
  // Reads the endianness byte. Throws cereal::Exception if `bytes` is empty
  // or that byte is neither 0 (big endian) nor 1 (little endian).
  explicit BoundedBinaryInputArchive(std::string_view bytes)
      : cereal::InputArchive<BoundedBinaryInputArchive,
                             cereal::AllowEmptyClassElision>(this),
        next_(bytes.data()),
        left_(bytes.size()) {
    uint8_t little = 0;
    loadBinary<1>(&little, 1);
    if (little > 1) throw cereal::Exception("bad endianness byte");
    swap_ = little != cereal::portable_binary_detail::is_little_endian();
  }

  // Copies the next `size` bytes to `data`, swapping each `DataSize`-byte
  // element if the value was written on a machine of the other endianness.
  // Throws cereal::Exception if fewer than `size` bytes remain.
  template <std::size_t DataSize>
  void loadBinary(void* const data, std::size_t size) {
    if (size > left_) {
      throw cereal::Exception("binary value claims " + std::to_string(size) +
                              " bytes, " + std::to_string(left_) + " left");
    }
    if (size != 0) std::memcpy(data, next_, size);
    next_ += size;
    left_ -= size;
    if constexpr (DataSize > 1) {
      if (swap_) {
        auto* bytes = static_cast<uint8_t*>(data);
        for (std::size_t i = 0; i + DataSize <= size; i += DataSize) {
          cereal::portable_binary_detail::swap_bytes<DataSize>(bytes + i);
        }
      }
    }
  }

  // Throws cereal::Exception unless `count` elements can still follow (each
  // element of every serializable type but an empty one takes >= 1 byte).
  void CheckCount(uint64_t count) const {
    if (count > left_) {
      throw cereal::Exception("binary value claims " + std::to_string(count) +
                              " elements, " + std::to_string(left_) +
                              " bytes left");
    }
  }

  // Bytes not read yet. A complete value leaves 0.
  std::size_t remaining() const { return left_; }

 private:
  const char* next_;
  std::size_t left_;
  bool swap_ = false;
};

// Arithmetic values other than bool: their bytes, as portable binary writes
// them.
template <class T>
std::enable_if_t<std::is_arithmetic_v<T> && !std::is_same_v<T, bool>>
CEREAL_LOAD_FUNCTION_NAME(BoundedBinaryInputArchive& ar, T& t) {
  static_assert(
      !std::is_floating_point_v<T> || std::numeric_limits<T>::is_iec559,
      "portable binary only supports IEEE 754 floating point");
  ar.template loadBinary<sizeof(T)>(std::addressof(t), sizeof(t));
}

// A bool is one byte, 0 or 1; anything else is refused.
inline void CEREAL_LOAD_FUNCTION_NAME(BoundedBinaryInputArchive& ar, bool& b) {
  static_assert(sizeof(bool) == 1, "portable binary writes bool as 1 byte");
  uint8_t byte = 0;
  ar.template loadBinary<1>(&byte, 1);
  if (byte > 1) {
    throw cereal::Exception("stored bool is " + std::to_string(byte));
  }
  b = byte == 1;
}

// Names are not stored in binary.
template <class T>
void CEREAL_SERIALIZE_FUNCTION_NAME(BoundedBinaryInputArchive& ar,
                                    cereal::NameValuePair<T>& t) {
  ar(t.value);
}

// A container's size: refused if it claims more elements than bytes remain.
template <class T>
void CEREAL_SERIALIZE_FUNCTION_NAME(BoundedBinaryInputArchive& ar,
                                    cereal::SizeTag<T>& t) {
  cereal::size_type size = 0;
  ar.template loadBinary<sizeof(size)>(&size, sizeof(size));
  ar.CheckCount(size);
  t.size = static_cast<std::remove_reference_t<decltype(t.size)>>(size);
}

// Raw element bytes (strings, vectors of arithmetic types).
template <class T>
void CEREAL_LOAD_FUNCTION_NAME(BoundedBinaryInputArchive& ar,
                               cereal::BinaryData<T>& bd) {
  using Element = std::remove_pointer_t<T>;
  static_assert(!std::is_floating_point_v<Element> ||
                    std::numeric_limits<Element>::is_iec559,
                "portable binary only supports IEEE 754 floating point");
  ar.template loadBinary<sizeof(Element)>(bd.data,
                                          static_cast<std::size_t>(bd.size));
}

}  // namespace cache_alchemy

CEREAL_REGISTER_ARCHIVE(cache_alchemy::BoundedBinaryInputArchive)

// What PortableBinaryOutputArchive writes, this archive reads (cereal needs
// the pair for types with save_minimal/load_minimal, such as enums).
namespace cereal::traits::detail {
template <>
struct get_output_from_input<cache_alchemy::BoundedBinaryInputArchive> {
  using type = cereal::PortableBinaryOutputArchive;
};
}  // namespace cereal::traits::detail

#endif  // CACHE_ALCHEMY_CORE_BOUNDED_BINARY_ARCHIVE_H_
