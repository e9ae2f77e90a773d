// Accumulation helpers shared by the reduce and scan kernels.
#pragma once
#include <type_traits>
#include "../../common/dtype.h"

namespace kiln {

template <typename V> inline bool is_nan(V v) {
  if constexpr (std::is_floating_point_v<V>) return v != v;
  else {
    (void)v;
    return false;
  }
}

// Sums and products of integers accumulate in the unsigned type of the same width, so overflow
// wraps (numpy) without UB; floats in float (16-bit floats too) or double.
template <typename T, typename = void> struct Wide { using type = typename Compute<T>::type; };
template <typename T> struct Wide<T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>>> {
  using type = std::make_unsigned_t<T>;
};

template <typename U> inline U wrap_add(U a, U b) {
  if constexpr (std::is_integral_v<U> && sizeof(U) < sizeof(unsigned)) return (U)((unsigned)a + (unsigned)b);
  else return a + b;
}
template <typename U> inline U wrap_mul(U a, U b) {
  if constexpr (std::is_integral_v<U> && sizeof(U) < sizeof(unsigned)) return (U)((unsigned)a * (unsigned)b);
  else return a * b;
}

template <typename T, typename A> inline T store_as(A a) {
  if constexpr (std::is_same_v<T, half_t> || std::is_same_v<T, bf16_t>) return from_value<T>(a);
  else return (T)a;  // unsigned -> signed of the same width wraps (GCC/Clang define it)
}

}  // namespace kiln
