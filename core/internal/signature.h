// File: core/internal/signature.h
// -----------------------------------------------------------------------------
//
// INTERNAL: deduces the fixed signature `R(Args...)` of a callable (function,
// function pointer, non-generic lambda or functor, std::function) for
// `ca::cache`.

#ifndef CACHE_ALCHEMY_CORE_INTERNAL_SIGNATURE_H_
#define CACHE_ALCHEMY_CORE_INTERNAL_SIGNATURE_H_

#include <type_traits>

namespace cache_alchemy {
namespace internal {

// Deduces `R(Args...)` from a callable. Has no `type` for callables without
// one fixed signature (a generic lambda, an overloaded functor).
template <typename F, typename = void>
struct Signature {};
template <typename F>
struct Signature<F, std::void_t<decltype(&F::operator())>>
    : Signature<decltype(&F::operator())> {};
template <typename R, typename... A>
struct Signature<R (*)(A...)> {
  using type = R(A...);
};
template <typename R, typename... A>
struct Signature<R(A...)> {
  using type = R(A...);
};
template <typename C, typename R, typename... A>
struct Signature<R (C::*)(A...)> {
  using type = R(A...);
};
template <typename C, typename R, typename... A>
struct Signature<R (C::*)(A...) const> {
  using type = R(A...);
};
template <typename C, typename R, typename... A>
struct Signature<R (C::*)(A...) noexcept> {
  using type = R(A...);
};
template <typename C, typename R, typename... A>
struct Signature<R (C::*)(A...) const noexcept> {
  using type = R(A...);
};
template <typename R, typename... A>
struct Signature<R (*)(A...) noexcept> {
  using type = R(A...);
};

template <typename F>
using SignatureOf = typename Signature<std::decay_t<F>>::type;

// Whether `F` has one fixed signature that `SignatureOf` can name.
template <typename F>
concept HasFixedSignature = requires {
  typename Signature<std::decay_t<F>>::type;
};

}  // namespace internal
}  // namespace cache_alchemy

#endif  // CACHE_ALCHEMY_CORE_INTERNAL_SIGNATURE_H_
