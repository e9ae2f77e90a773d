// Operation codes passed as params[0] of the unary, binary and reduce kernels. TypeScript reads
// the names through info(), so the order here is the single source of truth.
#pragma once

namespace kiln {

// X-macro lists: clang-format would re-wrap them differently on every pass
// clang-format off
#define KILN_UNARY_OPS(X)                                                                      \
  X(neg) X(abs) X(sign) X(exp) X(log) X(sqrt) X(rsqrt) X(sin) X(cos) X(tanh) X(sigmoid) X(erf) \
  X(floor) X(ceil) X(round) X(square) X(reciprocal) X(logical_not) X(expm1) X(log1p) X(log2)   \
  X(log10) X(tan) X(arcsin) X(arccos) X(arctan) X(sinh) X(cosh) X(arcsinh) X(arccosh)          \
  X(arctanh) X(erfinv) X(trunc) X(isnan) X(isinf) X(isfinite) X(bitwise_invert)

#define KILN_BINARY_OPS(X)                                                                   \
  X(add) X(subtract) X(multiply) X(divide) X(power) X(maximum) X(minimum) X(remainder)       \
  X(floor_divide) X(equal) X(not_equal) X(less) X(less_equal) X(greater) X(greater_equal)    \
  X(logical_and) X(logical_or) X(logaddexp) X(arctan2) X(logical_xor) X(bitwise_and)         \
  X(bitwise_or) X(bitwise_xor) X(left_shift) X(right_shift)

#define KILN_REDUCE_OPS(X) X(sum) X(prod) X(max) X(min) X(all) X(any) X(argmax) X(argmin)

// clang-format on

#define KILN_ENUM_ENTRY(n) n,
enum class UnaryOp { KILN_UNARY_OPS(KILN_ENUM_ENTRY) kCount };
enum class BinaryOp { KILN_BINARY_OPS(KILN_ENUM_ENTRY) kCount };
enum class ReduceOp { KILN_REDUCE_OPS(KILN_ENUM_ENTRY) kCount };
#undef KILN_ENUM_ENTRY

// sort.cc (params[0] of `sort`) and scan.cc (params[0] of `scan`); TypeScript reads sortOps/scanOps.
#define KILN_SORT_OPS(X) X(sort) X(argsort) X(partition) X(argpartition) X(topk)
#define KILN_SCAN_OPS(X) X(cumsum) X(cumprod) X(cummax) X(cummin) X(logcumsumexp)
#define KILN_ENUM_ENTRY(n) n,
enum class SortOp { KILN_SORT_OPS(KILN_ENUM_ENTRY) kCount };
enum class ScanOp { KILN_SCAN_OPS(KILN_ENUM_ENTRY) kCount };
#undef KILN_ENUM_ENTRY

}  // namespace kiln
