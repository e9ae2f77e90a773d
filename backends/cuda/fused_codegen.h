// Fused programs (backends/cpu/kernels/fused.h) rendered to CUDA C for NVRTC. Pure C++ (no CUDA
// headers), so the renderer is tested on machines without a GPU (tools/fused_render: a driver that
// renders dumped programs and nvcc -c's the result).
//
// The rendered source needs no headers. One kernel `kiln_fused` per (program, layout class); the
// layout class is what the source bakes in: the merged kept/reduced dim counts, each operand's
// inner access kind (contiguous / broadcast / strided) and the index width. Shapes, strides and
// pointers are kernel arguments: one `long long[]` array passed by value (FzArgSlots says where
// each field lives), so one compiled kernel serves every shape of a layout class.
//   elementwise (nred = 0): a grid-stride loop over the iteration space.
//   reductions: G threads per row (a power of two <= 256, blockDim 256), phases in order: setup
//   once per row per thread, body over the row's reduced elements f = lane, lane + G, ...,
//   accumulators combined across the G threads (a fixed tree: deterministic), finish per row
//   (row outputs stored by lane 0). Spill slots live in global scratch, one element per
//   (row, reduced element), written and read back by the same thread.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace kiln {
namespace cuda {

struct FzIns {
  int code = 0, op = 0, dst = 0, a = 0, b = 0, c = 0;
  double imm = 0;
};
struct FzPhase {
  std::vector<FzIns> setup, body, finish;
};
struct FzProgram {
  int n_in = 0, n_out = 0, ndim = 0, nred = 0;
  std::vector<int> in_dtype, out_dtype, out_kind, breg, rreg, spill;
  std::vector<std::pair<int, int>> accs;  // (reduce op, compute type)
  std::vector<FzIns> init;
  std::vector<FzPhase> phases;
  int nops() const { return n_in + n_out; }
};

// Reads the words of a program the core already validated (fused_compile). Returns false with
// *why set when the words are malformed.
bool fz_parse(const double* words, size_t n, FzProgram& P, std::string* why);
// Why the renderer cannot run this program on the GPU (empty: it can).
std::string fz_unsupported(const FzProgram& P);

// The iteration space of one launch, dims merged where every operand is contiguous across them
// (size-1 dims dropped), split into kept (outer, the rows) and reduced (inner) dims.
constexpr int kFzMaxDims = 32;
struct FzGeom {
  int no = 0, ni = 0;
  int64_t oshape[kFzMaxDims] = {0}, ishape[kFzMaxDims] = {0};
  std::vector<std::vector<int64_t>> ostr, istr;  // per operand, no / ni strides (elements)
  int64_t rows = 1, inner = 1;
  std::vector<char> kind;  // per operand: 'c' inner offset = flat index, 'z' all inner strides 0, 's' strided
  bool idx32 = false;      // every index and offset of the launch fits in int32
};
// shape: the iteration shape (ndim); strides[k]: operand k's strides (ndim each).
FzGeom fz_geometry(const FzProgram& P, const int64_t* shape, const std::vector<const int64_t*>& strides);

// The layout class of a launch (the part of the geometry the source bakes in), as a key string.
std::string fz_layout_key(const FzGeom& g);

// Where each field of the kernel's argument array lives (indexes into a long long array).
struct FzArgSlots {
  int rows = 0, inner = 1, group = 2, spill = 3, ptr = 4;  // ptr: nops pointers
  int oshape = 0, ishape = 0, ostr = 0, istr = 0;          // ostr: nops x no, istr: nops x ni
  int count = 0;
};
FzArgSlots fz_arg_slots(int nops, int no, int ni);
constexpr int kFzMaxArgWords = 500;  // 4000 bytes: under the 4 KiB kernel parameter limit

// The argument array of a launch (spill: scratch of fz_spill_bytes, or null).
std::vector<long long> fz_args(const FzProgram& P, const FzGeom& g, const std::vector<const void*>& ptrs, void* spill,
                               int group);
int64_t fz_spill_bytes(const FzProgram& P, const FzGeom& g);
// Threads per row for a reduction launch (power of two, <= kFzBlock).
constexpr int kFzBlock = 256;
int fz_group(const FzGeom& g);

// CUDA C source of the kernel `kiln_fused` for program P in layout class g.
std::string fz_render(const FzProgram& P, const FzGeom& g);

}  // namespace cuda
}  // namespace kiln
