// File: core/internal/envelope.h
// -----------------------------------------------------------------------------
//
// INTERNAL: not for users. The envelope around a stored value of a function
// that uses refresh-ahead or caches exceptions: the value (or the exception)
// and the time it was written. Used ONLY by such functions (the envelope is
// part of their identity, so wrappers with and without it never read each
// other's entries); the plain hit path never sees it.
//
//   - in-process backends (ValueFormat::kObject): the stored object is an
//     `EnvelopeObject<R>` (the value shared, or the exception_ptr);
//   - serializing backends (kJson, kBinary): a short text header, then the
//     value as ValueCodec<R> writes it, or the exception:
//       "ca1 <written_ms> <ttl_ms> V <encoded value>"
//       "ca1 <written_ms> <ttl_ms> X <type index> <what()>"
//     (printable, so `redis-cli GET` still shows what is stored).

#ifndef CACHE_ALCHEMY_CORE_INTERNAL_ENVELOPE_H_
#define CACHE_ALCHEMY_CORE_INTERNAL_ENVELOPE_H_

#include <charconv>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/backend.h"
#include "core/value_codec.h"

namespace cache_alchemy {
namespace internal {

// What an in-process backend keeps for an enveloped entry.
template <typename R>
struct EnvelopeObject {
  int64_t written_ms = 0;
  int64_t ttl_ms = 0;  // a cached exception's lifetime; 0 for values
  std::shared_ptr<const R> value;
  std::exception_ptr error;
};

// What a lookup of an enveloped entry found.
template <typename R>
struct EnvelopeRead {
  bool decoded = false;
  int64_t written_ms = 0;
  int64_t ttl_ms = 0;
  std::optional<R> value;
  std::exception_ptr error;  // in-process: the exception itself
  int error_index = -1;      // serialized: ExceptionCaching::types() index
  std::string what;          // serialized: its what()

  bool is_error() const { return error != nullptr || error_index >= 0; }
};

inline constexpr std::string_view kEnvelopeMagic = "ca1 ";

inline void AppendEnvelopeNumber(int64_t n, std::string* out) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof(digits), n).ptr;
  out->append(digits, end);
  out->push_back(' ');
}

inline bool ReadEnvelopeNumber(std::string_view* in, int64_t* n) {
  const char* begin = in->data();
  const char* end = begin + in->size();
  const auto [ptr, ec] = std::from_chars(begin, end, *n);
  if (ec != std::errc() || ptr == end || *ptr != ' ') return false;
  in->remove_prefix(static_cast<size_t>(ptr - begin) + 1);
  return true;
}

// "ca1 <written_ms> <ttl_ms> <kind> ".
inline std::string EnvelopeHeader(int64_t written_ms, int64_t ttl_ms,
                                  char kind) {
  std::string out(kEnvelopeMagic);
  AppendEnvelopeNumber(written_ms, &out);
  AppendEnvelopeNumber(ttl_ms, &out);
  out.push_back(kind);
  out.push_back(' ');
  return out;
}

// Reads the header off `*in`. False if it is not an envelope.
inline bool ParseEnvelopeHeader(std::string_view* in, int64_t* written_ms,
                                int64_t* ttl_ms, char* kind) {
  if (in->substr(0, kEnvelopeMagic.size()) != kEnvelopeMagic) return false;
  in->remove_prefix(kEnvelopeMagic.size());
  if (!ReadEnvelopeNumber(in, written_ms) || !ReadEnvelopeNumber(in, ttl_ms)) {
    return false;
  }
  if (in->size() < 2 || (*in)[1] != ' ') return false;
  *kind = (*in)[0];
  in->remove_prefix(2);
  return true;
}

// The stored form of a value written at `written_ms`. Throws what the codec
// throws.
template <typename R>
StoredValue EncodeEnvelopeValue(ValueFormat format, int64_t written_ms,
                                const std::shared_ptr<const R>& value) {
  StoredValue stored;
  if (format == ValueFormat::kObject) {
    auto object = std::make_shared<EnvelopeObject<R>>();
    object->written_ms = written_ms;
    object->value = value;
    stored.object = std::move(object);
    return stored;
  }
  stored.bytes = EnvelopeHeader(written_ms, 0, 'V');
  stored.bytes += ValueCodec<R>::Encode(format, value).bytes;
  return stored;
}

// The stored form of a cached exception: `error`, which is of type #`index`
// of the function's ExceptionCaching, written at `written_ms`, living
// `ttl_ms` (also the entry's StoredValue::ttl_ms).
template <typename R>
StoredValue EncodeEnvelopeError(ValueFormat format, int64_t written_ms,
                                int64_t ttl_ms, const std::exception_ptr& error,
                                int index) {
  StoredValue stored;
  stored.ttl_ms = ttl_ms;
  if (format == ValueFormat::kObject) {
    auto object = std::make_shared<EnvelopeObject<R>>();
    object->written_ms = written_ms;
    object->ttl_ms = ttl_ms;
    object->error = error;
    stored.object = std::move(object);
    return stored;
  }
  std::string what;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
  }
  stored.bytes = EnvelopeHeader(written_ms, ttl_ms, 'X');
  AppendEnvelopeNumber(index, &stored.bytes);
  stored.bytes += what;
  return stored;
}

// Reads an enveloped entry. Leaves `out->decoded` false when it does not
// decode (the caller treats that as a miss).
template <typename R>
void DecodeEnvelope(ValueFormat format, const ValueView& view,
                    EnvelopeRead<R>* out) {
  if (format == ValueFormat::kObject) {
    if (view.object == nullptr) return;
    const auto& object = *static_cast<const EnvelopeObject<R>*>(view.object);
    out->written_ms = object.written_ms;
    out->ttl_ms = object.ttl_ms;
    if (object.error != nullptr) {
      out->error = object.error;
    } else if (object.value != nullptr) {
      out->value.emplace(*object.value);
    } else {
      return;
    }
    out->decoded = true;
    return;
  }
  std::string_view in = view.bytes;
  char kind = 0;
  if (!ParseEnvelopeHeader(&in, &out->written_ms, &out->ttl_ms, &kind)) return;
  if (kind == 'V') {
    out->decoded =
        ValueCodec<R>::Decode(format, ValueView{nullptr, in}, &out->value);
    return;
  }
  if (kind == 'X') {
    int64_t index = -1;
    if (!ReadEnvelopeNumber(&in, &index) || index < 0 || index > 1000) return;
    out->error_index = static_cast<int>(index);
    out->what.assign(in);
    out->decoded = true;
  }
}

}  // namespace internal
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_INTERNAL_ENVELOPE_H_
