// Grow-only 64-byte-aligned scratch memory owned by one task or thread (kept between calls when
// the owner is thread_local): get<F>(n) returns room for n values of F, reallocating only to grow.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

namespace kiln {

struct Scratch {
  std::unique_ptr<char[]> mem;
  size_t size = 0;
  template <typename F> F* get(int64_t n) {
    size_t need = (size_t)n * sizeof(F) + 64;
    if (need > size) {
      mem.reset(new char[need]);
      size = need;
    }
    return reinterpret_cast<F*>(((uintptr_t)mem.get() + 63) & ~(uintptr_t)63);
  }
};

}  // namespace kiln
